//! Renderers of the self-monitoring report model (`valvo_core::report::Report`).

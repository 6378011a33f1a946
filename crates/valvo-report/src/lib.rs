//! Renderers of the self-monitoring report model (`valvo_core::report::Report`).
//!
//! - [`svg`]: the chapter's status chart as an accessible SVG.
//! - [`data`]: machine-readable JSON and CSV.
//! - [`fonts`]: the typeface shipped with the binary (Inter).
//! - [`observations`]: key observations drafted from a report's figures.
//! - [`pdf`]: the printable PDF (typst, fonts embedded, no network), in one
//!   language or both national languages.

pub mod data;
pub mod fonts;
pub mod observations;
pub mod pdf;
pub mod svg;

pub use data::{to_csv, to_json};
pub use pdf::{
    logo_renders, render_pdf, render_plain_pdf, Layout, PlainDocument, PlainPart, ReportError,
};
pub use svg::status_chart;

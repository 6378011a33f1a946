//! The incident settings' messages that are looked up by a computed key (the
//! audit log's entity and action names, form labels) exist in every language.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use valvo_core::Lang;
use valvo_i18n::{arg_num, arg_str, Tr};

#[test]
fn incident_settings_messages_exist_in_every_language() {
    let keys = [
        "entity-incident_event_type",
        "entity-incident_handler",
        "audit-action-delete",
        "field-type_code",
        "hint-type_code",
        "error-type_code-invalid",
        "field-sort_order",
        "field-active",
        "field-handler_user",
        "incident-handlers",
        "incident-handlers-none",
        "incident-forwarded-from",
    ];
    for lang in Lang::ALL {
        let tr = Tr::new(lang);
        for k in keys {
            assert!(tr.has(k), "{} lacks {k}", lang.code());
        }
        for n in [1.0, 3.0] {
            let text = tr.t_args("incident-type-in-use", &[("n", arg_num(n))]);
            assert!(!text.starts_with('['), "{}: {text}", lang.code());
        }
        let title = tr.t_args("incident-type-edit-title", &[("name", arg_str("X"))]);
        assert!(title.ends_with(": X"), "{}: {title}", lang.code());
    }
    // The default event types are named by the taxonomy in the database now,
    // not by messages.
    assert!(!Tr::new(Lang::Fi).has("event-type-medication"));
}

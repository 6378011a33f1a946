//! UI strings: Fluent files under `locales/{fi,sv,en}/`, compiled into the binary.
//! Shared by the web UI and the report renderers.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use valvo_core::Lang;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "../../locales",
        fallback_language: "en",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

fn langid(lang: Lang) -> LanguageIdentifier {
    let parsed: Result<LanguageIdentifier, _> = lang.code().parse();
    parsed.unwrap_or_default()
}

/// Translator for one language.
#[derive(Clone, Debug)]
pub struct Tr {
    lang: Lang,
    id: LanguageIdentifier,
}

impl Tr {
    /// A translator for `lang`.
    pub fn new(lang: Lang) -> Self {
        Tr {
            lang,
            id: langid(lang),
        }
    }

    /// The language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The message `key`; the key itself, visibly, if it is missing.
    pub fn t(&self, key: &str) -> String {
        LOCALES
            .try_lookup(&self.id, key)
            .unwrap_or_else(|| format!("[{key}]"))
    }

    /// The message `key` with arguments.
    pub fn t_args(&self, key: &str, args: &[(&'static str, FluentValue<'static>)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue<'static>> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), v.clone()))
            .collect();
        LOCALES
            .try_lookup_with_args(&self.id, key, &map)
            .unwrap_or_else(|| format!("[{key}]"))
    }

    /// Whether a message exists in this language itself (no fallback).
    pub fn has(&self, key: &str) -> bool {
        LOCALES.try_lookup(&self.id, key).is_some()
    }
}

/// Shorthand for a string argument.
pub fn arg_str(s: impl Into<String>) -> FluentValue<'static> {
    FluentValue::from(s.into())
}

/// Shorthand for a number argument (plural rules apply).
pub fn arg_num(n: f64) -> FluentValue<'static> {
    FluentValue::from(n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::collections::BTreeSet;

    use valvo_core::incident::{Consequence, IncidentKind, IncidentState, ReporterRole};
    use valvo_core::plan::{ActionStatus, Area, ErrorCode};
    use valvo_core::report::{ReportState, SectionKind};
    use valvo_core::{Direction, PeriodKind, ProducerType, Status};

    use super::*;

    const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

    fn keys(lang: &str) -> BTreeSet<String> {
        let mut text = String::new();
        for entry in std::fs::read_dir(format!("{ROOT}/locales/{lang}")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "ftl") {
                text.push_str(&std::fs::read_to_string(path).unwrap());
                text.push('\n');
            }
        }
        text.lines()
            .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
            .filter_map(|l| l.split_once(" =").map(|(k, _)| k.trim().to_string()))
            .collect()
    }

    /// Static keys used as `t("key")` in templates and code.
    fn used_keys() -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let dirs = [
            format!("{ROOT}/crates/valvo-web/templates"),
            format!("{ROOT}/crates/valvo-web/src"),
        ];
        // Feature folders nest (`src/ops/`, `templates/<feature>/`): walk them all.
        let mut files = Vec::new();
        let mut pending: Vec<std::path::PathBuf> = dirs.iter().map(Into::into).collect();
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        for path in files {
            let text = std::fs::read_to_string(path).unwrap();
            for part in text.split(".t(\"").skip(1) {
                let key = part.split('"').next().unwrap();
                if !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
                {
                    out.insert(key.to_string());
                }
            }
        }
        out
    }

    #[test]
    fn every_language_has_the_same_messages() {
        let fi = keys("fi");
        assert!(fi.len() > 100);
        for lang in ["sv", "en"] {
            let other = keys(lang);
            let missing: Vec<_> = fi.symmetric_difference(&other).collect();
            assert!(missing.is_empty(), "fi and {lang} differ: {missing:?}");
        }
    }

    #[test]
    fn every_used_message_exists_in_every_language() {
        let mut needed = used_keys();
        let families: Vec<(&str, Vec<&str>)> = vec![
            ("area", Area::ALL.iter().map(|a| a.code()).collect()),
            (
                "action",
                ActionStatus::ALL.iter().map(|a| a.code()).collect(),
            ),
            ("status", Status::ALL.iter().map(|s| s.code()).collect()),
            (
                "direction",
                Direction::ALL.iter().map(|d| d.code()).collect(),
            ),
            (
                "period-kind",
                PeriodKind::ALL.iter().map(|k| k.code()).collect(),
            ),
            (
                "producer",
                ProducerType::ALL.iter().map(|p| p.code()).collect(),
            ),
            ("error", ErrorCode::ALL.iter().map(|e| e.code()).collect()),
            ("fallback", Lang::ALL.iter().map(|l| l.code()).collect()),
            (
                "entity",
                vec![
                    "goal",
                    "indicator",
                    "action",
                    "follow_up",
                    "goal_review",
                    "org_unit",
                    "user",
                    "api_token",
                    "report",
                    "report_text",
                    "report_figure",
                    "incident",
                    "incident_action",
                    "ombudsman_contact",
                    "ombudsman_reason",
                    "ombudsman_annual_text",
                    "supervision_visit",
                    "supervision_finding",
                    "supervision_topic",
                ],
            ),
            (
                "audit-action",
                vec![
                    "create",
                    "update",
                    "set_password",
                    "submit",
                    "return",
                    "approve",
                    "publish",
                    "handle",
                    "import",
                ],
            ),
            (
                "report-step",
                vec!["submit", "return", "approve", "publish"],
            ),
            ("report-view", vec!["fi", "sv", "en", "bilingual"]),
            (
                "incident-kind",
                IncidentKind::ALL.iter().map(|k| k.code()).collect(),
            ),
            (
                "consequence",
                Consequence::ALL.iter().map(|k| k.code()).collect(),
            ),
            (
                "reporter-role",
                ReporterRole::ALL.iter().map(|k| k.code()).collect(),
            ),
            (
                "incident-state",
                IncidentState::ALL.iter().map(|k| k.code()).collect(),
            ),
            (
                "report-section",
                SectionKind::ALL.iter().map(|k| k.code()).collect(),
            ),
            (
                "report-state",
                ReportState::ALL.iter().map(|k| k.code()).collect(),
            ),
            (
                "report-text",
                SectionKind::ALL
                    .iter()
                    .flat_map(|k| k.text_keys().iter().copied())
                    .collect(),
            ),
            (
                "report-fig",
                SectionKind::ALL
                    .iter()
                    .flat_map(|k| k.figure_keys().iter().copied())
                    .collect(),
            ),
        ];
        {
            use valvo_core::ombudsman::{
                Channel, ClientGroup, ContactLanguage, Measure, Producer, Sector,
            };
            use valvo_core::supervision::{CorrectionState, Severity, VisitKind};
            let more: Vec<(&str, Vec<&str>)> = vec![
                ("channel", Channel::ALL.iter().map(|k| k.code()).collect()),
                (
                    "contact-language",
                    ContactLanguage::ALL.iter().map(|k| k.code()).collect(),
                ),
                (
                    "client-group",
                    ClientGroup::ALL.iter().map(|k| k.code()).collect(),
                ),
                ("measure", Measure::ALL.iter().map(|k| k.code()).collect()),
                (
                    "ombudsman-producer",
                    Producer::ALL.iter().map(|k| k.code()).collect(),
                ),
                (
                    "ombudsman-sector",
                    Sector::ALL.iter().map(|k| k.code()).collect(),
                ),
                (
                    "visit-kind",
                    VisitKind::ALL.iter().map(|k| k.code()).collect(),
                ),
                ("severity", Severity::ALL.iter().map(|k| k.code()).collect()),
                (
                    "correction",
                    CorrectionState::ALL.iter().map(|k| k.code()).collect(),
                ),
                (
                    "report-table",
                    vec![
                        "visits",
                        "findings",
                        "reasons",
                        "producers",
                        "sectors",
                        "by_month",
                        "all_reasons",
                        "languages",
                        "client_groups",
                        "measures",
                    ],
                ),
                (
                    "report-source",
                    vec!["ombudsman", "supervision", "incidents", "feedback"],
                ),
                (
                    "import-kind",
                    vec!["feedback", "incidents", "figures", "ombudsman"],
                ),
            ];
            for (prefix, codes) in more {
                for c in codes {
                    needed.insert(format!("{prefix}-{c}"));
                }
            }
        }
        needed.insert("source-manual".to_string());
        for src in valvo_core::incident::IndicatorSource::ALL {
            needed.insert(format!("source-{}", src.code().replace(['.', '_'], "-")));
        }
        for (prefix, codes) in families {
            for c in codes {
                needed.insert(format!("{prefix}-{c}"));
            }
        }
        for base in [
            "title",
            "name",
            "unit",
            "note",
            "text",
            "assessment",
            "corrective",
        ] {
            needed.insert(format!("field-{base}"));
            for l in Lang::ALL {
                needed.insert(format!("field-{base}_{}", l.code()));
            }
        }
        for f in [
            "area",
            "year",
            "direction",
            "baseline",
            "target",
            "target_max",
            "period_kind",
            "status",
            "period",
            "value",
            "org_unit",
            "kind",
            "event_type",
            "occurred_on",
            "occurred_time",
            "place",
            "description",
            "consequence",
            "never_event",
            "contributing_factors",
            "immediate_actions",
            "reporter_role",
            "anonymous",
            "reporter_name",
            "reporter_contact",
            "state",
            "forward_to",
            "analysis",
            "outcome",
            "action_text",
            "action_owner",
            "action_due",
            "code",
            "producer",
            "report_period",
            "with_children",
            "receipt_code",
            "source",
        ] {
            needed.insert(format!("field-{f}"));
        }
        for k in [
            "not-found",
            "forbidden",
            "csrf",
            "conflict",
            "internal",
            "invalid",
            "period-invalid",
            "too-many",
        ] {
            needed.insert(format!("error-{k}-title"));
        }
        for lang in Lang::ALL {
            let have = keys(lang.code());
            let missing: Vec<_> = needed.iter().filter(|k| !have.contains(*k)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", lang.code());
            let tr = Tr::new(lang);
            for k in &needed {
                assert!(
                    !tr.t(k).starts_with('['),
                    "{k} does not resolve in {}",
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn messages_with_arguments_and_missing_keys() {
        let tr = Tr::new(Lang::Sv);
        assert_eq!(
            tr.t_args("plan-title", &[("org", arg_str("Enhet A"))]),
            "Plan för egenkontroll: Enhet A"
        );
        let missing = ["no", "such", "key"].join("-");
        assert_eq!(tr.t(&missing), "[no-such-key]");
        assert!(!tr.has(&missing));
    }
}

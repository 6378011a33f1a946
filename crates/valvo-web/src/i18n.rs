//! UI strings: Fluent files under `locales/{fi,sv,en}/`, compiled into the binary.

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

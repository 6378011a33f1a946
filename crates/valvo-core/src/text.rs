//! Languages and multilingual (Finnish / Swedish / English) text.
//!
//! Finland has two national languages, Finnish and Swedish; English is an
//! optional third language. Every user-visible text in Valvo is an
//! [`I18nText`] that may hold any subset of the three.

use serde::{Deserialize, Serialize};

/// A user-interface and content language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Finnish (suomi), a national language.
    Fi,
    /// Swedish (svenska), a national language.
    Sv,
    /// English.
    En,
}

impl Lang {
    /// All supported languages, national languages first.
    pub const ALL: [Lang; 3] = [Lang::Fi, Lang::Sv, Lang::En];

    /// The ISO 639-1 code: `"fi"`, `"sv"` or `"en"`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fi => "fi",
            Lang::Sv => "sv",
            Lang::En => "en",
        }
    }

    /// Parses a language code or BCP 47 tag by its primary subtag,
    /// case-insensitively: `"fi"`, `"FI"`, `"fi-FI"`, `"sv-SE"`, `"en_GB"`.
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim();
        let primary = s.split(['-', '_']).next().unwrap_or(s);
        Lang::ALL
            .into_iter()
            .find(|l| primary.eq_ignore_ascii_case(l.code()))
    }

    /// Picks a language from an HTTP `Accept-Language` header.
    ///
    /// Entries are ordered by their q-value (default 1, stable for equal
    /// values); the first supported language wins. Entries with `q=0` or a
    /// malformed q-value are ignored, as is `*`.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut entries: Vec<(f32, Lang)> = Vec::new();
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let mut q: f32 = 1.0;
            for param in pieces {
                let param = param.trim();
                if let Some((k, v)) = param.split_once('=') {
                    if k.trim().eq_ignore_ascii_case("q") {
                        q = v.trim().parse::<f32>().unwrap_or(0.0);
                    }
                }
            }
            if !(q.is_finite() && q > 0.0) {
                continue;
            }
            if let Some(lang) = Lang::parse(tag) {
                entries.push((q.min(1.0), lang));
            }
        }
        // Stable sort keeps header order among equal q-values.
        entries.sort_by(|a, b| b.0.total_cmp(&a.0));
        entries.first().map(|(_, l)| *l)
    }

    /// Fallback order used by [`I18nText::resolve`] for this language.
    pub fn fallback_order(self) -> [Lang; 3] {
        match self {
            Lang::Fi => [Lang::Fi, Lang::Sv, Lang::En],
            Lang::Sv => [Lang::Sv, Lang::Fi, Lang::En],
            Lang::En => [Lang::En, Lang::Fi, Lang::Sv],
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A text in up to three languages.
///
/// Blank values are treated as missing: [`I18nText::new`] and
/// [`I18nText::set`] store trimmed values only, and the accessors
/// ([`get`](I18nText::get), [`resolve`](I18nText::resolve), …) see a
/// trimmed view even if the fields were filled directly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct I18nText {
    /// Finnish text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fi: Option<String>,
    /// Swedish text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sv: Option<String>,
    /// English text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

/// The outcome of [`I18nText::resolve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved<'a> {
    /// The text; never empty.
    pub text: &'a str,
    /// The language the text is actually in.
    pub lang: Lang,
    /// True when `lang` is not the requested language (the UI marks this).
    pub fallback: bool,
}

fn normalize(v: Option<String>) -> Option<String> {
    match v {
        Some(s) => {
            let t = s.trim();
            if t.is_empty() {
                None
            } else if t.len() == s.len() {
                Some(s)
            } else {
                Some(t.to_owned())
            }
        }
        None => None,
    }
}

impl I18nText {
    /// Builds a text, trimming values and turning blank ones into `None`.
    pub fn new(fi: Option<String>, sv: Option<String>, en: Option<String>) -> Self {
        I18nText { fi, sv, en }.normalized()
    }

    /// A text in Finnish only (normalised).
    pub fn fi_only(s: impl Into<String>) -> Self {
        Self::new(Some(s.into()), None, None)
    }

    /// Returns the text with trimmed values and blank ones turned into `None`.
    pub fn normalized(self) -> Self {
        I18nText {
            fi: normalize(self.fi),
            sv: normalize(self.sv),
            en: normalize(self.en),
        }
    }

    fn slot(&self, lang: Lang) -> &Option<String> {
        match lang {
            Lang::Fi => &self.fi,
            Lang::Sv => &self.sv,
            Lang::En => &self.en,
        }
    }

    /// The (trimmed, non-empty) text in exactly `lang`, if any.
    pub fn get(&self, lang: Lang) -> Option<&str> {
        self.slot(lang)
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// Sets the text in `lang`; the value is normalised like in [`I18nText::new`].
    pub fn set(&mut self, lang: Lang, v: Option<String>) {
        let v = normalize(v);
        match lang {
            Lang::Fi => self.fi = v,
            Lang::Sv => self.sv = v,
            Lang::En => self.en = v,
        }
    }

    /// True when no language has a non-blank text.
    pub fn is_empty(&self) -> bool {
        Lang::ALL.iter().all(|l| self.get(*l).is_none())
    }

    /// True when a national language (Finnish or Swedish) has a text.
    pub fn has_national(&self) -> bool {
        self.get(Lang::Fi).is_some() || self.get(Lang::Sv).is_some()
    }

    /// The text for display in `lang`, falling back (fi → sv → en,
    /// sv → fi → en, en → fi → sv) when it is missing. `None` only when
    /// the text is empty in every language.
    pub fn resolve(&self, lang: Lang) -> Option<Resolved<'_>> {
        lang.fallback_order().into_iter().find_map(|l| {
            self.get(l).map(|text| Resolved {
                text,
                lang: l,
                fallback: l != lang,
            })
        })
    }

    /// The length in characters of the longest language version (0 if empty).
    pub fn max_chars(&self) -> usize {
        Lang::ALL
            .iter()
            .filter_map(|l| self.get(*l))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn lang_codes_and_all() {
        assert_eq!(Lang::ALL, [Lang::Fi, Lang::Sv, Lang::En]);
        assert_eq!(Lang::Fi.code(), "fi");
        assert_eq!(Lang::Sv.code(), "sv");
        assert_eq!(Lang::En.code(), "en");
        for l in Lang::ALL {
            assert_eq!(Lang::parse(l.code()), Some(l));
            assert_eq!(l.to_string(), l.code());
        }
    }

    #[test]
    fn lang_parse_variants() {
        assert_eq!(Lang::parse("FI"), Some(Lang::Fi));
        assert_eq!(Lang::parse("fi-FI"), Some(Lang::Fi));
        assert_eq!(Lang::parse("sv-FI"), Some(Lang::Sv));
        assert_eq!(Lang::parse("sv-SE"), Some(Lang::Sv));
        assert_eq!(Lang::parse("SV_se"), Some(Lang::Sv));
        assert_eq!(Lang::parse("en-GB"), Some(Lang::En));
        assert_eq!(Lang::parse("en-US"), Some(Lang::En));
        assert_eq!(Lang::parse(" en "), Some(Lang::En));
        assert_eq!(Lang::parse("de"), None);
        assert_eq!(Lang::parse("fin"), None);
        assert_eq!(Lang::parse(""), None);
        assert_eq!(Lang::parse("*"), None);
        assert_eq!(Lang::parse("f"), None);
    }

    #[test]
    fn accept_language() {
        assert_eq!(
            Lang::from_accept_language("sv-FI,sv;q=0.9,en;q=0.8"),
            Some(Lang::Sv)
        );
        assert_eq!(
            Lang::from_accept_language("de-DE,de;q=0.9,en;q=0.8,fi;q=0.7"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("en;q=0.5, fi;q=0.9"),
            Some(Lang::Fi)
        );
        assert_eq!(
            Lang::from_accept_language("fi;q=0, sv;q=0.1"),
            Some(Lang::Sv)
        );
        assert_eq!(Lang::from_accept_language("fi, sv"), Some(Lang::Fi));
        assert_eq!(Lang::from_accept_language("sv, fi"), Some(Lang::Sv));
        assert_eq!(
            Lang::from_accept_language("en;q=0.8, sv;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("*"), None);
        assert_eq!(Lang::from_accept_language(""), None);
        assert_eq!(Lang::from_accept_language("de, fr;q=0.5"), None);
        assert_eq!(
            Lang::from_accept_language("fi;q=abc, sv;q=0.2"),
            Some(Lang::Sv)
        );
        assert_eq!(
            Lang::from_accept_language("fi; Q=0.3 , en-GB ; q=0.4"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("fi;q=NaN, en;q=0.1"),
            Some(Lang::En)
        );
    }

    #[test]
    fn lang_serde_names() {
        use serde::de::IntoDeserializer;
        let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            "sv".into_deserializer();
        assert_eq!(Lang::deserialize(de).unwrap(), Lang::Sv);
    }

    #[test]
    fn new_normalizes() {
        let t = I18nText::new(s("  Hei "), s("   "), s(""));
        assert_eq!(t.fi.as_deref(), Some("Hei"));
        assert_eq!(t.sv, None);
        assert_eq!(t.en, None);
        let t2 = I18nText {
            fi: s(" a "),
            sv: s("\t\n"),
            en: s("b"),
        }
        .normalized();
        assert_eq!(t2, I18nText::new(s("a"), None, s("b")));
        assert_eq!(I18nText::fi_only(" x "), I18nText::new(s("x"), None, None));
    }

    #[test]
    fn get_set_is_empty() {
        let mut t = I18nText::default();
        assert!(t.is_empty());
        assert!(!t.has_national());
        t.set(Lang::En, s(" hello "));
        assert_eq!(t.get(Lang::En), Some("hello"));
        assert!(!t.is_empty());
        assert!(!t.has_national());
        t.set(Lang::Sv, s("hej"));
        assert!(t.has_national());
        assert_eq!(t.get(Lang::Sv), Some("hej"));
        assert_eq!(t.get(Lang::Fi), None);
        t.set(Lang::Sv, s("  "));
        assert_eq!(t.sv, None);
        t.set(Lang::En, None);
        assert!(t.is_empty());
        // Directly filled blank fields still count as missing.
        let raw = I18nText {
            fi: s("  "),
            sv: None,
            en: None,
        };
        assert!(raw.is_empty());
        assert_eq!(raw.get(Lang::Fi), None);
        assert_eq!(raw.resolve(Lang::Fi), None);
    }

    #[test]
    fn resolve_fallbacks() {
        let all = I18nText::new(s("fi"), s("sv"), s("en"));
        for l in Lang::ALL {
            let r = all.resolve(l).unwrap();
            assert_eq!(r.lang, l);
            assert_eq!(r.text, l.code());
            assert!(!r.fallback);
        }
        let sv_en = I18nText::new(None, s("sv"), s("en"));
        assert_eq!(
            sv_en.resolve(Lang::Fi),
            Some(Resolved {
                text: "sv",
                lang: Lang::Sv,
                fallback: true
            })
        );
        let fi_en = I18nText::new(s("fi"), None, s("en"));
        assert_eq!(fi_en.resolve(Lang::Sv).unwrap().lang, Lang::Fi);
        assert!(fi_en.resolve(Lang::Sv).unwrap().fallback);
        let en_only = I18nText::new(None, None, s("en"));
        assert_eq!(en_only.resolve(Lang::Fi).unwrap().lang, Lang::En);
        assert_eq!(en_only.resolve(Lang::Sv).unwrap().lang, Lang::En);
        assert!(!en_only.resolve(Lang::En).unwrap().fallback);
        let fi_sv = I18nText::new(s("fi"), s("sv"), None);
        assert_eq!(fi_sv.resolve(Lang::En).unwrap().lang, Lang::Fi);
        let sv_only = I18nText::new(None, s("sv"), None);
        assert_eq!(sv_only.resolve(Lang::En).unwrap().lang, Lang::Sv);
        assert_eq!(I18nText::default().resolve(Lang::En), None);
    }

    #[test]
    fn max_chars_counts_chars() {
        assert_eq!(I18nText::default().max_chars(), 0);
        let t = I18nText::new(s("äöå"), s("ab"), s("abcd"));
        assert_eq!(t.max_chars(), 4);
        let t = I18nText::new(s("ääääää"), s("ab"), None);
        assert_eq!(t.max_chars(), 6);
    }

    proptest! {
        #[test]
        fn resolve_never_empty(fi in proptest::option::of("[ a-zä]{0,5}"),
                               sv in proptest::option::of("[ a-zå]{0,5}"),
                               en in proptest::option::of("[ a-z]{0,5}")) {
            let t = I18nText::new(fi, sv, en);
            for l in Lang::ALL {
                match t.resolve(l) {
                    Some(r) => {
                        prop_assert!(!r.text.is_empty());
                        prop_assert_eq!(r.fallback, r.lang != l);
                        prop_assert_eq!(t.get(r.lang), Some(r.text));
                    }
                    None => prop_assert!(t.is_empty()),
                }
            }
            prop_assert_eq!(t.clone().normalized(), t);
        }
    }
}

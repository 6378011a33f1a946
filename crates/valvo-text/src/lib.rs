//! Reading free-text feedback offline: language, sentiment, topics, routing
//! suggestions and personal-data redaction.
//!
//! Everything runs in process with data compiled into the crate (word lists,
//! lexicons, name lists, training comments); nothing is downloaded at build
//! or run time, and the crate does no I/O except in [`analyze_lines`], which
//! reads and writes the streams it is given.
//!
//! ```
//! let a = valvo_text::analyze("Soitin kolme kertaa eikä kukaan vastannut. Terveisin Mikko, 040 123 4567");
//! assert_eq!(a.language, valvo_text::Language::Fi);
//! assert_eq!(a.sentiment, valvo_text::Sentiment::Negative);
//! assert_eq!(a.topics, vec!["telephone".to_string()]);
//! assert_eq!(a.redacted, "Soitin kolme kertaa eikä kukaan vastannut. Terveisin [NAME], [PHONE]");
//! ```
//!
//! - Language: character trigram models for Finnish, Swedish and English
//!   plus frequent-word lists; other languages and scripts are `other`.
//! - Sentiment and topics: stem lexicons (Finnish and Swedish inflect) with
//!   negation handling; topics are configurable ([`Topic`],
//!   [`Analyzer::with_topics`]).
//! - Redaction: identity codes with valid check marks, phone numbers,
//!   e-mail addresses, street addresses and person names, also inflected.
//! - Routing: [`Router`] learns from handlers' decisions.

pub mod evaluation;
mod jsonl;
mod lang;
mod lexicon;
mod redact;
mod router;
mod text;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub use jsonl::{analyze_lines, Stats};
pub use lang::Language;
pub use lexicon::{Sentiment, Topic};
pub use redact::{is_valid_hetu, Redacted, Redaction, RedactionKind};
pub use router::{Router, Suggestion, UnitId};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading input or writing output failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Writing JSON failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A topic list could not be parsed.
    #[error("topic list line {line}: {message}")]
    Topics {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
}

/// The analysis of one comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Language of the comment.
    pub language: Language,
    /// Overall sentiment.
    pub sentiment: Sentiment,
    /// Ids of the topics the comment is about, in topic-list order.
    pub topics: Vec<String>,
    /// The comment with personal data replaced by markers.
    pub redacted: String,
    /// The personal data found (kinds and byte offsets in the original).
    pub redactions: Vec<Redaction>,
}

/// Analyses comments. Build one and reuse it: building parses the shipped
/// lexicons and trains the language model (a few milliseconds).
pub struct Analyzer {
    lang: lang::LangModel,
    lexicon: lexicon::Lexicon,
    redactor: redact::Redactor,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::new()
    }
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("topics", &self.lexicon.topic_ids)
            .finish()
    }
}

impl Analyzer {
    /// An analyser with the default topics ([`Topic::defaults`]).
    pub fn new() -> Analyzer {
        Analyzer::with_topics(Topic::defaults())
    }

    /// An analyser with its own topic list.
    pub fn with_topics(topics: Vec<Topic>) -> Analyzer {
        Analyzer {
            lang: lang::LangModel::new(),
            lexicon: lexicon::Lexicon::new(&topics),
            redactor: redact::Redactor::new(),
        }
    }

    /// The topic ids this analyser reports, in order.
    pub fn topic_ids(&self) -> &[String] {
        &self.lexicon.topic_ids
    }

    /// Language of `text`.
    pub fn language(&self, text: &str) -> Language {
        self.lang.detect(text)
    }

    /// Sentiment and topic ids of `text`.
    pub fn sentiment_and_topics(&self, text: &str) -> (Sentiment, Vec<String>) {
        self.sentiment_and_topics_in(text, self.language(text))
    }

    /// Sentiment and topic ids of `text` known to be in `language` (which
    /// picks the negation words).
    pub fn sentiment_and_topics_in(
        &self,
        text: &str,
        language: Language,
    ) -> (Sentiment, Vec<String>) {
        let (s, t) = self.lexicon.score(text, language);
        (
            s,
            t.into_iter()
                .map(|i| self.lexicon.topic_ids[usize::from(i)].clone())
                .collect(),
        )
    }

    /// The polar words of `text` and their signed contributions to the
    /// sentiment (negated words count against their polarity), for
    /// explaining a result.
    pub fn sentiment_words(&self, text: &str) -> Vec<(String, f32)> {
        let mut trace = Vec::new();
        self.lexicon
            .score_traced(text, self.language(text), Some(&mut trace));
        trace
    }

    /// `text` with personal data replaced by markers, and what was found.
    pub fn redact(&self, text: &str) -> Redacted {
        self.redactor.redact(text)
    }

    /// Full analysis of one comment.
    pub fn analyze(&self, text: &str) -> Analysis {
        let language = self.language(text);
        let (sentiment, topics) = self.sentiment_and_topics_in(text, language);
        let Redacted {
            text: redacted,
            redactions,
        } = self.redact(text);
        Analysis {
            language,
            sentiment,
            topics,
            redacted,
            redactions,
        }
    }
}

static DEFAULT: OnceLock<Analyzer> = OnceLock::new();

pub(crate) fn default_analyzer() -> &'static Analyzer {
    DEFAULT.get_or_init(Analyzer::new)
}

/// Sets the topic list of the default analyser (a county's own topics,
/// parsed with [`Topic::parse_list`]). Must be called before the first
/// analysis; returns false if the default analyser was already built.
pub fn configure_topics(topics: Vec<Topic>) -> bool {
    DEFAULT.set(Analyzer::with_topics(topics)).is_ok()
}

/// Analyses one comment with the default analyser (built once per process).
pub fn analyze(text: &str) -> Analysis {
    default_analyzer().analyze(text)
}

/// Redacts one comment with the default analyser.
pub fn redact(text: &str) -> Redacted {
    default_analyzer().redact(text)
}

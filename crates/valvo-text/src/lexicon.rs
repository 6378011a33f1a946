//! Sentiment and topics from stem lexicons with negation handling.
//!
//! Every word of a comment is looked up, lower-cased, in one table of stems
//! and whole words (`data/lexicon/sentiment.txt` and the topic keywords).
//! The longest entry that matches at the start of the word wins; keywords of
//! four letters or more are also looked for inside compounds after that
//! match ("puhelinjonossa" → `puhel*` and `jono*`). A negator (`ei`, `inte`,
//! `not` …) flips the polarity of the polar words in the next three words of
//! its clause; a negator with no polar word after it counts as a weak
//! complaint ("kukaan ei vastannut").

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::{Error, Language};

const SENTIMENT: &str = include_str!("../data/lexicon/sentiment.txt");
const TOPICS: &str = include_str!("../data/lexicon/topics.txt");

/// Overall sentiment of a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sentiment {
    /// Praise only.
    Positive,
    /// Complaint only.
    Negative,
    /// Both praise and complaint.
    Mixed,
    /// Neither (a question, a plain statement).
    Neutral,
}

impl Sentiment {
    /// The code written in output: `positive`, `negative`, `mixed`, `neutral`.
    pub fn code(self) -> &'static str {
        match self {
            Sentiment::Positive => "positive",
            Sentiment::Negative => "negative",
            Sentiment::Mixed => "mixed",
            Sentiment::Neutral => "neutral",
        }
    }

    /// Parses a code written by [`Sentiment::code`].
    pub fn from_code(code: &str) -> Option<Sentiment> {
        match code {
            "positive" => Some(Sentiment::Positive),
            "negative" => Some(Sentiment::Negative),
            "mixed" => Some(Sentiment::Mixed),
            "neutral" => Some(Sentiment::Neutral),
            _ => None,
        }
    }
}

impl std::fmt::Display for Sentiment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A topic that comments can be about, with keywords per language.
///
/// A keyword ending in `*` is a stem and matches every word that starts with
/// it (`jono*` matches `jonossa`, `jonotin`); other keywords match whole
/// words. Keywords of four letters or more also match inside compound words
/// unless they start with `^`. Matching is case-insensitive and uses the
/// keywords of every language whatever the comment's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    /// Identifier written in output, e.g. `waiting`.
    pub id: String,
    /// Finnish keywords.
    #[serde(default)]
    pub fi: Vec<String>,
    /// Swedish keywords.
    #[serde(default)]
    pub sv: Vec<String>,
    /// English keywords.
    #[serde(default)]
    pub en: Vec<String>,
}

impl Topic {
    /// A topic with no keywords yet.
    pub fn new(id: impl Into<String>) -> Topic {
        Topic {
            id: id.into(),
            fi: Vec::new(),
            sv: Vec::new(),
            en: Vec::new(),
        }
    }

    /// Adds Finnish keywords.
    pub fn fi<I: IntoIterator<Item = S>, S: Into<String>>(mut self, words: I) -> Topic {
        self.fi.extend(words.into_iter().map(Into::into));
        self
    }

    /// Adds Swedish keywords.
    pub fn sv<I: IntoIterator<Item = S>, S: Into<String>>(mut self, words: I) -> Topic {
        self.sv.extend(words.into_iter().map(Into::into));
        self
    }

    /// Adds English keywords.
    pub fn en<I: IntoIterator<Item = S>, S: Into<String>>(mut self, words: I) -> Topic {
        self.en.extend(words.into_iter().map(Into::into));
        self
    }

    fn keywords(&self) -> impl Iterator<Item = &String> {
        self.fi.iter().chain(self.sv.iter()).chain(self.en.iter())
    }

    /// The default topics: `waiting`, `telephone`, `conduct`, `information`,
    /// `care_quality`, `premises`, `billing`, `digital`, `language`.
    pub fn defaults() -> Vec<Topic> {
        // The shipped file is tested to parse.
        Topic::parse_list(TOPICS)
            .map(|mut t| {
                t.retain(|t| t.id != "-");
                t
            })
            .unwrap_or_default()
    }

    /// Parses topics written as in the crate's `data/lexicon/topics.txt`:
    /// a `[id]` line starts a topic, then `fi:`, `sv:`, `en:` lines list its
    /// keywords; `#` starts a comment line. A topic named `-` holds words that
    /// only block shorter keywords.
    pub fn parse_list(text: &str) -> Result<Vec<Topic>, Error> {
        let mut topics: Vec<Topic> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(id) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                topics.push(Topic::new(id.trim()));
                continue;
            }
            let bad = || Error::Topics {
                line: n + 1,
                message: "expected [id] or fi:, sv:, en: followed by keywords".into(),
            };
            let (lang, words) = line.split_once(':').ok_or_else(bad)?;
            let topic = topics.last_mut().ok_or_else(bad)?;
            let words = words.split_whitespace().map(str::to_lowercase);
            match lang.trim() {
                "fi" => topic.fi.extend(words),
                "sv" => topic.sv.extend(words),
                "en" => topic.en.extend(words),
                _ => return Err(bad()),
            }
        }
        Ok(topics)
    }
}

#[derive(Debug, Clone, Default)]
struct Entry {
    sentiment: Option<f32>,
    topics: Vec<u16>,
    compound: bool,
}

/// Lookup table of stems (prefix entries) and whole words.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lexicon {
    prefix: HashMap<String, usize>,
    exact: HashMap<String, usize>,
    entries: Vec<Entry>,
    max_chars: usize,
    /// Negators of Finnish, Swedish and English.
    negators: [HashSet<String>; 3],
    contrast: HashSet<String>,
    boost: HashSet<String>,
    pub(crate) topic_ids: Vec<String>,
}

/// A match: entry index and its length in chars.
type Hit = (usize, usize);

impl Lexicon {
    /// Builds the table from the shipped sentiment lexicon and `topics`.
    pub(crate) fn new(topics: &[Topic]) -> Lexicon {
        let mut lex = Lexicon::default();
        for line in SENTIMENT.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let Some(head) = parts.next() else { continue };
            match head {
                "neg.fi" => lex.negators[0].extend(parts.map(str::to_lowercase)),
                "neg.sv" => lex.negators[1].extend(parts.map(str::to_lowercase)),
                "neg.en" => lex.negators[2].extend(parts.map(str::to_lowercase)),
                "contrast" => lex.contrast.extend(parts.map(str::to_lowercase)),
                "boost" => lex.boost.extend(parts.map(str::to_lowercase)),
                w => {
                    if let Ok(weight) = w.parse::<f32>() {
                        for word in parts {
                            let i = lex.entry(word);
                            lex.entries[i].sentiment = Some(weight);
                        }
                    }
                }
            }
        }
        let blockers = Topic::parse_list(TOPICS).unwrap_or_default();
        for t in blockers.iter().filter(|t| t.id == "-") {
            for w in t.keywords() {
                lex.entry(w);
            }
        }
        for t in topics.iter().filter(|t| t.id != "-") {
            let idx = lex.topic_ids.len() as u16;
            lex.topic_ids.push(t.id.clone());
            for w in t.keywords() {
                let i = lex.entry(w);
                if !lex.entries[i].topics.contains(&idx) {
                    lex.entries[i].topics.push(idx);
                }
            }
        }
        lex
    }

    /// Index of the entry for a lexicon word (`stem*`, `^stem*`, `word`).
    fn entry(&mut self, word: &str) -> usize {
        let word = word.to_lowercase();
        let (compound, word) = match word.strip_prefix('^') {
            Some(w) => (false, w.to_string()),
            None => (true, word),
        };
        let (map, key) = match word.strip_suffix('*') {
            Some(stem) => (&mut self.prefix, stem.to_string()),
            None => (&mut self.exact, word),
        };
        let chars = key.chars().count();
        self.max_chars = self.max_chars.max(chars);
        let next = self.entries.len();
        let i = *map.entry(key).or_insert(next);
        if i == next {
            self.entries.push(Entry {
                compound,
                ..Entry::default()
            });
        } else if !compound {
            self.entries[i].compound = false;
        }
        i
    }

    /// Entries matching at char position `from` of the word whose char
    /// boundaries are `bounds` (`bounds[k]` = byte offset of char k, last =
    /// word length): the whole-word entry ending the word, if any, then the
    /// stems from longest to shortest. A bare entry (no sentiment, no topic)
    /// is a blocker and hides the shorter ones. At `from > 0` only
    /// compound-capable entries of at least four chars (stems) or three
    /// chars (whole-word tails) count. Pushes the hits, longest first, and
    /// returns how many chars the longest covers.
    fn hits_at(&self, word: &str, bounds: &[usize], from: usize, out: &mut Vec<Hit>) -> usize {
        let n = bounds.len() - 1;
        let start = bounds[from];
        let mut covered = 0;
        let blocker = |e: &Entry| e.sentiment.is_none() && e.topics.is_empty();
        if n > from && n - from <= self.max_chars {
            if let Some(&i) = self.exact.get(&word[start..]) {
                let len = n - from;
                if from == 0 || (len >= 3 && self.entries[i].compound) {
                    out.push((i, len));
                    covered = len;
                    if blocker(&self.entries[i]) {
                        return covered;
                    }
                }
            }
        }
        let max_end = n.min(from + self.max_chars);
        for end in (from + 1..=max_end).rev() {
            let len = end - from;
            if let Some(&i) = self.prefix.get(&word[start..bounds[end]]) {
                if from == 0 || (len >= 4 && self.entries[i].compound) {
                    out.push((i, len));
                    covered = covered.max(len);
                    if blocker(&self.entries[i]) {
                        break;
                    }
                }
            }
        }
        covered
    }

    /// The entries a lower-case word matches: the longest at its start, then
    /// compound parts after it.
    fn matches(&self, word: &str, bounds: &mut Vec<usize>, out: &mut Vec<Hit>) {
        out.clear();
        bounds.clear();
        bounds.extend(word.char_indices().map(|(i, _)| i));
        bounds.push(word.len());
        let n = bounds.len() - 1;
        let mut from = self.hits_at(word, bounds, 0, out).max(2);
        while from + 3 <= n {
            let covered = self.hits_at(word, bounds, from, out);
            from += covered.max(1);
        }
    }

    /// Sentiment and topic indices of a text.
    pub(crate) fn score(&self, text: &str, lang: Language) -> (Sentiment, Vec<u16>) {
        self.score_traced(text, lang, None)
    }

    /// As [`Lexicon::score`], pushing each polar word and its signed
    /// contribution to `trace` when given.
    pub(crate) fn score_traced(
        &self,
        text: &str,
        lang: Language,
        mut trace: Option<&mut Vec<(String, f32)>>,
    ) -> (Sentiment, Vec<u16>) {
        let is_negator = |w: &str| match lang {
            Language::Fi => self.negators[0].contains(w),
            Language::Sv => self.negators[1].contains(w),
            Language::En => self.negators[2].contains(w),
            Language::Other => self.negators.iter().any(|n| n.contains(w)),
        };
        // Swedish puts the negation after the verb ("fungerade inte"): a
        // negator flips a polar word among the two words before it.
        let backward = matches!(lang, Language::Sv | Language::Other);
        // (token number, positive part, negative part) of the last polar word
        // that no negator has touched yet.
        let mut last_polar: Option<(usize, f32, f32)> = None;
        let mut tok_no = 0usize;
        let lower = text.to_lowercase();
        let mut pos = 0.0f32;
        let mut neg = 0.0f32;
        let mut scope = 0usize;
        let mut scope_polar = false;
        let mut boost = 1.0f32;
        let mut contrast = false;
        let mut topics: Vec<u16> = Vec::new();
        let mut bounds = Vec::with_capacity(24);
        let mut hits = Vec::with_capacity(4);
        let mut prev_end = 0;
        for tok in crate::text::tokens(&lower) {
            let gap = &lower[prev_end..tok.start];
            prev_end = tok.end;
            let w = tok.text;
            if gap.contains([',', '.', ';', ':', '!', '?', '(', ')', '\n'])
                || self.contrast.contains(w)
            {
                if scope > 0 && !scope_polar {
                    neg += 0.5;
                }
                scope = 0;
                boost = 1.0;
                last_polar = None;
            }
            if self.contrast.contains(w) {
                contrast = true;
                continue;
            }
            tok_no += 1;
            if is_negator(w) {
                if scope > 0 && !scope_polar {
                    neg += 0.5;
                }
                if let Some((at, p, n)) =
                    last_polar.take().filter(|l| backward && tok_no - l.0 <= 2)
                {
                    pos += -p + n * 0.7;
                    neg += -n + p;
                    if let Some(t) = trace.as_mut() {
                        t.push((format!("{w}←"), -p - n * 0.3));
                    }
                    let _ = at;
                    scope = 0;
                    continue;
                }
                scope = 3;
                scope_polar = false;
                continue;
            }
            if self.boost.contains(w) {
                boost = 1.5;
                continue;
            }
            self.matches(w, &mut bounds, &mut hits);
            let mut polar = None;
            for &(i, _) in &hits {
                let e = &self.entries[i];
                for &t in &e.topics {
                    if !topics.contains(&t) {
                        topics.push(t);
                    }
                }
                if polar.is_none() {
                    polar = e.sentiment;
                }
            }
            if let Some(weight) = polar {
                if let Some(t) = trace.as_mut() {
                    let sign = if scope > 0 { -0.7f32.max(-1.0) } else { 1.0 };
                    t.push((w.to_string(), weight * boost * sign));
                }
                if scope > 0 {
                    scope_polar = true;
                    if weight > 0.0 {
                        neg += weight * boost;
                    } else {
                        pos += -weight * 0.7 * boost;
                    }
                } else if weight > 0.0 {
                    pos += weight * boost;
                    last_polar = Some((tok_no, weight * boost, 0.0));
                } else {
                    neg += -weight * boost;
                    last_polar = Some((tok_no, 0.0, -weight * boost));
                }
                boost = 1.0;
            }
            if scope > 0 {
                scope -= 1;
                if scope == 0 && !scope_polar {
                    neg += 0.5;
                }
            }
        }
        if scope > 0 && !scope_polar {
            neg += 0.5;
        }
        topics.sort_unstable();
        (decide(pos, neg, contrast), topics)
    }
}

fn decide(pos: f32, neg: f32, contrast: bool) -> Sentiment {
    let max = pos.max(neg);
    let min = pos.min(neg);
    if max < 0.3 {
        return Sentiment::Neutral;
    }
    if min > 0.0 {
        let ratio = min / max;
        if ratio >= 0.5 || (contrast && ratio >= 0.25) {
            return Sentiment::Mixed;
        }
    }
    if pos > neg {
        Sentiment::Positive
    } else {
        Sentiment::Negative
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex() -> Lexicon {
        Lexicon::new(&Topic::defaults())
    }

    fn topics(l: &Lexicon, text: &str) -> Vec<String> {
        l.score(text, Language::Other)
            .1
            .iter()
            .map(|&i| l.topic_ids[i as usize].clone())
            .collect()
    }

    #[test]
    fn shipped_topics_parse() {
        let t = Topic::parse_list(TOPICS);
        assert!(t.is_ok());
        let ids: Vec<String> = Topic::defaults().into_iter().map(|t| t.id).collect();
        assert_eq!(
            ids,
            vec![
                "waiting",
                "telephone",
                "conduct",
                "information",
                "care_quality",
                "premises",
                "billing",
                "digital",
                "language"
            ]
        );
    }

    #[test]
    fn negation_flips_polarity() {
        let l = lex();
        assert_eq!(
            l.score("Lääkäri oli ystävällinen", Language::Fi).0,
            Sentiment::Positive
        );
        assert_eq!(
            l.score("Lääkäri ei ollut ystävällinen", Language::Fi).0,
            Sentiment::Negative
        );
        assert_eq!(l.score("Det var bra", Language::Sv).0, Sentiment::Positive);
        assert_eq!(
            l.score("Det var inte bra", Language::Sv).0,
            Sentiment::Negative
        );
        assert_eq!(
            l.score("Fick ingen hjälp", Language::Sv).0,
            Sentiment::Negative
        );
        assert_eq!(
            l.score("The nurse was not friendly", Language::En).0,
            Sentiment::Negative
        );
        assert_eq!(
            l.score("Ei valittamista", Language::Fi).0,
            Sentiment::Positive
        );
        assert_eq!(
            l.score("Inget att klaga på", Language::Sv).0,
            Sentiment::Positive
        );
        assert_eq!(
            l.score("Soitin kolme kertaa eikä kukaan vastannut", Language::Fi)
                .0,
            Sentiment::Negative
        );
        // Swedish negation after the verb, and "en" is an article in Swedish.
        assert_eq!(
            l.score("Socialarbetaren lyssnade inte på oss", Language::Sv)
                .0,
            Sentiment::Negative
        );
        assert_eq!(
            l.score("Tjänsten fungerade inte", Language::Sv).0,
            Sentiment::Negative
        );
        assert_eq!(
            l.score("Kön var över en timme lång", Language::Sv).0,
            Sentiment::Negative
        );
    }

    #[test]
    fn mixed_and_neutral() {
        let l = lex();
        assert_eq!(
            l.score(
                "Hoito oli hyvää, mutta jouduin odottamaan liian kauan",
                Language::Fi
            )
            .0,
            Sentiment::Mixed
        );
        assert_eq!(
            l.score("Kävin verikokeissa tiistaina", Language::Fi).0,
            Sentiment::Neutral
        );
    }

    #[test]
    fn several_topics_and_compounds() {
        let l = lex();
        assert_eq!(
            topics(&l, "Puhelinjonossa meni tunti"),
            vec!["waiting", "telephone"]
        );
        assert_eq!(
            topics(&l, "Telefonkön var lång och fakturan fel"),
            vec!["waiting", "telephone", "billing"]
        );
        assert_eq!(topics(&l, "Neuvolassa kaikki hyvin"), Vec::<String>::new());
        assert_eq!(topics(&l, "Service på svenska saknades"), vec!["language"]);
    }
}

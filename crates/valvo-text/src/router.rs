//! Routing suggestions: which organisational unit owns a comment.
//!
//! A multinomial naive Bayes model over word features, learned online from
//! handlers' routing decisions. Features are the first five letters of each
//! word that is not a frequent function word (a crude stem for inflected
//! Finnish and Swedish: "laboratoriossa", "laboratorion" → `labor`) plus,
//! for long words, their five-letter pieces, so that compound words share
//! features with their parts ("yhteispäivystyksessä" has `päivy`).
//!
//! Text is redacted before learning, so a serialised router holds no names,
//! phone numbers or other personal data; only counts of word stems per unit.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::lang::list_words;
use crate::redact::Redactor;

/// Identifier of an organisational unit: a number or a string, as the
/// caller stores it. Serialises untagged (`12` or `"lab"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UnitId {
    /// A numeric id.
    Int(i64),
    /// A string id.
    Str(String),
}

impl From<i64> for UnitId {
    fn from(v: i64) -> UnitId {
        UnitId::Int(v)
    }
}

impl From<&str> for UnitId {
    fn from(v: &str) -> UnitId {
        UnitId::Str(v.to_string())
    }
}

impl From<String> for UnitId {
    fn from(v: String) -> UnitId {
        UnitId::Str(v)
    }
}

impl std::fmt::Display for UnitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnitId::Int(v) => write!(f, "{v}"),
            UnitId::Str(v) => f.write_str(v),
        }
    }
}

/// A suggested owner for a comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The suggested unit.
    pub unit: UnitId,
    /// Confidence in 0..=1: the model's posterior for this unit, tempered by
    /// the number of features so that long texts are not overconfident.
    pub confidence: f64,
    /// The words that pointed most to this unit, strongest first.
    pub reasons: Vec<String>,
    /// The next best units and their confidences, best first (at most 2).
    pub alternatives: Vec<(UnitId, f64)>,
}

/// Learns which unit owns which kind of comment and suggests an owner for
/// new comments. Cheap to update (`learn` touches only the counts of the
/// comment's features) and serialisable with serde; it can also be rebuilt
/// from stored (redacted text, unit) pairs with [`Router::from_examples`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Router {
    units: Vec<UnitId>,
    /// Examples learned per unit.
    docs: Vec<u32>,
    /// Feature occurrences per unit.
    totals: Vec<u64>,
    /// Feature → (unit index, count) pairs.
    features: HashMap<String, Vec<(u32, u32)>>,
}

const FEATURE_CHARS: usize = 5;
const ALPHA: f64 = 0.5;
const STOP_FI: &str = include_str!("../data/lang/fi.txt");
const STOP_SV: &str = include_str!("../data/lang/sv.txt");
const STOP_EN: &str = include_str!("../data/lang/en.txt");

fn stopwords() -> &'static HashSet<String> {
    static STOP: OnceLock<HashSet<String>> = OnceLock::new();
    STOP.get_or_init(|| {
        // Function words only: the lists' first lines are function words,
        // domain words ("lääkäri", "faktura") carry routing signal, so the
        // lists' words of five letters or more are kept as features.
        [STOP_FI, STOP_SV, STOP_EN]
            .iter()
            .flat_map(|l| list_words(l))
            .filter(|w| w.chars().count() < 5)
            .map(str::to_lowercase)
            .collect()
    })
}

fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(Redactor::new)
}

/// Features of a text, each with the word it came from.
fn features(text: &str) -> Vec<(String, String)> {
    let lower = text.to_lowercase();
    let stop = stopwords();
    let mut out = Vec::new();
    for tok in crate::text::tokens(&lower) {
        let w = tok.text;
        let chars: Vec<char> = w.chars().collect();
        if chars.len() < 3
            || !chars.iter().all(|c| c.is_alphabetic() || *c == '-')
            || stop.contains(w)
        {
            continue;
        }
        if matches!(w, "name" | "hetu" | "phone" | "email" | "address")
            && text.contains(&format!("[{}]", w.to_uppercase()))
        {
            continue;
        }
        let head: String = chars.iter().take(FEATURE_CHARS).collect();
        out.push((format!("p:{head}"), w.to_string()));
        if chars.len() >= 8 {
            for win in chars[2..].windows(FEATURE_CHARS) {
                let piece: String = win.iter().collect();
                out.push((format!("g:{piece}"), w.to_string()));
            }
        }
    }
    out
}

impl Router {
    /// An empty router; it suggests nothing until it has learned.
    pub fn new() -> Router {
        Router::default()
    }

    /// Rebuilds a router from stored (text, unit) pairs.
    pub fn from_examples<'a, I, U>(examples: I) -> Router
    where
        I: IntoIterator<Item = (&'a str, U)>,
        U: Into<UnitId>,
    {
        let mut r = Router::new();
        for (text, unit) in examples {
            r.learn(text, unit);
        }
        r
    }

    /// Number of examples learned.
    pub fn examples(&self) -> u64 {
        self.docs.iter().map(|&d| u64::from(d)).sum()
    }

    /// The units seen so far.
    pub fn units(&self) -> &[UnitId] {
        &self.units
    }

    fn unit_index(&mut self, unit: UnitId) -> usize {
        if let Some(i) = self.units.iter().position(|u| *u == unit) {
            return i;
        }
        self.units.push(unit);
        self.docs.push(0);
        self.totals.push(0);
        self.units.len() - 1
    }

    /// Learns that `unit` owns `text` (a handler routed or re-routed it
    /// there). The text is redacted first; only word-stem counts are kept.
    pub fn learn(&mut self, text: &str, unit: impl Into<UnitId>) {
        let u = self.unit_index(unit.into());
        let redacted = redactor().redact(text).text;
        self.docs[u] += 1;
        for (f, _) in features(&redacted) {
            self.totals[u] += 1;
            let counts = self.features.entry(f).or_default();
            match counts.iter_mut().find(|(i, _)| *i as usize == u) {
                Some(c) => c.1 += 1,
                None => counts.push((u as u32, 1)),
            }
        }
    }

    /// Suggests the unit that owns `text`, or `None` before anything has
    /// been learned or when no word of the text has been seen before.
    pub fn suggest(&self, text: &str) -> Option<Suggestion> {
        if self.units.is_empty() {
            return None;
        }
        let feats = features(text);
        let known: Vec<&(String, String)> = feats
            .iter()
            .filter(|(f, _)| self.features.contains_key(f))
            .collect();
        if known.is_empty() {
            return None;
        }
        let vocab = self.features.len() as f64;
        let all_docs = self.examples() as f64;
        let nu = self.units.len();
        let mut scores: Vec<f64> = (0..nu)
            .map(|u| ((f64::from(self.docs[u]) + 1.0) / (all_docs + nu as f64)).ln())
            .collect();
        // Per-word contribution to each unit, for the reasons.
        let mut by_word: HashMap<&str, Vec<f64>> = HashMap::new();
        for (f, word) in &known {
            let counts = self
                .features
                .get(f.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let contrib = by_word
                .entry(word.as_str())
                .or_insert_with(|| vec![0.0; nu]);
            for u in 0..nu {
                let c = counts
                    .iter()
                    .find(|(i, _)| *i as usize == u)
                    .map_or(0, |c| c.1);
                let lp = ((f64::from(c) + ALPHA) / (self.totals[u] as f64 + ALPHA * vocab)).ln();
                scores[u] += lp;
                contrib[u] += lp;
            }
        }
        let temper = (known.len() as f64).sqrt().max(1.0);
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = scores.iter().map(|s| ((s - max) / temper).exp()).collect();
        let sum: f64 = exp.iter().sum();
        let mut order: Vec<usize> = (0..nu).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let best = order[0];
        let mut reasons: Vec<(&str, f64)> = by_word
            .iter()
            .map(|(w, c)| {
                let others = (0..nu)
                    .filter(|&u| u != best)
                    .map(|u| c[u])
                    .fold(f64::NEG_INFINITY, f64::max);
                let margin = if nu > 1 { c[best] - others } else { c[best] };
                (*w, margin)
            })
            .filter(|(_, m)| *m > 0.0)
            .collect();
        reasons.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        Some(Suggestion {
            unit: self.units[best].clone(),
            confidence: exp[best] / sum,
            reasons: reasons
                .into_iter()
                .take(3)
                .map(|(w, _)| w.to_string())
                .collect(),
            alternatives: order
                .iter()
                .skip(1)
                .take(2)
                .map(|&u| (self.units[u].clone(), exp[u] / sum))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_and_explains() {
        let mut r = Router::new();
        assert!(r.suggest("lasku").is_none());
        r.learn("Lasku tuli kahdesti", "invoicing");
        r.learn("Laskussa väärä summa", "invoicing");
        r.learn("Hammaslääkäri oli taitava", 7);
        r.learn("Hampaan paikkaus irtosi", 7);
        let s = r.suggest("Laskun summa on väärä");
        assert_eq!(
            s.as_ref().map(|s| s.unit.clone()),
            Some(UnitId::from("invoicing"))
        );
        assert!(s
            .as_ref()
            .is_some_and(|s| s.reasons.iter().any(|w| w.starts_with("lasku"))));
        let s = r.suggest("Hammaslääkärille ei saa aikaa");
        assert_eq!(s.map(|s| s.unit), Some(UnitId::Int(7)));
    }

    #[test]
    fn relearning_moves_the_suggestion_and_survives_serde() {
        let mut r = Router::new();
        r.learn("Kotihoidon käynti jäi väliin", "home_care");
        assert_eq!(
            r.suggest("kotihoito ei tullut").map(|s| s.unit),
            Some(UnitId::from("home_care"))
        );
        for _ in 0..3 {
            r.learn("Kotihoidon lasku oli väärin", "invoicing");
        }
        assert_eq!(
            r.suggest("kotihoidon lasku").map(|s| s.unit),
            Some(UnitId::from("invoicing"))
        );
        let json = serde_json::to_string(&r).unwrap_or_default();
        let back: Result<Router, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(r));
    }

    #[test]
    fn learning_keeps_no_names() {
        let mut r = Router::new();
        r.learn("Kiitos Mikolle, soita 040 123 4567", "home_care");
        let json = serde_json::to_string(&r).unwrap_or_default();
        assert!(!json.contains("mikol"));
        assert!(!json.contains("040"));
    }
}

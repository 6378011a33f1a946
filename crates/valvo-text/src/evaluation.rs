//! Measuring the analyser against labelled comments.
//!
//! Used by the `evaluate` example and the threshold tests over the crate's
//! `data/eval.jsonl`, and usable by a county on its own labelled comments.
//! Takes the labelled lines as text; does no I/O.
//!
//! A labelled line is a JSON object with `text`, `language`, `sentiment`,
//! `topics` and optionally `unit` (the owning unit, for routing) and
//! `redacted` (the expected redacted text; when absent the text is expected
//! to come out unchanged).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Analyzer, RedactionKind, Router, UnitId};

/// One labelled comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labelled {
    /// Identifier of the comment in the set.
    #[serde(default)]
    pub id: String,
    /// The comment.
    pub text: String,
    /// Expected language code.
    #[serde(default)]
    pub language: Option<String>,
    /// Expected sentiment code.
    #[serde(default)]
    pub sentiment: Option<String>,
    /// Expected topic ids.
    #[serde(default)]
    pub topics: Option<Vec<String>>,
    /// Owning unit.
    #[serde(default)]
    pub unit: Option<String>,
    /// Expected redacted text, when it differs from `text`.
    #[serde(default)]
    pub redacted: Option<String>,
}

/// Parses labelled JSON lines; blank lines are skipped. Returns the line
/// number and message of the first bad line.
pub fn parse_labelled(jsonl: &str) -> Result<Vec<Labelled>, (usize, String)> {
    jsonl
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| serde_json::from_str(l).map_err(|e| (n + 1, e.to_string())))
        .collect()
}

/// Accuracy and macro-F1 of a single-label classification.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    /// Items scored.
    pub n: usize,
    /// Share of items labelled right.
    pub accuracy: f64,
    /// Mean F1 over the classes that occur in labels or predictions.
    pub macro_f1: f64,
    /// F1 per class.
    pub per_class: BTreeMap<String, f64>,
    /// (expected, predicted) → count, for the wrong ones.
    pub confusions: BTreeMap<String, usize>,
}

fn f1(tp: usize, fp: usize, fn_: usize) -> f64 {
    if tp == 0 {
        return 0.0;
    }
    let p = tp as f64 / (tp + fp) as f64;
    let r = tp as f64 / (tp + fn_) as f64;
    2.0 * p * r / (p + r)
}

fn class_scores(pairs: &[(String, String)]) -> ClassScores {
    let mut classes: Vec<&String> = pairs.iter().flat_map(|(a, b)| [a, b]).collect();
    classes.sort();
    classes.dedup();
    let mut per_class = BTreeMap::new();
    for c in &classes {
        let tp = pairs.iter().filter(|(e, p)| e == *c && p == *c).count();
        let fp = pairs.iter().filter(|(e, p)| e != *c && p == *c).count();
        let fn_ = pairs.iter().filter(|(e, p)| e == *c && p != *c).count();
        per_class.insert((*c).clone(), f1(tp, fp, fn_));
    }
    let mut confusions = BTreeMap::new();
    for (e, p) in pairs.iter().filter(|(e, p)| e != p) {
        *confusions.entry(format!("{e}→{p}")).or_insert(0) += 1;
    }
    let n = pairs.len();
    ClassScores {
        n,
        accuracy: if n == 0 {
            0.0
        } else {
            pairs.iter().filter(|(e, p)| e == p).count() as f64 / n as f64
        },
        macro_f1: if per_class.is_empty() {
            0.0
        } else {
            per_class.values().sum::<f64>() / per_class.len() as f64
        },
        per_class,
        confusions,
    }
}

/// Multi-label topic scores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TopicScores {
    /// Comments scored.
    pub n: usize,
    /// Micro-averaged precision.
    pub micro_precision: f64,
    /// Micro-averaged recall.
    pub micro_recall: f64,
    /// Micro-averaged F1.
    pub micro_f1: f64,
    /// Mean F1 over topics.
    pub macro_f1: f64,
    /// Share of comments whose topic set is exactly right.
    pub exact_match: f64,
    /// F1 per topic.
    pub per_topic: BTreeMap<String, f64>,
}

/// Redaction scores for one kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KindScores {
    /// Markers expected.
    pub expected: usize,
    /// Markers written.
    pub found: usize,
    /// Expected markers written (per comment, the smaller count).
    pub matched: usize,
    /// matched / expected.
    pub recall: f64,
    /// matched / found.
    pub precision: f64,
}

/// Redaction scores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RedactionScores {
    /// Comments scored (all comments: those without personal data must come
    /// out unchanged).
    pub n: usize,
    /// Comments with personal data.
    pub with_personal_data: usize,
    /// Per kind.
    pub per_kind: BTreeMap<RedactionKind, KindScores>,
    /// Words of the expected output that were replaced by a marker although
    /// they should have stayed.
    pub wrongly_redacted_words: usize,
    /// Words in the expected outputs (outside markers).
    pub words: usize,
    /// Share of comments whose redacted text is exactly as expected.
    pub exact_match: f64,
    /// Ids of comments whose redaction differed, with the output.
    pub misses: Vec<(String, String)>,
}

/// Routing accuracy after a number of learned examples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoutingPoint {
    /// Examples learned.
    pub learned: usize,
    /// Share of test comments routed right (mean over the shuffles).
    pub accuracy: f64,
    /// Share of test comments suggested with confidence ≥ 0.5.
    pub confident_share: f64,
    /// Accuracy among those.
    pub confident_accuracy: f64,
}

/// The full report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Language identification.
    pub language: ClassScores,
    /// Language identification on comments of at most three words.
    pub language_short: ClassScores,
    /// Sentiment.
    pub sentiment: ClassScores,
    /// Topics.
    pub topics: TopicScores,
    /// Redaction.
    pub redaction: RedactionScores,
    /// Routing learning curve.
    pub routing: Vec<RoutingPoint>,
}

fn count_markers(text: &str, kind: RedactionKind) -> usize {
    text.matches(kind.marker()).count()
}

/// Words that are not markers, as a multiset.
fn plain_words(text: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for w in text.split_whitespace() {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '[' && c != ']');
        if w.is_empty() || RedactionKind::ALL.iter().any(|k| w.contains(k.marker())) {
            continue;
        }
        *m.entry(w.to_string()).or_insert(0) += 1;
    }
    m
}

/// Scores `analyzer` on the labelled comments.
pub fn evaluate(analyzer: &Analyzer, items: &[Labelled]) -> Report {
    let mut lang = Vec::new();
    let mut lang_short = Vec::new();
    let mut sent = Vec::new();
    let mut topic_pairs: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let mut red = RedactionScores::default();
    let mut exact = 0usize;
    for it in items {
        let a = analyzer.analyze(&it.text);
        if let Some(l) = &it.language {
            lang.push((l.clone(), a.language.code().to_string()));
            if it.text.split_whitespace().count() <= 3 {
                lang_short.push((l.clone(), a.language.code().to_string()));
            }
        }
        if let Some(s) = &it.sentiment {
            sent.push((s.clone(), a.sentiment.code().to_string()));
        }
        if let Some(t) = &it.topics {
            topic_pairs.push((t.clone(), a.topics.clone()));
        }
        let expected = it.redacted.clone().unwrap_or_else(|| it.text.clone());
        red.n += 1;
        if it.redacted.is_some() {
            red.with_personal_data += 1;
        }
        for kind in RedactionKind::ALL {
            let e = count_markers(&expected, kind);
            let f = count_markers(&a.redacted, kind);
            let k = red.per_kind.entry(kind).or_default();
            k.expected += e;
            k.found += f;
            k.matched += e.min(f);
        }
        let want = plain_words(&expected);
        let got = plain_words(&a.redacted);
        red.words += want.values().sum::<usize>();
        for (w, c) in &want {
            red.wrongly_redacted_words += c.saturating_sub(got.get(w).copied().unwrap_or(0));
        }
        if a.redacted == expected {
            exact += 1;
        } else {
            red.misses.push((it.id.clone(), a.redacted.clone()));
        }
    }
    for k in red.per_kind.values_mut() {
        k.recall = if k.expected == 0 {
            1.0
        } else {
            k.matched as f64 / k.expected as f64
        };
        k.precision = if k.found == 0 {
            1.0
        } else {
            k.matched as f64 / k.found as f64
        };
    }
    red.exact_match = if red.n == 0 {
        0.0
    } else {
        exact as f64 / red.n as f64
    };
    Report {
        language: class_scores(&lang),
        language_short: class_scores(&lang_short),
        sentiment: class_scores(&sent),
        topics: topic_scores(&topic_pairs, analyzer.topic_ids()),
        redaction: red,
        routing: Vec::new(),
    }
}

/// Name redaction with empty name lists (titles, surname endings and
/// neighbouring names only): how names missing from the shipped lists fare.
/// Returns (recall, precision) of `[NAME]` markers.
pub fn name_scores_without_lists(items: &[Labelled]) -> KindScores {
    let r = crate::redact::Redactor::without_name_lists();
    let mut k = KindScores::default();
    for it in items {
        let expected = it.redacted.clone().unwrap_or_else(|| it.text.clone());
        let out = r.redact(&it.text).text;
        let e = count_markers(&expected, RedactionKind::Name);
        let f = count_markers(&out, RedactionKind::Name);
        k.expected += e;
        k.found += f;
        k.matched += e.min(f);
    }
    k.recall = if k.expected == 0 {
        1.0
    } else {
        k.matched as f64 / k.expected as f64
    };
    k.precision = if k.found == 0 {
        1.0
    } else {
        k.matched as f64 / k.found as f64
    };
    k
}

fn topic_scores(pairs: &[(Vec<String>, Vec<String>)], ids: &[String]) -> TopicScores {
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut per_topic = BTreeMap::new();
    for id in ids {
        let t = pairs
            .iter()
            .filter(|(e, p)| e.contains(id) && p.contains(id))
            .count();
        let f = pairs
            .iter()
            .filter(|(e, p)| !e.contains(id) && p.contains(id))
            .count();
        let n = pairs
            .iter()
            .filter(|(e, p)| e.contains(id) && !p.contains(id))
            .count();
        tp += t;
        fp += f;
        fn_ += n;
        if t + f + n > 0 {
            per_topic.insert(id.clone(), f1(t, f, n));
        }
    }
    let p = if tp + fp == 0 {
        0.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    let r = if tp + fn_ == 0 {
        0.0
    } else {
        tp as f64 / (tp + fn_) as f64
    };
    let exact = pairs
        .iter()
        .filter(|(e, p)| {
            let mut a = e.clone();
            let mut b = p.clone();
            a.sort();
            b.sort();
            a == b
        })
        .count();
    TopicScores {
        n: pairs.len(),
        micro_precision: p,
        micro_recall: r,
        micro_f1: if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        },
        macro_f1: if per_topic.is_empty() {
            0.0
        } else {
            per_topic.values().sum::<f64>() / per_topic.len() as f64
        },
        exact_match: if pairs.is_empty() {
            0.0
        } else {
            exact as f64 / pairs.len() as f64
        },
        per_topic,
    }
}

/// Routing learning curve: for each `n` in `steps`, a fresh [`Router`]
/// learns the first `n` training comments (after a seeded shuffle) and
/// routes every test comment that has a unit; accuracy is averaged over
/// `shuffles` different orders.
pub fn routing_curve(
    train: &[Labelled],
    test: &[Labelled],
    steps: &[usize],
    shuffles: u64,
) -> Vec<RoutingPoint> {
    let train: Vec<(&str, &str)> = train
        .iter()
        .filter_map(|t| Some((t.text.as_str(), t.unit.as_deref()?)))
        .collect();
    let test: Vec<(&str, &str)> = test
        .iter()
        .filter_map(|t| Some((t.text.as_str(), t.unit.as_deref()?)))
        .collect();
    let shuffles = shuffles.max(1);
    let mut points = Vec::new();
    for &n in steps {
        let n = n.min(train.len());
        let (mut acc, mut conf_n, mut conf_ok) = (0.0, 0.0, 0.0);
        for seed in 0..shuffles {
            let mut order: Vec<usize> = (0..train.len()).collect();
            shuffle(&mut order, seed);
            let router =
                Router::from_examples(order.iter().take(n).map(|&i| (train[i].0, train[i].1)));
            let (mut ok, mut cn, mut co) = (0usize, 0usize, 0usize);
            for (text, unit) in &test {
                let s = router.suggest(text);
                let right = s.as_ref().is_some_and(|s| s.unit == UnitId::from(*unit));
                ok += usize::from(right);
                if s.as_ref().is_some_and(|s| s.confidence >= 0.5) {
                    cn += 1;
                    co += usize::from(right);
                }
            }
            let t = test.len().max(1) as f64;
            acc += ok as f64 / t;
            conf_n += cn as f64 / t;
            conf_ok += if cn == 0 { 0.0 } else { co as f64 / cn as f64 };
        }
        let s = shuffles as f64;
        points.push(RoutingPoint {
            learned: n,
            accuracy: acc / s,
            confident_share: conf_n / s,
            confident_accuracy: conf_ok / s,
        });
    }
    points
}

/// Deterministic Fisher–Yates shuffle with a small LCG.
fn shuffle(v: &mut [usize], seed: u64) {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for i in (1..v.len()).rev() {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = ((x >> 33) % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

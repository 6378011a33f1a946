//! Quality thresholds over the labelled evaluation set shipped with the
//! crate. These fail when a change makes the analyser worse.

use valvo_text::evaluation::{evaluate, parse_labelled, routing_curve, Labelled, Report};
use valvo_text::{Analyzer, RedactionKind};

const EVAL: &str = include_str!("../data/eval.jsonl");
const TRAIN: &str = include_str!("../data/train.jsonl");

fn sets() -> (Vec<Labelled>, Vec<Labelled>) {
    let eval = parse_labelled(EVAL).unwrap_or_default();
    let train = parse_labelled(TRAIN).unwrap_or_default();
    (eval, train)
}

fn report() -> (Report, usize) {
    let (eval, _) = sets();
    (evaluate(&Analyzer::new(), &eval), eval.len())
}

#[test]
fn the_sets_are_as_described() {
    let (eval, train) = sets();
    assert!(eval.len() >= 300, "{}", eval.len());
    let share = |l: &str| {
        eval.iter()
            .filter(|e| e.language.as_deref() == Some(l))
            .count() as f64
            / eval.len() as f64
    };
    assert!(share("fi") > 0.4 && share("sv") > 0.4 && share("en") + share("other") > 0.08);
    assert!(eval.iter().filter(|e| e.redacted.is_some()).count() >= 80);
    assert!(train.len() >= 200);
    // The training set shares no sentence with the evaluation set.
    for t in &train {
        assert!(eval.iter().all(|e| e.text != t.text), "{}", t.text);
    }
}

#[test]
fn language_accuracy() {
    let (r, _) = report();
    assert!(r.language.accuracy >= 0.9, "{:?}", r.language);
    assert!(r.language.macro_f1 >= 0.85, "{:?}", r.language);
    assert!(r.language_short.accuracy >= 0.85, "{:?}", r.language_short);
}

#[test]
fn redaction_recall_and_precision_per_kind() {
    let (r, _) = report();
    for kind in RedactionKind::ALL {
        let k = &r.redaction.per_kind[&kind];
        assert!(k.expected > 0, "{kind:?} not in the set");
        assert!(k.recall >= 0.9, "{kind:?} {k:?}");
        assert!(k.precision >= 0.9, "{kind:?} {k:?}");
    }
    assert!(
        r.redaction.wrongly_redacted_words * 100 <= r.redaction.words,
        "{}",
        r.redaction.wrongly_redacted_words
    );
}

#[test]
fn sentiment_and_topics() {
    let (r, _) = report();
    assert!(r.sentiment.accuracy >= 0.8, "{:?}", r.sentiment);
    assert!(r.sentiment.macro_f1 >= 0.7, "{:?}", r.sentiment);
    assert!(r.topics.micro_f1 >= 0.7, "{:?}", r.topics);
    assert!(r.topics.macro_f1 >= 0.7, "{:?}", r.topics);
}

#[test]
fn routing_accuracy_grows_with_examples() {
    let (eval, train) = sets();
    let curve = routing_curve(&train, &eval, &[10, 50, 200], 3);
    assert!(
        curve[0].accuracy < curve[1].accuracy && curve[1].accuracy < curve[2].accuracy,
        "{curve:?}"
    );
    assert!(curve[2].accuracy >= 0.55, "{curve:?}");
}

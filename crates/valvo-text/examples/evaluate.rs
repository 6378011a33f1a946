//! Evaluates valvo-text on the labelled comments shipped with the crate
//! (`data/eval.jsonl`; routing learns from `data/train.jsonl`) and measures
//! throughput on one core.
//!
//! `cargo run -p valvo-text --release --example evaluate [-- --misses]`

use std::time::Instant;

use valvo_text::evaluation::{evaluate, parse_labelled, routing_curve, ClassScores};
use valvo_text::Analyzer;

const EVAL: &str = include_str!("../data/eval.jsonl");
const TRAIN: &str = include_str!("../data/train.jsonl");

fn print_class(name: &str, s: &ClassScores) {
    println!(
        "{name}: n={} accuracy={:.3} macro-F1={:.3}",
        s.n, s.accuracy, s.macro_f1
    );
    let per: Vec<String> = s
        .per_class
        .iter()
        .map(|(c, f)| format!("{c} {f:.3}"))
        .collect();
    println!("  F1 per class: {}", per.join(", "));
    if !s.confusions.is_empty() {
        let conf: Vec<String> = s
            .confusions
            .iter()
            .map(|(c, n)| format!("{c} ×{n}"))
            .collect();
        println!("  errors (expected→predicted): {}", conf.join(", "));
    }
}

fn main() {
    let show_misses = std::env::args().any(|a| a == "--misses");
    let (eval, train) = match (parse_labelled(EVAL), parse_labelled(TRAIN)) {
        (Ok(e), Ok(t)) => (e, t),
        (Err((n, e)), _) => return eprintln!("eval.jsonl line {n}: {e}"),
        (_, Err((n, e))) => return eprintln!("train.jsonl line {n}: {e}"),
    };
    let t0 = Instant::now();
    let analyzer = Analyzer::new();
    println!(
        "analyser built in {:.1} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );
    let count = |l: &str| {
        eval.iter()
            .filter(|e| e.language.as_deref() == Some(l))
            .count()
    };
    println!(
        "evaluation set: {} comments (fi {}, sv {}, en {}, other {}), {} with personal data; training set: {} comments",
        eval.len(),
        count("fi"),
        count("sv"),
        count("en"),
        count("other"),
        eval.iter().filter(|e| e.redacted.is_some()).count(),
        train.len()
    );
    let report = evaluate(&analyzer, &eval);
    println!();
    print_class("language", &report.language);
    print_class("language, comments of 1-3 words", &report.language_short);
    print_class("sentiment", &report.sentiment);
    let t = &report.topics;
    println!(
        "topics: n={} micro P={:.3} R={:.3} F1={:.3} macro-F1={:.3} exact-match={:.3}",
        t.n, t.micro_precision, t.micro_recall, t.micro_f1, t.macro_f1, t.exact_match
    );
    let per: Vec<String> = t
        .per_topic
        .iter()
        .map(|(c, f)| format!("{c} {f:.3}"))
        .collect();
    println!("  F1 per topic: {}", per.join(", "));
    let r = &report.redaction;
    println!(
        "redaction: {} comments, {} with personal data; exact redacted text {:.3}; words wrongly redacted {} of {} ({:.4})",
        r.n,
        r.with_personal_data,
        r.exact_match,
        r.wrongly_redacted_words,
        r.words,
        r.wrongly_redacted_words as f64 / r.words.max(1) as f64
    );
    for (kind, k) in &r.per_kind {
        println!(
            "  {:8} expected {:3} found {:3} recall {:.3} precision {:.3}",
            kind.marker(),
            k.expected,
            k.found,
            k.recall,
            k.precision
        );
    }
    let k = valvo_text::evaluation::name_scores_without_lists(&eval);
    println!(
        "  [NAME] with empty name lists (titles, surname endings, neighbours only): recall {:.3} precision {:.3}",
        k.recall, k.precision
    );
    if show_misses {
        for (id, out) in &r.misses {
            println!("  miss {id}: {out}");
        }
        for e in &eval {
            let a = analyzer.analyze(&e.text);
            let topics_ok = e.topics.as_ref().is_some_and(|t| {
                let mut t = t.clone();
                t.sort();
                let mut p = a.topics.clone();
                p.sort();
                t == p
            });
            if e.sentiment.as_deref() != Some(a.sentiment.code())
                || !topics_ok
                || e.language.as_deref() != Some(a.language.code())
            {
                println!(
                    "  {} {:?}/{} {:?}/{} {:?}/{:?}: {}",
                    e.id,
                    e.language,
                    a.language,
                    e.sentiment,
                    a.sentiment,
                    e.topics,
                    a.topics,
                    e.text
                );
            }
        }
    }
    println!();
    println!("routing (learned from training set, tested on {} evaluation comments with a unit; mean of 5 shuffles):", eval.iter().filter(|e| e.unit.is_some()).count());
    for p in routing_curve(&train, &eval, &[10, 25, 50, 100, 200, train.len()], 5) {
        println!(
            "  after {:3} examples: accuracy {:.3}; confidence ≥ 0.5 for {:.3} of comments, accuracy among them {:.3}",
            p.learned, p.accuracy, p.confident_share, p.confident_accuracy
        );
    }
    // Throughput: full analysis of every evaluation comment, repeated.
    let texts: Vec<&str> = eval.iter().map(|e| e.text.as_str()).collect();
    let mut n = 0usize;
    let mut chars = 0usize;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 3.0 {
        for t in &texts {
            let a = analyzer.analyze(t);
            chars += a.redacted.len();
            n += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!();
    println!(
        "throughput (one thread, full analysis): {:.0} comments/s, {:.1} µs per comment (mean {} bytes)",
        n as f64 / secs,
        secs * 1e6 / n as f64,
        chars / n.max(1)
    );
    // Longer comments: five evaluation comments joined into one.
    let long: Vec<String> = texts.chunks(5).map(|c| c.join(" ")).collect();
    let mut n = 0usize;
    let mut bytes = 0usize;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 3.0 {
        for t in &long {
            bytes += analyzer.analyze(t).redacted.len();
            n += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "throughput on longer comments (five joined): {:.0} comments/s, {:.1} µs per comment (mean {} bytes)",
        n as f64 / secs,
        secs * 1e6 / n as f64,
        bytes / n.max(1)
    );
    let mut router = valvo_text::Router::new();
    let start = Instant::now();
    for e in &train {
        if let Some(u) = &e.unit {
            router.learn(&e.text, u.as_str());
        }
    }
    let learn_us = start.elapsed().as_secs_f64() * 1e6 / train.len() as f64;
    let start = Instant::now();
    let mut m = 0usize;
    for t in &texts {
        m += usize::from(router.suggest(t).is_some());
    }
    let suggest_us = start.elapsed().as_secs_f64() * 1e6 / texts.len() as f64;
    println!("routing: learn {learn_us:.1} µs per example, suggest {suggest_us:.1} µs per comment ({m} suggestions)");
}

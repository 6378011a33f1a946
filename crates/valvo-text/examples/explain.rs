//! Prints the analysis of each argument and the words behind its sentiment.
//!
//! `cargo run -p valvo-text --example explain -- "Ei ollut ystävällinen"`

fn main() {
    let a = valvo_text::Analyzer::new();
    for text in std::env::args().skip(1) {
        let r = a.analyze(&text);
        println!(
            "{text}\n  {} {} {:?} {}\n  {:?}",
            r.language,
            r.sentiment,
            r.topics,
            r.redacted,
            a.sentiment_words(&text)
        );
    }
}

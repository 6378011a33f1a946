//! The public API: analysis, redaction, routing and the JSON-lines function.

use proptest::prelude::*;
use valvo_text::{
    analyze, analyze_lines, is_valid_hetu, redact, Analyzer, Language, Router, Sentiment, Topic,
    UnitId,
};

#[test]
fn analyses_a_comment() {
    let a = analyze(
        "Jonotin puhelimessa tunnin eikä kukaan vastannut. Soittakaa 040 123 4567, Liisa Virtanen",
    );
    assert_eq!(a.language, Language::Fi);
    assert_eq!(a.sentiment, Sentiment::Negative);
    assert_eq!(a.topics, vec!["waiting", "telephone"]);
    assert_eq!(
        a.redacted,
        "Jonotin puhelimessa tunnin eikä kukaan vastannut. Soittakaa [PHONE], [NAME] [NAME]"
    );
    assert_eq!(a.redactions.len(), 3);
}

#[test]
fn short_texts_get_a_language() {
    for (t, l) in [
        ("Kiitos!", Language::Fi),
        ("Tack!", Language::Sv),
        ("Bra", Language::Sv),
        ("Hyvä palvelu", Language::Fi),
        ("Thank you", Language::En),
    ] {
        assert_eq!(analyze(t).language, l, "{t}");
    }
}

#[test]
fn own_topic_list() {
    let a = Analyzer::with_topics(vec![Topic::new("parking")
        .fi(["pysäköin*", "parkki*"])
        .sv(["parkering*"])]);
    assert_eq!(a.topic_ids(), ["parking"]);
    assert_eq!(a.analyze("Parkkipaikkoja ei ollut").topics, vec!["parking"]);
    assert_eq!(a.analyze("Parkeringen kostar").topics, vec!["parking"]);
    assert!(a.analyze("Lasku oli väärä").topics.is_empty());
    let parsed = Topic::parse_list("[x]\nfi: a* b\n");
    assert_eq!(
        parsed.ok().map(|t| t[0].fi.clone()),
        Some(vec!["a*".to_string(), "b".to_string()])
    );
    assert!(Topic::parse_list("fi: a").is_err());
}

#[test]
fn router_grows_from_decisions() {
    let mut r = Router::new();
    r.learn("Laboratorion jono oli pitkä", UnitId::Int(3));
    r.learn("Hammaslääkäri oli ystävällinen", UnitId::Int(4));
    let s = r.suggest("Laboratoriossa ei ollut jonoa");
    assert_eq!(s.as_ref().map(|s| &s.unit), Some(&UnitId::Int(3)));
    assert!(s
        .as_ref()
        .is_some_and(|s| s.confidence > 0.5 && s.confidence <= 1.0));
    let rebuilt = Router::from_examples([
        ("Laboratorion jono oli pitkä", 3i64),
        ("Hammaslääkäri oli ystävällinen", 4),
    ]);
    assert_eq!(rebuilt, r);
}

#[test]
fn json_lines_keep_ids_and_report_bad_lines() {
    let input = "{\"id\": 7, \"text\": \"Kiitos hyvästä palvelusta!\"}\nnot json\n{\"id\": \"x\", \"text\": 5}\n\n{\"text\": \"Tack, Anna Lindholm ringde tillbaka\"}\n";
    let mut out = Vec::new();
    let stats = analyze_lines(input.as_bytes(), &mut out);
    let stats = stats.ok();
    assert_eq!(
        stats.map(|s| (s.lines, s.analysed, s.errors)),
        Some((5, 2, 3))
    );
    let text = String::from_utf8(out).unwrap_or_default();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["id"], 7);
    assert_eq!(lines[0]["language"], "fi");
    assert_eq!(lines[0]["sentiment"], "positive");
    assert_eq!(lines[1]["line"], 2);
    assert!(lines[1]["error"]
        .as_str()
        .is_some_and(|e| e.starts_with("not JSON")));
    assert_eq!(lines[2]["id"], "x");
    assert_eq!(lines[2]["line"], 3);
    assert_eq!(lines[3]["line"], 4);
    assert_eq!(lines[4]["redacted"], "Tack, [NAME] [NAME] ringde tillbaka");
    assert_eq!(lines[4]["topics"], serde_json::json!(["telephone"]));
}

fn hetu_strategy() -> impl Strategy<Value = String> {
    (
        1u32..=28,
        1u32..=12,
        0u32..100,
        prop::sample::select(vec![
            '+', '-', 'A', 'B', 'C', 'D', 'E', 'F', 'Y', 'X', 'W', 'V', 'U',
        ]),
        2u32..900,
    )
        .prop_map(|(d, m, y, sign, z)| {
            let n = (d * 10_000 + m * 100 + y) * 1000 + z;
            let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"[(n % 31) as usize] as char;
            format!("{d:02}{m:02}{y:02}{sign}{z:03}{check}")
        })
}

fn has_valid_hetu(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(10)).any(|i| {
        text.is_char_boundary(i) && text.is_char_boundary(i + 11) && is_valid_hetu(&text[i..i + 11])
    })
}

proptest! {
    #[test]
    fn redaction_never_leaves_a_valid_hetu(before in "\\PC{0,20}", code in hetu_strategy(), after in "\\PC{0,20}") {
        prop_assert!(is_valid_hetu(&code));
        let text = format!("{before}{code}{after}");
        let out = redact(&text).text;
        prop_assert!(!has_valid_hetu(&out), "{out}");
    }

    #[test]
    fn a_wrong_check_mark_is_not_a_hetu(code in hetu_strategy(), shift in 1usize..31) {
        let alphabet = "0123456789ABCDEFHJKLMNPRSTUVWXY";
        let check = code.chars().last().unwrap_or('0');
        let i = alphabet.find(check).unwrap_or(0);
        let wrong = alphabet.as_bytes()[(i + shift) % 31] as char;
        let bad = format!("{}{wrong}", &code[..10]);
        prop_assert!(!is_valid_hetu(&bad));
        let text = format!("viite {} ok", bad);
        prop_assert!(!redact(&text).text.contains("[HETU]"));
    }

    #[test]
    fn analysis_never_fails_and_offsets_are_sound(text in "\\PC{0,80}") {
        let a = analyze(&text);
        for r in &a.redactions {
            prop_assert!(r.start < r.end && r.end <= text.len());
            prop_assert!(text.is_char_boundary(r.start) && text.is_char_boundary(r.end));
        }
    }

    #[test]
    fn one_output_line_per_input_line(lines in prop::collection::vec("\\PC{0,30}", 0..12)) {
        let mut input = String::new();
        for (i, l) in lines.iter().enumerate() {
            if i % 2 == 0 {
                input.push_str(&serde_json::json!({"id": i, "text": l}).to_string());
            } else {
                input.push_str(l);
            }
            input.push('\n');
        }
        let mut out = Vec::new();
        let stats = analyze_lines(input.as_bytes(), &mut out);
        prop_assert!(stats.is_ok());
        let text = String::from_utf8(out).unwrap_or_default();
        prop_assert_eq!(text.lines().count(), lines.len());
        for l in text.lines() {
            prop_assert!(serde_json::from_str::<serde_json::Value>(l).is_ok());
        }
    }
}

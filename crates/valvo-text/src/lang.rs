//! Language identification: Finnish, Swedish, English or other.
//!
//! A character trigram model per language (Finnish, Swedish, English),
//! interpolated with bigrams and unigrams, trained when the analyser is built
//! from the crate's training comments (`data/train.jsonl`) and word lists
//! (`data/lang/*.txt`), plus a bonus for each word found in a language's list
//! of frequent words. Other Latin-script languages score a fixed per-trigram
//! floor plus their own word-list bonus; text in other scripts, or with no
//! letters, is `other`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Language of a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Finnish.
    Fi,
    /// Swedish.
    Sv,
    /// English.
    En,
    /// Anything else, or no words at all.
    Other,
}

impl Language {
    /// The code written in output: `fi`, `sv`, `en` or `other`.
    pub fn code(self) -> &'static str {
        match self {
            Language::Fi => "fi",
            Language::Sv => "sv",
            Language::En => "en",
            Language::Other => "other",
        }
    }

    /// Parses `fi`, `sv`, `en` or `other`.
    pub fn from_code(code: &str) -> Option<Language> {
        match code {
            "fi" => Some(Language::Fi),
            "sv" => Some(Language::Sv),
            "en" => Some(Language::En),
            "other" => Some(Language::Other),
            _ => None,
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

const LANGS: [Language; 3] = [Language::Fi, Language::Sv, Language::En];
const WORDS_FI: &str = include_str!("../data/lang/fi.txt");
const WORDS_SV: &str = include_str!("../data/lang/sv.txt");
const WORDS_EN: &str = include_str!("../data/lang/en.txt");
const WORDS_OTHER: &str = include_str!("../data/lang/other.txt");
const CORPUS: [&str; 3] = [
    include_str!("../data/lang/corpus_fi.txt"),
    include_str!("../data/lang/corpus_sv.txt"),
    include_str!("../data/lang/corpus_en.txt"),
];
pub(crate) const TRAIN: &str = include_str!("../data/train.jsonl");

/// Weight of the share of words found in a language's word list.
const WORD_BONUS: f32 = 2.0;
/// Mean log-probability per trigram given to "some other Latin-script
/// language": a text whose trigrams are rarer than this in Finnish, Swedish
/// and English is taken as another language.
const OTHER_FLOOR: f32 = -2.75;
const L3: f64 = 0.6;
const L2: f64 = 0.25;
const L1: f64 = 0.14;
const L0: f64 = 0.01;
const ALPHABET: f64 = 40.0;

fn pack2(a: char, b: char) -> u64 {
    ((a as u64) << 21) | b as u64
}

fn pack3(a: char, b: char, c: char) -> u64 {
    ((a as u64) << 42) | ((b as u64) << 21) | c as u64
}

/// Words of a list file: whitespace separated, `#` starts a comment line.
pub(crate) fn list_words(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split_whitespace())
}

#[derive(Default)]
struct Counts {
    uni: HashMap<char, u32>,
    uni_total: u32,
    /// Bigram counts and, per first char, how often it starts a bigram.
    bi: HashMap<u64, u32>,
    bi_ctx: HashMap<char, u32>,
    tri: HashMap<u64, u32>,
    tri_ctx: HashMap<u64, u32>,
}

impl Counts {
    fn add_word(&mut self, word: &str) {
        let chars: Vec<char> = std::iter::once(' ')
            .chain(word.chars())
            .chain(std::iter::once(' '))
            .collect();
        for &c in &chars[1..] {
            *self.uni.entry(c).or_insert(0) += 1;
            self.uni_total += 1;
        }
        for w in chars.windows(2) {
            *self.bi.entry(pack2(w[0], w[1])).or_insert(0) += 1;
            *self.bi_ctx.entry(w[0]).or_insert(0) += 1;
        }
        for w in chars.windows(3) {
            *self.tri.entry(pack3(w[0], w[1], w[2])).or_insert(0) += 1;
            *self.tri_ctx.entry(pack2(w[0], w[1])).or_insert(0) += 1;
        }
    }

    fn add_text(&mut self, text: &str) {
        for_each_word(text, |w| self.add_word(w));
    }

    fn p1(&self, c: char) -> f64 {
        if self.uni_total == 0 {
            return 0.0;
        }
        f64::from(self.uni.get(&c).copied().unwrap_or(0)) / f64::from(self.uni_total)
    }

    fn p2(&self, b: char, c: char) -> f64 {
        let ctx = self.bi_ctx.get(&b).copied().unwrap_or(0);
        if ctx == 0 {
            return 0.0;
        }
        f64::from(self.bi.get(&pack2(b, c)).copied().unwrap_or(0)) / f64::from(ctx)
    }

    fn p3(&self, a: char, b: char, c: char) -> f64 {
        let ctx = self.tri_ctx.get(&pack2(a, b)).copied().unwrap_or(0);
        if ctx == 0 {
            return 0.0;
        }
        f64::from(self.tri.get(&pack3(a, b, c)).copied().unwrap_or(0)) / f64::from(ctx)
    }
}

/// Calls `f` with each lower-case word (letters only) of `text`.
fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
    let mut buf = String::new();
    for c in text.chars() {
        if c.is_alphabetic() {
            buf.extend(c.to_lowercase());
        } else if !buf.is_empty() {
            f(&buf);
            buf.clear();
        }
    }
    if !buf.is_empty() {
        f(&buf);
    }
}

/// The trained language model. Cheap to query, built once per analyser.
pub(crate) struct LangModel {
    tri: HashMap<u64, [f32; 3]>,
    bi: HashMap<u64, [f32; 3]>,
    uni: HashMap<char, [f32; 3]>,
    floor: [f32; 3],
    words: HashMap<String, u8>,
}

#[derive(Deserialize)]
struct TrainLine {
    text: String,
    language: String,
}

impl LangModel {
    /// Builds the model from the word lists and training comments shipped
    /// with the crate.
    pub(crate) fn new() -> LangModel {
        let mut counts: [Counts; 3] = Default::default();
        let mut words: HashMap<String, u8> = HashMap::new();
        for (i, list) in [WORDS_FI, WORDS_SV, WORDS_EN, WORDS_OTHER]
            .iter()
            .enumerate()
        {
            for w in list_words(list) {
                let w = w.to_lowercase();
                if i < 3 {
                    counts[i].add_word(&w);
                }
                *words.entry(w).or_insert(0) |= 1 << i;
            }
        }
        for (i, text) in CORPUS.iter().enumerate() {
            counts[i].add_text(text);
        }
        for line in TRAIN.lines() {
            if let Ok(t) = serde_json::from_str::<TrainLine>(line) {
                if let Some(i) = LANGS.iter().position(|l| l.code() == t.language) {
                    counts[i].add_text(&t.text);
                }
            }
        }
        let mut tri = HashMap::new();
        let mut bi = HashMap::new();
        let mut uni = HashMap::new();
        let floor = [(L0 / ALPHABET).ln() as f32; 3];
        for c in &counts {
            for &k in c.tri.keys() {
                tri.entry(k).or_insert([0.0f32; 3]);
            }
            for &k in c.bi.keys() {
                bi.entry(k).or_insert([0.0f32; 3]);
            }
            for &k in c.uni.keys() {
                uni.entry(k).or_insert([0.0f32; 3]);
            }
        }
        let unpack =
            |k: u64, shift: u32| char::from_u32(((k >> shift) & 0x1F_FFFF) as u32).unwrap_or(' ');
        for (k, v) in tri.iter_mut() {
            let (a, b, c) = (unpack(*k, 42), unpack(*k, 21), unpack(*k, 0));
            for (i, m) in counts.iter().enumerate() {
                let p = L3 * m.p3(a, b, c) + L2 * m.p2(b, c) + L1 * m.p1(c) + L0 / ALPHABET;
                v[i] = p.ln() as f32;
            }
        }
        for (k, v) in bi.iter_mut() {
            let (b, c) = (unpack(*k, 21), unpack(*k, 0));
            for (i, m) in counts.iter().enumerate() {
                let p = L2 * m.p2(b, c) + L1 * m.p1(c) + L0 / ALPHABET;
                v[i] = p.ln() as f32;
            }
        }
        for (k, v) in uni.iter_mut() {
            for (i, m) in counts.iter().enumerate() {
                let p = L1 * m.p1(*k) + L0 / ALPHABET;
                v[i] = p.ln() as f32;
            }
        }
        LangModel {
            tri,
            bi,
            uni,
            floor,
            words,
        }
    }

    fn trigram(&self, a: char, b: char, c: char) -> [f32; 3] {
        if let Some(v) = self.tri.get(&pack3(a, b, c)) {
            return *v;
        }
        if let Some(v) = self.bi.get(&pack2(b, c)) {
            return *v;
        }
        if let Some(v) = self.uni.get(&c) {
            return *v;
        }
        self.floor
    }

    /// Scores of Finnish, Swedish, English and other, in nats (higher is
    /// more likely), or `None` when the text has no Latin letters to judge.
    pub(crate) fn scores(&self, text: &str) -> Option<[f32; 4]> {
        let mut latin = 0usize;
        let mut non_latin = 0usize;
        for c in text.chars().filter(|c| c.is_alphabetic()) {
            if is_latin(c) {
                latin += 1;
            } else {
                non_latin += 1;
            }
        }
        if latin == 0 || non_latin > latin {
            return None;
        }
        let mut tri = [0.0f32; 3];
        let mut hits = [0u32; 4];
        let mut n_words = 0u32;
        let mut n_tri = 0u32;
        let mut chars: Vec<char> = Vec::with_capacity(32);
        for_each_word(text, |w| {
            n_words += 1;
            if let Some(bits) = self.words.get(w) {
                for (i, h) in hits.iter_mut().enumerate() {
                    if bits & (1 << i) != 0 {
                        *h += 1;
                    }
                }
            }
            chars.clear();
            chars.push(' ');
            chars.extend(w.chars());
            chars.push(' ');
            for win in chars.windows(3) {
                let v = self.trigram(win[0], win[1], win[2]);
                for i in 0..3 {
                    tri[i] += v[i];
                }
                n_tri += 1;
            }
        });
        let n_tri = n_tri.max(1) as f32;
        let n_words = n_words.max(1) as f32;
        let share = |i: usize| WORD_BONUS * hits[i] as f32 / n_words;
        let score = [
            tri[0] / n_tri + share(0),
            tri[1] / n_tri + share(1),
            tri[2] / n_tri + share(2),
            OTHER_FLOOR + share(3),
        ];
        Some(score)
    }

    /// The most likely language of `text`.
    pub(crate) fn detect(&self, text: &str) -> Language {
        let Some(score) = self.scores(text) else {
            return Language::Other;
        };
        let mut best = 3;
        for i in 0..3 {
            if score[i] > score[best] {
                best = i;
            }
        }
        match best {
            0 => Language::Fi,
            1 => Language::Sv,
            2 => Language::En,
            _ => Language::Other,
        }
    }
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts() {
        let m = LangModel::new();
        for (t, l) in [
            ("Kiitos!", Language::Fi),
            ("Hyvä palvelu", Language::Fi),
            ("Tack!", Language::Sv),
            ("Bra", Language::Sv),
            ("Thanks a lot", Language::En),
            ("Jonotin liian kauan", Language::Fi),
            ("Köade länge", Language::Sv),
            ("Danke schön", Language::Other),
            ("Спасибо", Language::Other),
            ("!!! 123", Language::Other),
        ] {
            assert_eq!(m.detect(t), l, "{t}");
        }
    }
}

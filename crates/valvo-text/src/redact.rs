//! Personal-data redaction: identity codes, phone numbers, e-mail addresses,
//! street addresses and person names.
//!
//! Scanners run in that order and never overlap: a later scanner skips text
//! an earlier one already took. Each finding replaces its whole text (for a
//! name, the whole inflected word: "Mikolle" → `[NAME]`).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::text::{is_capitalised, starts_sentence, tokens, Token};

const FIRST_FI: &str = include_str!("../data/names/first_fi.txt");
const FIRST_SV: &str = include_str!("../data/names/first_sv.txt");
const SURNAMES_FI: &str = include_str!("../data/names/surnames_fi.txt");
const SURNAMES_SV: &str = include_str!("../data/names/surnames_sv.txt");
const COMMON_WORDS: &str = include_str!("../data/names/common_words.txt");

/// Kind of personal data found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedactionKind {
    /// Finnish personal identity code (henkilötunnus) with a valid check mark.
    Hetu,
    /// Telephone number.
    Phone,
    /// E-mail address.
    Email,
    /// Street address with a house number.
    Address,
    /// Person name.
    Name,
}

impl RedactionKind {
    /// All kinds, in scanning order.
    pub const ALL: [RedactionKind; 5] = [
        RedactionKind::Hetu,
        RedactionKind::Phone,
        RedactionKind::Email,
        RedactionKind::Address,
        RedactionKind::Name,
    ];

    /// The marker written in place of the data: `[HETU]`, `[PHONE]`,
    /// `[EMAIL]`, `[ADDRESS]`, `[NAME]`.
    pub fn marker(self) -> &'static str {
        match self {
            RedactionKind::Hetu => "[HETU]",
            RedactionKind::Phone => "[PHONE]",
            RedactionKind::Email => "[EMAIL]",
            RedactionKind::Address => "[ADDRESS]",
            RedactionKind::Name => "[NAME]",
        }
    }
}

/// One piece of personal data found in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    /// What was found.
    pub kind: RedactionKind,
    /// Byte offset of its start in the original text.
    pub start: usize,
    /// Byte offset just past its end in the original text.
    pub end: usize,
}

/// A redacted text and what was taken out of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redacted {
    /// The text with each finding replaced by its marker.
    pub text: String,
    /// The findings, in text order, with offsets into the original text.
    pub redactions: Vec<Redaction>,
}

const CHECK_CHARS: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
const CENTURY_SIGNS: &str = "+-AYXWVUBCDEF";

/// True when `code` is a Finnish personal identity code (DDMMYYCZZZQ) whose
/// check mark matches: the number DDMMYYZZZ modulo 31 indexes
/// `0123456789ABCDEFHJKLMNPRSTUVWXY`. Century signs `+`, `-`, `A` and the
/// 2023 additions `Y X W V U B C D E F` are accepted; the day and month must
/// be plausible. Upper or lower case letters are accepted.
pub fn is_valid_hetu(code: &str) -> bool {
    let b = code.as_bytes();
    if b.len() != 11 {
        return false;
    }
    if !b[..6].iter().all(u8::is_ascii_digit) || !b[7..10].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sign = b[6].to_ascii_uppercase() as char;
    if !CENTURY_SIGNS.contains(sign) {
        return false;
    }
    let num = |s: &[u8]| s.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0'));
    let day = num(&b[0..2]);
    let month = num(&b[2..4]);
    if !(1..=31).contains(&day) || !(1..=12).contains(&month) {
        return false;
    }
    let n = num(&b[0..6]) * 1000 + num(&b[7..10]);
    CHECK_CHARS[(n % 31) as usize] == b[10].to_ascii_uppercase()
}

/// Finds valid identity codes anywhere, even glued to other characters, so
/// that no valid code is ever left in the output.
fn scan_hetu(text: &str, out: &mut Vec<Redaction>) {
    let b = text.as_bytes();
    if b.len() < 11 {
        return;
    }
    let mut i = 0;
    while i + 11 <= b.len() {
        if b[i].is_ascii_digit()
            && text.is_char_boundary(i)
            && text.is_char_boundary(i + 11)
            && is_valid_hetu(&text[i..i + 11])
        {
            out.push(Redaction {
                kind: RedactionKind::Hetu,
                start: i,
                end: i + 11,
            });
            i += 11;
        } else {
            i += 1;
        }
    }
}

fn taken(spans: &[Redaction], start: usize, end: usize) -> bool {
    spans.iter().any(|r| r.start < end && start < r.end)
}

/// Finnish phone numbers: starting with `+` or `0` (`040 123 4567`,
/// `040-1234567`, `+358 40 123 4567`, `09 123 4567`, `0401234567`,
/// `(09) 123 4567`), groups split by one space or hyphen, 8 to 14 digits.
fn scan_phone(text: &str, out: &mut Vec<Redaction>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let boundary =
            i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'+' || b[i - 1] >= 0x80);
        let opens = c == b'+' || c == b'0' || (c == b'(' && b.get(i + 1) == Some(&b'0'));
        if !boundary || !opens {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i;
        if b[j] == b'+' || b[j] == b'(' {
            j += 1;
        }
        let mut digits = 0usize;
        let mut end = j;
        let mut first_group = true;
        loop {
            let gs = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let glen = j - gs;
            if glen == 0 || (!first_group && glen < 2) || digits + glen > 14 {
                break;
            }
            // An area code is at most four digits ("00358" aside): a group of
            // six before a hyphen is a date or an identity-code-like number.
            let more =
                j + 1 < b.len() && (b[j] == b' ' || b[j] == b'-') && b[j + 1].is_ascii_digit();
            if first_group && more && glen > 4 && !b[gs..j].starts_with(b"00") {
                break;
            }
            digits += glen;
            end = j;
            first_group = false;
            if j < b.len() && b[j] == b')' {
                j += 1;
            }
            if j + 1 < b.len() && (b[j] == b' ' || b[j] == b'-') && b[j + 1].is_ascii_digit() {
                j += 1;
            } else {
                break;
            }
        }
        let ends_clean = end >= b.len() || !(b[end].is_ascii_alphanumeric() || b[end] >= 0x80);
        if (8..=14).contains(&digits) && ends_clean && !taken(out, start, end) {
            out.push(Redaction {
                kind: RedactionKind::Phone,
                start,
                end,
            });
            i = end;
        } else {
            i += 1;
        }
    }
}

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn is_domain_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-')
}

/// E-mail addresses: `local@domain.tld`.
fn scan_email(text: &str, out: &mut Vec<Redaction>) {
    for (at, _) in text.match_indices('@') {
        let mut start = at;
        for (i, c) in text[..at].char_indices().rev() {
            if is_local_char(c) {
                start = i;
            } else {
                break;
            }
        }
        let mut end = at + 1;
        for (i, c) in text[at + 1..].char_indices() {
            if is_domain_char(c) {
                end = at + 1 + i + c.len_utf8();
            } else {
                break;
            }
        }
        while end > at + 1 && matches!(text.as_bytes()[end - 1], b'.' | b'-') {
            end -= 1;
        }
        while start < at && text.as_bytes()[start] == b'.' {
            start += 1;
        }
        let domain = &text[at + 1..end];
        let tld_ok = domain
            .rsplit_once('.')
            .map(|(host, tld)| {
                !host.is_empty() && tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)
            })
            .unwrap_or(false);
        if start < at && tld_ok && !taken(out, start, end) {
            out.push(Redaction {
                kind: RedactionKind::Email,
                start,
                end,
            });
        }
    }
}

/// Endings of Finnish and Swedish street names, with common inflected forms.
const STREET_SUFFIXES: &[&str] = &[
    "katu",
    "kadun",
    "kadulla",
    "kadulle",
    "kadulta",
    "tie",
    "tien",
    "tiellä",
    "tielle",
    "tieltä",
    "kuja",
    "kujan",
    "kujalla",
    "kujalle",
    "polku",
    "polun",
    "polulla",
    "polulle",
    "väylä",
    "väylän",
    "väylällä",
    "raitti",
    "raitin",
    "kaari",
    "kaaren",
    "rinne",
    "rinteen",
    "ranta",
    "rannan",
    "aukio",
    "puistikko",
    "bulevardi",
    "esplanadi",
    "gatan",
    "gata",
    "vägen",
    "väg",
    "gränd",
    "gränden",
    "stigen",
    "allén",
    "backen",
    "torget",
    "kajen",
    "stranden",
    "esplanaden",
    "plan",
    "planen",
    "street",
    "road",
    "avenue",
];
/// Words that may stand before a street name and belong to it.
const STREET_PREFIXES: &[&str] = &[
    "pohjoinen",
    "eteläinen",
    "itäinen",
    "läntinen",
    "iso",
    "pieni",
    "vanha",
    "norra",
    "södra",
    "östra",
    "västra",
    "stora",
    "lilla",
    "gamla",
];

fn is_street_word(word: &str) -> bool {
    if !is_capitalised(word) {
        return false;
    }
    let lower = word.to_lowercase();
    STREET_SUFFIXES.iter().any(|s| {
        lower.ends_with(s)
            && (lower.len() > s.len() + 2 || matches!(*s, "bulevardi" | "esplanadi" | "esplanaden"))
    })
}

/// Reads a house number at `i`: 1–4 digits and an optional letter
/// (`12`, `12a`, `12 a`). Returns the end offset.
fn house_number(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    while j < b.len() && b[j].is_ascii_digit() && j - i < 4 {
        j += 1;
    }
    if j == i || (j < b.len() && b[j].is_ascii_digit()) {
        return None;
    }
    if j < b.len()
        && b[j].is_ascii_alphabetic()
        && (j + 1 >= b.len() || !b[j + 1].is_ascii_alphanumeric())
    {
        j += 1;
    }
    if j < b.len() && b[j] == b'-' && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        let mut k = j + 1;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        j = k;
    }
    Some(j)
}

/// Street addresses: a street name ending in a street suffix followed by a
/// house number, an optional staircase and flat (`B 5`, `as. 5`, `lgh 5`)
/// and an optional postcode and town (`, 00100 Helsinki`).
fn scan_address(text: &str, toks: &[Token<'_>], out: &mut Vec<Redaction>) {
    let b = text.as_bytes();
    for (k, t) in toks.iter().enumerate() {
        if !is_street_word(t.text) {
            continue;
        }
        let mut start = t.start;
        if k > 0 {
            let p = toks[k - 1];
            if text[p.end..t.start].trim().is_empty()
                && STREET_PREFIXES.contains(&p.text.to_lowercase().as_str())
            {
                start = p.start;
            }
        }
        let mut i = t.end;
        if b.get(i) != Some(&b' ') {
            continue;
        }
        i += 1;
        let Some(mut end) = house_number(b, i) else {
            continue;
        };
        // Staircase and flat: "B 5", "B5", "as. 5", "as 5", "lgh 5", "bst 5".
        let rest = &text[end..];
        for pre in [
            " as. ", " as ", " lgh ", " lgh. ", " bst ", " bst. ", " apt ", " apt. ",
        ] {
            if rest.len() > pre.len()
                && rest
                    .get(..pre.len())
                    .is_some_and(|r| r.eq_ignore_ascii_case(pre))
            {
                if let Some(e) = house_number(b, end + pre.len()) {
                    end = e;
                }
                break;
            }
        }
        let rb = &b[end..];
        if rb.len() >= 3 && rb[0] == b' ' && rb[1].is_ascii_uppercase() {
            let after = &rb[2..];
            let digit_at = if after.first() == Some(&b' ') { 3 } else { 2 };
            if rb.get(digit_at).is_some_and(u8::is_ascii_digit) {
                if let Some(e) = house_number(b, end + digit_at) {
                    end = e;
                }
            } else if after.is_empty() || !after[0].is_ascii_alphanumeric() {
                // A lone staircase letter: "Kauppakatu 3 B".
                end += 2;
            }
        }
        // Postcode and town: ", 00100 Helsinki" or " 00100 Helsinki".
        let rest = &text[end..];
        let skip = if rest.starts_with(", ") {
            2
        } else if rest.starts_with(' ') {
            1
        } else {
            0
        };
        if skip > 0 {
            let pc = &rest[skip..];
            let pb = pc.as_bytes();
            if pb.len() >= 7
                && pb[..5].iter().all(u8::is_ascii_digit)
                && pb[5] == b' '
                && !pb.get(5).is_some_and(u8::is_ascii_digit)
            {
                let town_start = end + skip + 6;
                if let Some(town) = tokens(&text[town_start..]).next() {
                    if town.start == 0 && is_capitalised(town.text) {
                        end = town_start + town.end;
                    }
                }
            }
        }
        if !taken(out, start, end) {
            out.push(Redaction {
                kind: RedactionKind::Address,
                start,
                end,
            });
        }
    }
}

/// Titles after which a capitalised word is taken as a name. A word ending
/// in one of these is a title too ("kotihoitaja", "tandskötaren").
const TITLES: &[&str] = &[
    "lääkäri",
    "hoitaja",
    "kätilö",
    "suuhygienisti",
    "fysioterapeutti",
    "työntekijä",
    "tohtori",
    "psykologi",
    "ohjaaja",
    "terapeutti",
    "esihenkilö",
    "esimies",
    "rouva",
    "herra",
    "neiti",
    "läkare",
    "läkaren",
    "doktor",
    "dr",
    "skötare",
    "skötaren",
    "vårdare",
    "vårdaren",
    "barnmorska",
    "barnmorskan",
    "hygienist",
    "hygienisten",
    "arbetare",
    "arbetaren",
    "fysioterapeut",
    "fysioterapeuten",
    "psykolog",
    "psykologen",
    "herr",
    "fru",
    "nurse",
    "doctor",
    "dentist",
    "mr",
    "mrs",
    "ms",
    "paramedic",
];

/// Endings that make a capitalised word mid-sentence a surname.
const SURNAME_ENDINGS: &[&str] = &[
    "nen", "sson", "ström", "ström", "berg", "qvist", "kvist", "lund", "holm", "gren", "blom",
    "roos", "dahl", "stedt",
];

/// Finnish case endings stripped to find a name's base form, longest first.
const FI_ENDINGS: &[&str] = &[
    "ltaan", "ltään", "lleen", "ssaan", "ssään", "staan", "stään", "ineen", "lle", "lta", "ltä",
    "lla", "llä", "ssa", "ssä", "sta", "stä", "ksi", "han", "hen", "hin", "hon", "hun", "na", "nä",
    "ta", "tä", "n", "a", "ä", "s",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameHit {
    /// Not in the lists.
    None,
    /// In the lists; `inflected` when found only after stripping an ending.
    Known {
        common_word: bool,
        surname: bool,
        inflected: bool,
    },
}

/// The name lists and the redaction scanners.
#[derive(Debug, Clone)]
pub(crate) struct Redactor {
    first: HashSet<String>,
    surnames: HashSet<String>,
    common: HashSet<String>,
}

fn list(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_lowercase)
}

impl Redactor {
    pub(crate) fn new() -> Redactor {
        Redactor {
            first: list(FIRST_FI).chain(list(FIRST_SV)).collect(),
            surnames: list(SURNAMES_FI).chain(list(SURNAMES_SV)).collect(),
            common: list(COMMON_WORDS).collect(),
        }
    }

    /// A redactor with empty name lists: names are found only by titles,
    /// surname endings and neighbouring names. For measuring how names
    /// outside the lists fare.
    pub(crate) fn without_name_lists() -> Redactor {
        Redactor {
            first: HashSet::new(),
            surnames: HashSet::new(),
            common: HashSet::new(),
        }
    }

    fn known(&self, base: &str) -> Option<(bool, bool)> {
        let first = self.first.contains(base);
        let surname = self.surnames.contains(base);
        if first || surname {
            Some((self.common.contains(base), surname && !first))
        } else if let Some((a, b)) = base.split_once('-') {
            // Double names: every part must be a name ("Anna-Liisa").
            let a_ok = self.first.contains(a) || self.surnames.contains(a);
            let b_ok = self.first.contains(b) || self.surnames.contains(b);
            (a_ok && b_ok).then_some((false, false))
        } else {
            None
        }
    }

    /// Looks a word up in the name lists, also as an inflected form:
    /// Finnish case endings with consonant gradation and `-nen` stems
    /// ("Mikolle" → Mikko, "Virtasen" → Virtanen, "Heikiltä" → Heikki,
    /// "Niemelle" → Niemi) and the Swedish genitive ("Annas", "Johanssons").
    fn lookup(&self, word: &str) -> NameHit {
        let lower = word.to_lowercase();
        if let Some((common_word, surname)) = self.known(&lower) {
            return NameHit::Known {
                common_word,
                surname,
                inflected: false,
            };
        }
        let mut found = None;
        for_each_base(&lower, |base| {
            if found.is_none() {
                found = self.known(base);
            }
        });
        match found {
            Some((common_word, surname)) => NameHit::Known {
                common_word,
                surname,
                inflected: true,
            },
            None => NameHit::None,
        }
    }

    /// Finds all personal data in `text`.
    pub(crate) fn find(&self, text: &str) -> Vec<Redaction> {
        let mut out = Vec::new();
        scan_hetu(text, &mut out);
        scan_email(text, &mut out);
        scan_phone(text, &mut out);
        let toks: Vec<Token<'_>> = tokens(text).collect();
        scan_address(text, &toks, &mut out);
        self.scan_names(text, &toks, &mut out);
        out.sort_by_key(|r| r.start);
        out
    }

    fn scan_names(&self, text: &str, toks: &[Token<'_>], out: &mut Vec<Redaction>) {
        let n = toks.len();
        let mut cap = vec![false; n];
        let mut sent = vec![false; n];
        let mut hit = vec![NameHit::None; n];
        let mut title = vec![false; n];
        let mut free = vec![false; n];
        for (k, t) in toks.iter().enumerate() {
            free[k] = !taken(out, t.start, t.end)
                && t.text
                    .chars()
                    .all(|c| c.is_alphabetic() || c == '-' || c == '\'' || c == '’');
            cap[k] = free[k] && is_capitalised(t.text);
            let lower = t.text.to_lowercase();
            title[k] = TITLES.iter().any(|s| lower.ends_with(s));
            if cap[k] {
                sent[k] = starts_sentence(text, t.start);
                hit[k] = self.lookup(t.text);
            }
        }
        // Two tokens are adjacent when only spaces separate them.
        let adjacent =
            |a: usize, b: usize| text[toks[a].end..toks[b].start].chars().all(|c| c == ' ');
        let after_title = |k: usize| {
            k > 0 && title[k - 1] && {
                let gap = &text[toks[k - 1].end..toks[k].start];
                gap.chars().all(|c| c == ' ' || c == '.') && gap.contains(' ')
            }
        };
        let surname_shaped = |k: usize| {
            let lower = toks[k].text.to_lowercase();
            let mut shaped = SURNAME_ENDINGS
                .iter()
                .any(|e| lower.ends_with(e) && lower.len() > e.len() + 2);
            for_each_base(&lower, |base| {
                shaped |= base.ends_with("nen") && base.len() > 5;
            });
            shaped
        };
        // Pass 1: confident names.
        let mut name = vec![false; n];
        for k in 0..n {
            if !cap[k] {
                continue;
            }
            name[k] = match hit[k] {
                NameHit::Known {
                    common_word: false,
                    inflected,
                    ..
                } => !sent[k] || !inflected,
                _ => false,
            } || after_title(k)
                || (!sent[k] && hit[k] == NameHit::None && surname_shaped(k));
        }
        // Pass 2: names that are also common words, and unknown words next
        // to a name (first name + unknown surname).
        for _ in 0..2 {
            for k in 0..n {
                if name[k] || !cap[k] {
                    continue;
                }
                let next_to_name = (k > 0 && name[k - 1] && adjacent(k - 1, k))
                    || (k + 1 < n && name[k + 1] && adjacent(k, k + 1));
                name[k] = match hit[k] {
                    NameHit::Known {
                        common_word: true,
                        surname,
                        inflected,
                    } => next_to_name || (!sent[k] && inflected && !surname),
                    NameHit::Known { .. } => next_to_name,
                    NameHit::None => !sent[k] && k > 0 && name[k - 1] && adjacent(k - 1, k),
                };
            }
        }
        for k in 0..n {
            if name[k] {
                out.push(Redaction {
                    kind: RedactionKind::Name,
                    start: toks[k].start,
                    end: toks[k].end,
                });
            }
        }
    }

    /// Redacts `text`.
    pub(crate) fn redact(&self, text: &str) -> Redacted {
        let redactions = self.find(text);
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        for r in &redactions {
            out.push_str(&text[pos..r.start]);
            out.push_str(r.kind.marker());
            pos = r.end;
        }
        out.push_str(&text[pos..]);
        Redacted {
            text: out,
            redactions,
        }
    }
}

/// Calls `f` with candidate base forms of an inflected lower-case word.
fn for_each_base(lower: &str, mut f: impl FnMut(&str)) {
    let mut buf = String::new();
    for ending in FI_ENDINGS {
        let Some(stem) = lower.strip_suffix(ending) else {
            continue;
        };
        if stem.chars().count() < 2 {
            continue;
        }
        f(stem);
        // Virtase-lle, Virtas-ta → Virtanen.
        if let Some(s) = stem.strip_suffix("se").or_else(|| stem.strip_suffix('s')) {
            buf.clear();
            buf.push_str(s);
            buf.push_str("nen");
            f(&buf);
        }
        // Nieme-lle → Niemi; Lahde-lla → Lahti.
        if let Some(s) = stem.strip_suffix('e') {
            buf.clear();
            buf.push_str(s);
            buf.push('i');
            f(&buf);
            if let Some(s2) = s.strip_suffix('d') {
                buf.clear();
                buf.push_str(s2);
                buf.push_str("ti");
                f(&buf);
            }
        }
        // Mikaeli-lle → Mikael.
        if let Some(s) = stem.strip_suffix('i') {
            f(s);
        }
        // Consonant gradation: Miko-lle → Mikko, Peka-lta → Pekka.
        let chars: Vec<char> = stem.chars().collect();
        let m = chars.len();
        if m >= 3 {
            let (c, v) = (chars[m - 2], chars[m - 1]);
            if matches!(c, 'k' | 'p' | 't') && "aeiouyäö".contains(v) && chars[m - 3] != c {
                buf.clear();
                buf.extend(&chars[..m - 1]);
                buf.push(c);
                buf.push(v);
                f(&buf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hetu(base: &str) -> String {
        let b = base.as_bytes();
        let num = |s: &[u8]| s.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0'));
        let n = num(&b[0..6]) * 1000 + num(&b[7..10]);
        format!("{base}{}", CHECK_CHARS[(n % 31) as usize] as char)
    }

    fn r(text: &str) -> String {
        Redactor::new().redact(text).text
    }

    #[test]
    fn identity_codes() {
        assert!(is_valid_hetu("131052-308T"));
        assert!(!is_valid_hetu("131052-308U"));
        assert!(is_valid_hetu(&hetu("010594Y123")));
        assert!(is_valid_hetu(&hetu("311210A001")));
        assert!(is_valid_hetu(&hetu("020304B999")));
        assert_eq!(r("Hetu 131052-308T, kiitos"), "Hetu [HETU], kiitos");
        assert_eq!(
            r("Viite 131052-308U ei ole hetu"),
            "Viite 131052-308U ei ole hetu"
        );
        let new_sign = hetu("150705E456");
        assert_eq!(r(&format!("tunnus {new_sign}.")), "tunnus [HETU].");
    }

    #[test]
    fn phones_emails_addresses() {
        assert_eq!(
            r("Soita 040 123 4567 tai 040-1234567."),
            "Soita [PHONE] tai [PHONE]."
        );
        assert_eq!(
            r("Numero +358 40 123 4567, kotona 09 123 4567"),
            "Numero [PHONE], kotona [PHONE]"
        );
        assert_eq!(r("Ring 0401234567!"), "Ring [PHONE]!");
        assert_eq!(r("Asiakasnumero 050575-4447"), "Asiakasnumero 050575-4447");
        assert_eq!(
            r("Kävin 12.3.2024 klo 10 ja 3 kertaa"),
            "Kävin 12.3.2024 klo 10 ja 3 kertaa"
        );
        assert_eq!(r("Posti: matti.m@example.fi."), "Posti: [EMAIL].");
        assert_eq!(
            r("Asun Mannerheimintie 12 B 5, 00100 Helsinki."),
            "Asun [ADDRESS]."
        );
        assert_eq!(r("Bor på Storgatan 5 i stan"), "Bor på [ADDRESS] i stan");
        assert_eq!(r("Esplanadi 1 ja Kauppakatu 3"), "[ADDRESS] ja [ADDRESS]");
        assert_eq!(r("Kauppakadulla oli ruuhkaa"), "Kauppakadulla oli ruuhkaa");
    }

    #[test]
    fn names_in_inflected_forms() {
        assert_eq!(
            r("Iso kiitos Mikolle ja Annalta sain apua"),
            "Iso kiitos [NAME] ja [NAME] sain apua"
        );
        assert_eq!(
            r("Soitin Virtasen vastaanotolle"),
            "Soitin [NAME] vastaanotolle"
        );
        assert_eq!(
            r("Kiitos Korhoselle ja Heikiltä"),
            "Kiitos [NAME] ja [NAME]"
        );
        assert_eq!(
            r("Tack till Annas team och Johanssons mottagning"),
            "Tack till [NAME] team och [NAME] mottagning"
        );
        assert_eq!(
            r("Sjukskötare Berg var snäll"),
            "Sjukskötare [NAME] var snäll"
        );
        assert_eq!(r("Hoitaja Virtala auttoi"), "Hoitaja [NAME] auttoi");
        assert_eq!(r("Kiitos Mikko Virtala"), "Kiitos [NAME] [NAME]");
    }

    #[test]
    fn common_words_stay() {
        for t in [
            "Tuuli puhalsi sisään.",
            "Onni oli matkassa.",
            "Toivo on hyvä asia.",
            "Aamu alkoi hyvin.",
            "Anna palautetta!",
            "Bo kvar hemma.",
            "Lahdessa oli ruuhkaa, Kauppakadulla myös.",
            "Mikko",
        ] {
            let expected = if t == "Mikko" { "[NAME]" } else { t };
            assert_eq!(r(t), expected);
        }
        assert_eq!(r("Hoitaja Tuuli oli ihana"), "Hoitaja [NAME] oli ihana");
        assert_eq!(r("Kiitos Tuulille"), "Kiitos [NAME]");
    }
}

//! Small text helpers shared by the analysers: word tokens with byte offsets.

/// A word in a text: a run of letters and digits, with single inner hyphens
/// or apostrophes kept (`Anna-Liisa`, `don't`). Offsets are bytes into the
/// text the token was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub start: usize,
    pub end: usize,
    pub text: &'a str,
}

fn is_joiner(c: char) -> bool {
    matches!(c, '-' | '\'' | '’')
}

/// Iterator over the word tokens of a text.
pub(crate) struct Tokens<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let rest = self.text.get(self.pos..)?;
        let mut start = None;
        for (i, c) in rest.char_indices() {
            if c.is_alphanumeric() {
                start = Some(self.pos + i);
                break;
            }
        }
        let start = match start {
            Some(s) => s,
            None => {
                self.pos = self.text.len();
                return None;
            }
        };
        let mut end = start;
        let mut iter = self.text[start..].char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            if c.is_alphanumeric() {
                end = start + i + c.len_utf8();
            } else if is_joiner(c) {
                match iter.peek() {
                    Some(&(_, n)) if n.is_alphanumeric() => {}
                    _ => break,
                }
            } else {
                break;
            }
        }
        self.pos = end;
        Some(Token {
            start,
            end,
            text: &self.text[start..end],
        })
    }
}

/// Word tokens of `text`.
pub(crate) fn tokens(text: &str) -> Tokens<'_> {
    Tokens { text, pos: 0 }
}

/// True when the first character is upper case and the word is not written
/// all in capitals (acronyms such as `HUS` are not names).
pub(crate) fn is_capitalised(word: &str) -> bool {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) if c.is_uppercase() => {}
        _ => return false,
    }
    let rest: Vec<char> = chars.filter(|c| c.is_alphabetic()).collect();
    rest.is_empty() || rest.iter().any(|c| c.is_lowercase())
}

/// True when the token at `start` begins a sentence: nothing but spaces,
/// quotes, dashes or brackets before it since the text start or since a
/// sentence-ending mark (`.`, `!`, `?`, `:`) or a line break.
pub(crate) fn starts_sentence(text: &str, start: usize) -> bool {
    for c in text[..start].chars().rev() {
        match c {
            ' ' | '\t' | '"' | '\'' | '(' | '«' | '»' | '”' | '“' | '–' | '—' | '-' | '*' | '•' =>
                {}
            '.' | '!' | '?' | ':' | '\n' | '\r' => return true,
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_inner_hyphens_and_offsets() {
        let t: Vec<_> = tokens("Kiitos Anna-Liisa, don't -x 12").collect();
        let words: Vec<&str> = t.iter().map(|t| t.text).collect();
        assert_eq!(words, vec!["Kiitos", "Anna-Liisa", "don't", "x", "12"]);
        assert_eq!(t[1].start, 7);
        assert_eq!(t[1].end, 17);
    }

    #[test]
    fn capitals_and_sentence_starts() {
        assert!(is_capitalised("Mikko"));
        assert!(!is_capitalised("HUS"));
        assert!(!is_capitalised("mikko"));
        let s = "Kiitos. Anna tuli, ja Mikko";
        assert!(starts_sentence(s, 0));
        assert!(starts_sentence(s, 8));
        assert!(!starts_sentence(s, 22));
    }
}

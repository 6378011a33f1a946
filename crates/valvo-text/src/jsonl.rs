//! JSON-lines analysis for the command line (`valvo text analyze`).

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Analyzer, Error};

/// Counts of one [`analyze_lines`] run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Input lines read.
    pub lines: u64,
    /// Lines analysed.
    pub analysed: u64,
    /// Lines that could not be analysed (an error line was written).
    pub errors: u64,
}

/// Analyses JSON lines with the default [`Analyzer`]; see
/// [`Analyzer::analyze_lines`].
pub fn analyze_lines(input: impl BufRead, output: impl Write) -> Result<Stats, Error> {
    crate::default_analyzer().analyze_lines(input, output)
}

fn line_error(line: u64, id: Option<&Value>, message: &str) -> Value {
    let mut m = Map::new();
    if let Some(id) = id {
        m.insert("id".into(), id.clone());
    }
    m.insert("line".into(), Value::from(line));
    m.insert("error".into(), Value::from(message));
    Value::Object(m)
}

impl Analyzer {
    /// Reads JSON lines `{"text": "..."}` (an `id` field of any JSON type is
    /// kept; other fields are ignored) and writes one JSON line per input
    /// line, in order:
    ///
    /// `{"id": ..., "language": "fi", "sentiment": "negative", "topics": ["waiting"], "redacted": "..."}`
    ///
    /// A line that cannot be analysed (not JSON, not an object, no string
    /// `text`, not UTF-8, or blank) does not stop the run: its output line is
    /// `{"id": ..., "line": N, "error": "..."}` with the 1-based line number
    /// (and the `id` when it could be read). Only reading the input or
    /// writing the output failing stops the run with an error.
    pub fn analyze_lines(
        &self,
        mut input: impl BufRead,
        mut output: impl Write,
    ) -> Result<Stats, Error> {
        let mut stats = Stats::default();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if input.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            stats.lines += 1;
            let n = stats.lines;
            while matches!(buf.last(), Some(b'\n' | b'\r')) {
                buf.pop();
            }
            let result = match std::str::from_utf8(&buf) {
                Err(_) => line_error(n, None, "line is not UTF-8"),
                Ok(s) if s.trim().is_empty() => line_error(n, None, "blank line"),
                Ok(s) => match serde_json::from_str::<Value>(s) {
                    Err(e) => line_error(n, None, &format!("not JSON: {e}")),
                    Ok(Value::Object(obj)) => {
                        let id = obj.get("id");
                        match obj.get("text") {
                            Some(Value::String(text)) => {
                                let a = self.analyze(text);
                                let mut m = Map::new();
                                if let Some(id) = id {
                                    m.insert("id".into(), id.clone());
                                }
                                m.insert("language".into(), Value::from(a.language.code()));
                                m.insert("sentiment".into(), Value::from(a.sentiment.code()));
                                m.insert("topics".into(), Value::from(a.topics));
                                m.insert("redacted".into(), Value::from(a.redacted));
                                Value::Object(m)
                            }
                            Some(_) => line_error(n, id, "\"text\" is not a string"),
                            None => line_error(n, id, "no \"text\" field"),
                        }
                    }
                    Ok(_) => line_error(n, None, "not a JSON object"),
                },
            };
            if result.get("error").is_some() {
                stats.errors += 1;
            } else {
                stats.analysed += 1;
            }
            serde_json::to_writer(&mut output, &result)?;
            output.write_all(b"\n")?;
        }
        output.flush()?;
        Ok(stats)
    }
}

//! Spreadsheets (XLSX, read with calamine) for every import: the first sheet
//! with something in it is read, and after it every sheet with the same
//! header row. Each row is a line numbered as the spreadsheet numbers its
//! rows, and errors name the sheet.
//!
//! Cells are read as a person sees them: text as it is; a whole number
//! without decimals (`1025`); a number cell formatted as a percentage (a
//! spreadsheet keeps 0,9 for 90 %) as `90 %`; a time or duration cell as
//! `h:mm:ss`; a date cell as `YYYY-MM-DD`.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use valvo_core::import::{header_names, Expected, LineError};
use valvo_core::plan::ErrorCode;

use super::{Feed, Parser};

/// Reads a workbook through `feed`.
pub(super) fn read<P: Parser>(
    mut feed: Feed<'_, P>,
    bytes: Vec<u8>,
) -> std::result::Result<(), ()> {
    let mut book: Xlsx<_> = match Xlsx::new(Cursor::new(bytes)) {
        Ok(b) => b,
        Err(_) => {
            feed.errors
                .extend([LineError::new(1, "header", ErrorCode::Invalid)
                    .expecting(Expected::Literal("an XLSX workbook or a CSV file".into()))]);
            return feed.end();
        }
    };
    let mut header: Option<Vec<String>> = None;
    for name in book.sheet_names() {
        let Ok(range) = book.worksheet_range(&name) else {
            continue;
        };
        let Some((row0, col0)) = range.start() else {
            continue;
        };
        let styles = book.worksheet_style(&name).ok();
        let text = |r: usize, c: usize, cell: &Data| {
            let pos = (row0 + r as u32, col0 + c as u32);
            let format = styles
                .as_ref()
                .and_then(|s| s.get(pos))
                .and_then(|s| s.number_format.as_ref())
                .map(|f| f.format_code.as_str())
                .unwrap_or("");
            cell_text(cell, format)
        };
        let mut rows = range.rows().enumerate();
        let Some((_, first)) = rows.next() else {
            continue;
        };
        // Columns left of the range's first one are empty.
        let lead = vec![String::new(); col0 as usize];
        let names: Vec<String> = lead
            .iter()
            .cloned()
            .chain(first.iter().enumerate().map(|(c, cell)| text(0, c, cell)))
            .collect();
        let names = header_names(names.iter().map(String::as_str));
        if names.iter().all(|h| h.is_empty()) {
            continue;
        }
        let sheet = Some(name.as_str());
        match &header {
            None => {
                header = Some(names.clone());
                if !feed.header(names, sheet) {
                    return feed.end();
                }
            }
            // Another sheet of the same columns goes on; any other sheet
            // (instructions, a list of codes) is left alone.
            Some(h) if *h == names => {}
            Some(_) => continue,
        }
        let mut record = csv::StringRecord::new();
        for (r, row) in rows {
            record.clear();
            for s in &lead {
                record.push_field(s);
            }
            for (c, cell) in row.iter().enumerate() {
                record.push_field(&text(r, c, cell));
            }
            let line = (row0 as usize) + r + 1;
            feed.record(line, &record, sheet)?;
        }
    }
    if header.is_none() {
        feed.errors
            .extend([LineError::new(1, "header", ErrorCode::Required)]);
    }
    feed.end()
}

/// A cell as a person reads it (see the module).
fn cell_text(cell: &Data, format: &str) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.replace('\0', ""),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if format.contains('%') => format!("{} %", plain(f * 100.0)),
        Data::Float(f) => plain(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            let v = dt.as_f64();
            if dt.is_duration() || (0.0..1.0).contains(&v) {
                valvo_core::value::format_duration(v * 86_400.0)
            } else {
                let (y, m, d, ..) = dt.to_ymd_hms_milli();
                format!("{y:04}-{m:02}-{d:02}")
            }
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// A number as typed: no decimals for a whole number, else the shortest
/// form (rounded to 10 significant digits, as the spreadsheet shows it).
fn plain(f: f64) -> String {
    if !f.is_finite() {
        return String::new();
    }
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let rounded: f64 = format!("{f:.10e}").parse().unwrap_or(f);
    format!("{rounded}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cells_read_as_shown() {
        assert_eq!(cell_text(&Data::Float(1025.0), "General"), "1025");
        assert_eq!(cell_text(&Data::Float(13.4), "0.0"), "13.4");
        assert_eq!(cell_text(&Data::Float(0.9), "0%"), "90 %");
        assert_eq!(cell_text(&Data::Float(0.1 + 0.2), ""), "0.3");
        assert_eq!(cell_text(&Data::Int(7), ""), "7");
        assert_eq!(cell_text(&Data::String("0:13:25".into()), "@"), "0:13:25");
        let t = calamine::ExcelDateTime::new(
            805.0 / 86_400.0,
            calamine::ExcelDateTimeType::DateTime,
            false,
        );
        assert_eq!(cell_text(&Data::DateTime(t), "h:mm:ss"), "0:13:25");
        let d =
            calamine::ExcelDateTime::new(45_292.0, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&Data::DateTime(d), "d.m.yyyy"), "2024-01-01");
    }
}

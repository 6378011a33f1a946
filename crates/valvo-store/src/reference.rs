//! National and regional reference values from THL's Sotkanet, shown beside
//! a county's own figures (`4,6 % (hela landet 5,1 %)`).
//!
//! The import reads Sotkanet's CSV export (the open data interface's
//! `/rest/1.1/csv` and the portal's download), exactly these columns of its
//! header, matched without regard to letter case, spaces, dots or
//! underscores: `indicator` (the Sotkanet indicator id), `region` (the
//! region id, or its code), `year`, `gender` (`total`, `male`, `female`;
//! empty is `total`) and `value` (also `primary value`, the name in the
//! export), with a decimal comma or point. Other columns (`absolute value`,
//! titles) are left as they are. Semicolons or commas separate the fields;
//! a missing value (empty or `..`) is skipped. The file is all or nothing:
//! every bad line is named. A value already stored for the same indicator,
//! region, year and gender is replaced.

use valvo_core::access::Principal;
use valvo_core::import::{Expected, LineError, LineErrors};
use valvo_core::model::Reference;
use valvo_core::plan::{parse_number, ErrorCode};

use crate::write::audit;
use crate::{Result, Store, StoreError};

/// What a Sotkanet import did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ReferenceImport {
    /// Values stored (new or replaced).
    pub values: u64,
    /// Lines without a value, skipped.
    pub missing: u64,
}

/// A reference series' values by year, oldest first.
pub(crate) async fn values_in(
    conn: &mut sqlx::AnyConnection,
    r: &Reference,
) -> Result<Vec<(i32, f64)>> {
    let rows: Vec<(i64, f64)> = sqlx::query_as(
        "SELECT year, value FROM reference_values WHERE source = 'sotkanet' AND series = $1 \
         AND region = $2 AND gender = $3 ORDER BY year",
    )
    .bind(&r.series)
    .bind(&r.region)
    .bind(&r.gender)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(y, v)| (y as i32, v)).collect())
}

fn norm(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '_' | '-'))
        .collect()
}

type Row = (String, String, i64, String, f64);

/// Reads a Sotkanet CSV export: its rows, how many had no value, or every
/// bad line.
pub fn parse_sotkanet(data: &[u8]) -> std::result::Result<(Vec<Row>, u64), LineErrors> {
    let data = data.strip_prefix("\u{feff}".as_bytes()).unwrap_or(data);
    let mut errors = LineErrors::default();
    let delimiter = valvo_core::import::delimiter(data);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(data);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(norm).collect(),
        Err(_) => Vec::new(),
    };
    let at = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let cols = (
        at(&["indicator", "indikaattori"]),
        at(&["region", "alue"]),
        at(&["year", "vuosi"]),
        at(&["gender", "sukupuoli"]),
        at(&["value", "primaryvalue", "arvo"]),
    );
    let (Some(ind), Some(reg), Some(year), gender, Some(val)) = cols else {
        for (name, c) in [
            ("indicator", cols.0),
            ("region", cols.1),
            ("year", cols.2),
            ("value", cols.4),
        ] {
            if c.is_none() {
                errors.extend([LineError::new(1, name, ErrorCode::Required)]);
            }
        }
        return Err(errors);
    };
    let mut rows = Vec::new();
    let mut missing = 0;
    for (i, rec) in reader.records().enumerate() {
        let line = rec
            .as_ref()
            .ok()
            .and_then(|r| r.position().map(|p| p.line() as usize))
            .unwrap_or(i + 2);
        let Ok(rec) = rec else {
            errors.extend([
                LineError::new(line, "line", ErrorCode::Invalid).expecting(Expected::CsvLine)
            ]);
            continue;
        };
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |c: usize| rec.get(c).map(str::trim).unwrap_or("");
        let ok_id = |s: &str| {
            !s.is_empty()
                && s.len() <= 40
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        let mut bad = Vec::new();
        if !ok_id(cell(ind)) {
            bad.push(
                LineError::new(line, "indicator", ErrorCode::Invalid)
                    .expecting("a Sotkanet indicator id"),
            );
        }
        if !ok_id(cell(reg)) {
            bad.push(
                LineError::new(line, "region", ErrorCode::Invalid)
                    .expecting("a Sotkanet region id"),
            );
        }
        let y = cell(year)
            .parse::<i64>()
            .ok()
            .filter(|y| (1900..=2999).contains(y));
        if y.is_none() {
            bad.push(LineError::new(line, "year", ErrorCode::Invalid).expecting("a year"));
        }
        let g = match gender.map(cell).unwrap_or("").to_lowercase().as_str() {
            "" | "total" | "yhteensä" => Some("total"),
            "male" | "miehet" => Some("male"),
            "female" | "naiset" => Some("female"),
            _ => None,
        };
        if g.is_none() {
            bad.push(
                LineError::new(line, "gender", ErrorCode::Invalid)
                    .expecting("total, male or female"),
            );
        }
        let v = match cell(val) {
            "" | ".." | "-" => None,
            s => match parse_number(s) {
                Ok(v) => v,
                Err(code) => {
                    bad.push(LineError::new(line, "value", code).expecting("a number such as 5,1"));
                    None
                }
            },
        };
        if !bad.is_empty() {
            errors.extend(bad);
            continue;
        }
        match (v, y, g) {
            (Some(v), Some(y), Some(g)) => rows.push((
                cell(ind).to_owned(),
                cell(reg).to_owned(),
                y,
                g.to_owned(),
                v,
            )),
            _ => missing += 1,
        }
    }
    if errors.is_empty() {
        Ok((rows, missing))
    } else {
        Err(errors)
    }
}

impl Store {
    /// Imports a Sotkanet CSV export (administrators and quality
    /// coordinators), every line or none.
    pub async fn import_sotkanet(
        &self,
        p: &Principal,
        file: &str,
        data: &[u8],
    ) -> Result<std::result::Result<ReferenceImport, LineErrors>> {
        if !valvo_core::incident::may_configure(p) {
            return Err(StoreError::Forbidden);
        }
        let (rows, missing) = match parse_sotkanet(data) {
            Ok(x) => x,
            Err(e) => return Ok(Err(e)),
        };
        let mut tx = self.begin_write().await?;
        for r in &rows {
            sqlx::query(
                "INSERT INTO reference_values (source, series, region, year, gender, value) \
                 VALUES ('sotkanet', $1, $2, $3, $4, $5) \
                 ON CONFLICT (source, series, region, year, gender) DO UPDATE SET value = excluded.value",
            )
            .bind(&r.0)
            .bind(&r.1)
            .bind(r.2)
            .bind(&r.3)
            .bind(r.4)
            .execute(&mut *tx)
            .await?;
        }
        let done = ReferenceImport {
            values: rows.len() as u64,
            missing,
        };
        audit(
            &mut tx,
            p,
            "import",
            "reference_values",
            "sotkanet",
            None,
            None,
            Some(
                serde_json::json!({ "file": file, "values": done.values, "missing": done.missing }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(done))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_export_is_read_and_bad_lines_named() {
        let csv = "indicator;region;year;gender;primary value;absolute value\n\
                   3282;658;2023;total;5,1;1200\n3282;658;2022;total;..;\n3282;658;2023;male;4.9;\n";
        let (rows, missing) = parse_sotkanet(csv.as_bytes()).unwrap();
        assert_eq!(
            rows[0],
            ("3282".into(), "658".into(), 2023, "total".into(), 5.1)
        );
        assert_eq!((rows.len(), missing), (2, 1));
        let bad =
            "Indicator,Region,Year,Gender,Value\n3282,658,20x3,total,5\n3282,658,2023,both,five\n";
        let errors = parse_sotkanet(bad.as_bytes()).unwrap_err();
        let got: Vec<(usize, &str)> = errors
            .first
            .iter()
            .map(|e| (e.line, e.field.as_str()))
            .collect();
        assert_eq!(got, [(2, "year"), (3, "gender"), (3, "value")]);
        let no_value = parse_sotkanet(b"indicator;region;year\n1;2;2023\n").unwrap_err();
        assert_eq!(no_value.first[0].field, "value");
    }
}

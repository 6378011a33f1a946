//! `valvo report`: a report to a file from the command line.

use std::path::Path;

use valvo_core::report::check_report_period;
use valvo_core::{Lang, Period};
use valvo_report::Layout;
use valvo_store::Store;
use valvo_web::FileKind;

/// Writes the report of `org` for `period` in `lang` and `format` to `out`.
pub async fn write(
    store: &Store,
    org: &str,
    period: &str,
    lang: &str,
    format: &str,
    with_children: bool,
    out: &Path,
) -> Result<(), String> {
    let period: Period = period.parse().map_err(|_| {
        format!("unknown period {period:?}: use e.g. 2024T2, 2024Q3, 2024H1 or 2024")
    })?;
    check_report_period(&period, time::OffsetDateTime::now_utc().date())
        .map_err(|e| format!("no report for {period}: {e}"))?;
    let layout =
        match lang {
            "bilingual" => Layout::Bilingual,
            code => Layout::Single(Lang::parse(code).filter(|l| l.code() == code).ok_or_else(
                || format!("unknown language {code:?}: use fi, sv, en or bilingual"),
            )?),
        };
    let kind = match (format, layout) {
        ("pdf", l) => FileKind::Pdf(l),
        ("html", l) => FileKind::Html(l),
        ("json", _) => FileKind::Json,
        ("csv", Layout::Single(l)) => FileKind::Csv(l),
        ("csv", Layout::Bilingual) => {
            return Err("CSV is made in one language: use --lang fi, sv or en".into())
        }
        (other, _) => {
            return Err(format!(
                "unknown format {other:?}: use pdf, html, json or csv"
            ))
        }
    };
    let org_id = crate::find_scope(store, Some(org))
        .await?
        .ok_or("no org unit given")?;
    let report = match store
        .latest_report(org_id, &period)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(row) => store.report(&row).await,
        None => store.preview_report(org_id, period, with_children).await,
    }
    .map_err(|e| e.to_string())?;
    let (_, bytes) =
        tokio::task::spawn_blocking(move || valvo_web::render_report_file(&report, kind))
            .await
            .map_err(|e| e.to_string())??;
    std::fs::write(out, &bytes).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("Wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}

//! `valvo import …`: a file through the store's import pipeline, with a
//! progress bar (rows/s, time left) when standard error is a terminal.

use std::path::Path;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use valvo_core::access::Principal;
use valvo_store::{ImportKind, ImportState, Store};

/// Imports `file`; an error (with every line error listed, the first 100)
/// when nothing was imported.
pub async fn run(
    store: &Store,
    kind: ImportKind,
    file: &Path,
    dry_run: bool,
) -> Result<(), String> {
    let name = file.display().to_string();
    let f = std::fs::File::open(file).map_err(|e| format!("{name}: {e}"))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let p = Principal::system("cli");
    let id = store
        .create_import(&p, kind, &name, size, dry_run)
        .await
        .map_err(|e| e.to_string())?;
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} (left {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let on_progress = {
        let bar = bar.clone();
        Arc::new(move |p: valvo_store::ImportProgress| {
            bar.set_position(p.bytes_read);
            let secs = started.elapsed().as_secs_f64().max(0.001);
            let mut msg = format!("{} rows, {:.0} rows/s", p.rows, p.rows as f64 / secs);
            if p.errors > 0 {
                msg.push_str(&format!(", {} errors", p.errors));
            }
            bar.set_message(msg);
        }) as valvo_store::OnProgress
    };
    let today = time::OffsetDateTime::now_utc().date();
    let job = store
        .run_import(&p, id, std::io::BufReader::new(f), today, Some(on_progress))
        .await;
    bar.finish_and_clear();
    let job = job.map_err(|e| format!("{name}: nothing imported: {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    match job.state {
        ImportState::Done => {
            match &job.summary {
                Some(s) => println!(
                    "{name}: {} lines in {secs:.1} s ({:.0} rows/s): {} new, {} changed, {} unchanged, {} flagged for a check",
                    job.rows_read,
                    job.rows_read as f64 / secs.max(0.001),
                    s.new,
                    s.changed,
                    s.unchanged,
                    s.flagged
                ),
                None => println!(
                    "{} {} imported in {secs:.1} s ({:.0} rows/s)",
                    job.rows_written,
                    what(kind),
                    job.rows_written as f64 / secs.max(0.001)
                ),
            }
            Ok(())
        }
        ImportState::Checked => {
            println!(
                "{name}: {} lines checked, no errors; nothing written (--dry-run)",
                job.rows_read
            );
            if let Some(s) = &job.summary {
                println!(
                    "{name}: it would add {} and change {} follow-ups ({} unchanged, {} flagged for a check)",
                    s.new, s.changed, s.unchanged, s.flagged
                );
            }
            Ok(())
        }
        _ => {
            let mut out = format!("{name}: nothing imported");
            if let Some(m) = &job.message {
                out.push_str(&format!(": {m}"));
            }
            if job.error_count > 0 {
                out.push_str(&format!(" ({} errors", job.error_count));
                if job.error_count > job.errors.len() as u64 {
                    out.push_str(&format!(", the first {} listed", job.errors.len()));
                }
                out.push(')');
            }
            for e in &job.errors {
                out.push_str(&format!("\n{name}: {e}"));
            }
            Err(out)
        }
    }
}

fn what(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Feedback => "answers",
        ImportKind::Incidents => "reports",
        ImportKind::Figures => "figures",
        ImportKind::Ombudsman => "contacts",
    }
}

/// Loads a Sotkanet CSV export of reference values (every line or none).
pub async fn sotkanet(store: &Store, file: &Path, dry_run: bool) -> Result<(), String> {
    let name = file.display().to_string();
    let data = std::fs::read(file).map_err(|e| format!("{name}: {e}"))?;
    let report = |errors: valvo_core::import::LineErrors| {
        let mut out = format!("{name}: nothing stored ({} errors)", errors.count);
        for e in &errors.first {
            out.push_str(&format!("\n{name}: {e}"));
        }
        out
    };
    if dry_run {
        return match valvo_store::parse_sotkanet(&data) {
            Ok((rows, missing)) => {
                println!("{name}: {} values checked ({missing} without a value); nothing stored (--dry-run)", rows.len());
                Ok(())
            }
            Err(e) => Err(report(e)),
        };
    }
    match store
        .import_sotkanet(&Principal::system("cli"), &name, &data)
        .await
        .map_err(|e| format!("{name}: {e}"))?
    {
        Ok(done) => {
            println!(
                "{name}: {} reference values stored ({} without a value skipped)",
                done.values, done.missing
            );
            Ok(())
        }
        Err(e) => Err(report(e)),
    }
}

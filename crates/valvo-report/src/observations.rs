//! Key observations drafted from a report's own figures: a few sentences in
//! Finnish, Swedish and English that the quality coordinator edits and
//! approves. Every number in a sentence is printed from the figure it names
//! with the report's own formatting, so the draft and the report always
//! agree. Deterministic: the same report gives the same draft.

use valvo_core::report::{Report, ReportIndicator, ReportSection, SectionKind};
use valvo_core::{format_number, I18nText, Lang, Status};
use valvo_i18n::{arg_str, Tr};

/// At most this many indicators named per sentence kind (off track, met),
/// and this many changes against the previous period.
const MOST: usize = 3;

fn name(t: &I18nText, lang: Lang) -> String {
    t.resolve(lang)
        .map(|r| r.text.to_owned())
        .unwrap_or_default()
}

fn figure(s: &ReportSection, key: &str) -> Option<(f64, Option<f64>)> {
    s.figures
        .iter()
        .find(|f| f.key == key)
        .and_then(|f| f.value.map(|v| (v, f.previous)))
}

/// The draft in one language: one paragraph per observation.
pub fn draft_in(report: &Report, lang: Lang) -> String {
    let tr = Tr::new(lang);
    let num = |v: f64| format_number(v, lang);
    let mut out: Vec<String> = Vec::new();

    // How the indicators stand, over every chapter (the overview's totals).
    let count = |st: Status| -> usize {
        report
            .chapters
            .iter()
            .flat_map(|c| &c.status_counts)
            .filter(|x| x.status == st)
            .map(|x| x.count)
            .sum()
    };
    let (met, way, off) = (
        count(Status::Met),
        count(Status::OnTheWay),
        count(Status::OffTrack),
    );
    if met + way + off > 0 {
        out.push(tr.t_args(
            "obs-status",
            &[
                ("met", arg_str(num(met as f64))),
                ("way", arg_str(num(way as f64))),
                ("off", arg_str(num(off as f64))),
            ],
        ));
    }
    let with_chapter = |st: Status| -> Vec<(String, &ReportIndicator)> {
        report
            .chapters
            .iter()
            .flat_map(|c| {
                c.goals
                    .iter()
                    .flat_map(|g| &g.indicators)
                    .filter(move |i| {
                        i.status == st && i.value.is_some() && i.target_text(lang).is_some()
                    })
                    .map(move |i| (name(&c.name, lang), i))
            })
            .take(MOST)
            .collect()
    };
    for (st, key) in [
        (Status::OffTrack, "obs-off-track"),
        (Status::Met, "obs-met"),
    ] {
        for (chapter, i) in with_chapter(st) {
            let Some(t) = i.target_text(lang) else {
                continue;
            };
            out.push(tr.t_args(
                key,
                &[
                    ("indicator", arg_str(name(&i.name, lang))),
                    ("area", arg_str(chapter)),
                    ("value", arg_str(i.figure_text(lang))),
                    ("target", arg_str(t)),
                ],
            ));
        }
    }

    // The report organisation's own sections: the largest changes against
    // the previous period, then what needs doing now.
    let Some(own) = report.chapters.first() else {
        return out.join("\n\n");
    };
    let mut changes: Vec<(f64, &ReportSection, &str, f64, f64)> = own
        .sections
        .iter()
        .flat_map(|s| s.figures.iter().map(move |f| (s, f)))
        .filter_map(|(s, f)| match (f.value, f.previous) {
            (Some(v), Some(p)) if p != 0.0 && v != p => {
                Some(((v - p).abs() / p.abs(), s, f.key.as_str(), v, p))
            }
            _ => None,
        })
        .collect();
    // Largest relative change first; ties in report order (a stable sort).
    changes.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, _, key, v, p) in changes.into_iter().take(MOST) {
        out.push(tr.t_args(
            "obs-change",
            &[
                ("figure", arg_str(tr.t(&format!("report-fig-{key}")))),
                ("value", arg_str(num(v))),
                ("previous", arg_str(num(p))),
            ],
        ));
    }
    let section = |k: SectionKind| own.sections.iter().find(|s| s.kind == k);
    if let Some((gap, _)) = section(SectionKind::CustomerExperience)
        .and_then(|s| figure(s, "nps_lang_gap"))
        .filter(|(g, _)| *g != 0.0)
    {
        let key = if gap < 0.0 {
            "obs-nps-gap-lower"
        } else {
            "obs-nps-gap-higher"
        };
        out.push(tr.t_args(key, &[("points", arg_str(num(gap.abs())))]));
    }
    if let Some((n, _)) = section(SectionKind::Safety)
        .and_then(|s| figure(s, "unhandled_over_2_months"))
        .filter(|(n, _)| *n > 0.0)
    {
        out.push(tr.t_args("obs-unhandled", &[("count", arg_str(num(n)))]));
    }
    if let Some((n, _)) = section(SectionKind::Supervision)
        .and_then(|s| figure(s, "corrections_overdue"))
        .filter(|(n, _)| *n > 0.0)
    {
        out.push(tr.t_args("obs-corrections-overdue", &[("count", arg_str(num(n)))]));
    }
    out.join("\n\n")
}

/// The draft in Finnish, Swedish and English.
pub fn draft(report: &Report) -> I18nText {
    let text = |l| Some(draft_in(report, l)).filter(|s| !s.is_empty());
    I18nText::new(text(Lang::Fi), text(Lang::Sv), text(Lang::En))
}

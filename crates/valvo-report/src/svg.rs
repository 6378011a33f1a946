//! The chapter's status chart: a horizontal bar chart of indicator counts
//! per status, as a self-contained, accessible SVG.
//!
//! The chart has `role="img"` with a `<title>` and a `<desc>` that says in
//! words what the bars show. Colour is never the only carrier: every bar has
//! its status word beside it and its count as text, and the bars of the
//! statuses other than "met" are also patterned. Only presentation attributes
//! are used (no `style`), so the SVG can be inlined under a strict CSP. The
//! output depends only on the input: the same chapter and language always
//! give the same bytes.

use std::fmt::Write as _;

use valvo_core::report::{Chapter, ReportTable, TableCell};
use valvo_core::{Lang, Status};
use valvo_i18n::{arg_num, arg_str, Tr};

/// Total width of the chart in user units (pixels).
const WIDTH: f64 = 400.0;
/// Outer padding.
const PAD: f64 = 8.0;
/// Height of one row.
const ROW_H: f64 = 28.0;
/// Height of a bar.
const BAR_H: f64 = 18.0;
/// Room right of the longest bar for its count.
const COUNT_W: f64 = 40.0;
/// Font size of the labels.
const FONT_SIZE: f64 = 13.0;
/// Text colour (contrast 15.8:1 on white).
const TEXT: &str = "#1f2328";

/// Escapes text for XML content and attribute values.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Characters XML 1.0 does not allow at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Bar colour of a status; every one has at least 4.5:1 contrast to white.
fn colour(status: Status) -> &'static str {
    match status {
        Status::Met => "#1a7f37",
        Status::OnTheWay => "#8a5a00",
        Status::OffTrack => "#b3261e",
        Status::NoData => "#59636e",
        Status::NoTarget => "#0550ae",
    }
}

/// The pattern drawn over the bar colour (besides the label), if any.
fn pattern(status: Status, id: &str, fill: &str) -> Option<String> {
    let marks = match status {
        Status::Met => return None,
        // Diagonal stripes.
        Status::OnTheWay => {
            r##"<rect x="0" y="0" width="2.5" height="6" fill="#ffffff" fill-opacity="0.55"/>"##
        }
        // Cross-hatching.
        Status::OffTrack => {
            r##"<rect x="0" y="0" width="2" height="6" fill="#ffffff" fill-opacity="0.55"/><rect x="0" y="0" width="6" height="2" fill="#ffffff" fill-opacity="0.55"/>"##
        }
        // Dots.
        Status::NoData => r##"<circle cx="3" cy="3" r="1.3" fill="#ffffff" fill-opacity="0.7"/>"##,
        // Horizontal lines.
        Status::NoTarget => {
            r##"<rect x="0" y="0" width="6" height="2" fill="#ffffff" fill-opacity="0.55"/>"##
        }
    };
    let transform = if status == Status::OnTheWay {
        r#" patternTransform="rotate(45)""#
    } else {
        ""
    };
    Some(format!(
        r#"<pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse"{transform}><rect x="0" y="0" width="6" height="6" fill="{fill}"/>{marks}</pattern>"#
    ))
}

/// A coordinate with at most one decimal and no trailing `.0`.
fn n(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// Keeps the characters that may appear in an XML id.
fn id_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The text alternative of the chart: the `report-status-chart-desc`
/// message, e.g. "5 indicators: met 3, on the way 2, off track 0, …".
pub fn status_chart_desc(chapter: &Chapter, tr: &Tr) -> String {
    let total: usize = chapter.status_counts.iter().map(|c| c.count).sum();
    let parts = chapter
        .status_counts
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                tr.t(&format!("status-{}", c.status.code())),
                c.count
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    // Indicator counts are far below 2^53: exact as f64.
    #[allow(clippy::cast_precision_loss)]
    let total = total as f64;
    tr.t_args(
        "report-status-chart-desc",
        &[("total", arg_num(total)), ("parts", arg_str(parts))],
    )
}

/// A horizontal bar chart of `chapter.status_counts`, one bar per status in
/// the order given, labelled with the `status-<code>` messages of `tr`.
pub fn status_chart(chapter: &Chapter, tr: &Tr) -> String {
    let title = tr.t("report-status-chart");
    let desc = status_chart_desc(chapter, tr);
    let prefix = format!(
        "vc-{}-{}",
        id_part(&chapter.org_id.to_string()),
        tr.lang().code()
    );
    let rows: Vec<(Status, usize, String)> = chapter
        .status_counts
        .iter()
        .map(|c| {
            (
                c.status,
                c.count,
                tr.t(&format!("status-{}", c.status.code())),
            )
        })
        .collect();
    chart_svg(&prefix, tr.lang(), &title, &desc, &rows)
}

/// An accessible chart's opening: the `<svg>` element named by its title
/// and description (`{prefix}-title`, `{prefix}-desc`), in `lang`.
fn svg_open(
    prefix: &str,
    lang: Lang,
    (w, h): (f64, f64),
    font_size: f64,
    title: &str,
    desc: &str,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{prefix}-title {prefix}-desc" xml:lang="{lang}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="Inter, system-ui, sans-serif" font-size="{fs}">"#,
        lang = lang.code(),
        w = n(w),
        h = n(h),
        fs = n(font_size),
    );
    let _ = write!(
        out,
        r#"<title id="{prefix}-title">{}</title><desc id="{prefix}-desc">{}</desc>"#,
        xml_escape(title),
        xml_escape(desc)
    );
    out
}

/// Draws the chart of `rows` (status, count, label).
fn chart_svg(
    prefix: &str,
    lang: Lang,
    title: &str,
    desc: &str,
    rows: &[(Status, usize, String)],
) -> String {
    let longest = rows.iter().map(|r| r.2.chars().count()).max().unwrap_or(0);
    #[allow(clippy::cast_precision_loss)]
    let label_w = (longest as f64 * 7.2 + 12.0).clamp(90.0, 220.0).round();
    let bar_x = PAD + label_w;
    let bar_area = WIDTH - bar_x - COUNT_W - PAD;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    #[allow(clippy::cast_precision_loss)]
    let height = PAD * 2.0 + ROW_H * rows.len().max(1) as f64;

    let mut out = svg_open(prefix, lang, (WIDTH, height), FONT_SIZE, title, desc);
    let patterns: Vec<String> = rows
        .iter()
        .filter_map(|(s, _, _)| pattern(*s, &format!("{prefix}-{}", id_part(s.code())), colour(*s)))
        .collect();
    if !patterns.is_empty() {
        out.push_str("<defs>");
        for p in &patterns {
            out.push_str(p);
        }
        out.push_str("</defs>");
    }
    // The value axis.
    let _ = write!(
        out,
        r##"<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="#59636e" stroke-width="1"/>"##,
        x = n(bar_x),
        y1 = n(PAD),
        y2 = n(height - PAD),
    );
    for (i, (status, count, label)) in rows.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let top = PAD + ROW_H * i as f64;
        let mid = top + ROW_H / 2.0;
        let baseline = mid + FONT_SIZE * 0.35;
        let _ = write!(
            out,
            r#"<g><text x="{x}" y="{y}" text-anchor="end" fill="{TEXT}">{}</text>"#,
            xml_escape(label),
            x = n(bar_x - 6.0),
            y = n(baseline),
        );
        #[allow(clippy::cast_precision_loss)]
        let w = bar_area * (*count as f64) / (max as f64);
        if *count > 0 {
            let fill = if *status == Status::Met {
                colour(*status).to_owned()
            } else {
                format!("url(#{prefix}-{})", id_part(status.code()))
            };
            let _ = write!(
                out,
                r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}" stroke="{stroke}" stroke-width="1"/>"#,
                x = n(bar_x),
                y = n(mid - BAR_H / 2.0),
                w = n(w.max(2.0)),
                h = n(BAR_H),
                stroke = colour(*status),
            );
        }
        let _ = write!(
            out,
            r#"<text x="{x}" y="{y}" fill="{TEXT}" font-weight="bold">{count}</text></g>"#,
            x = n(bar_x + w.max(if *count > 0 { 2.0 } else { 0.0 }) + 6.0),
            y = n(baseline),
        );
    }
    out.push_str("</svg>");
    out
}

/// One bar of a table's chart: its label, this period's figure and the
/// previous period's (each with its text as the table prints it).
struct Bar {
    label: String,
    value: Option<f64>,
    shown: String,
    previous: Option<f64>,
    previous_shown: String,
}

/// The bars of the tables that the seeds draw as charts: consequence
/// shares, the most common event types, the statements' means and NPS by
/// language; `None` for any other table.
fn bars(table: &ReportTable, tr: &Tr) -> Option<Vec<Bar>> {
    let lang = tr.lang();
    let decimals = table.percent_decimals();
    let num = |c: Option<&TableCell>| -> Option<f64> {
        match c? {
            TableCell::Count(Some(n)) => Some(*n as f64),
            TableCell::Percent(Some(v)) | TableCell::Number(Some(v)) => Some(*v),
            TableCell::Mean { value, .. } => *value,
            _ => None,
        }
    };
    let text = |c: Option<&TableCell>, v: Option<f64>| match c {
        Some(TableCell::Mean { .. }) => v
            .map(|v| {
                let s = format!("{v:.2}");
                if lang == Lang::En {
                    s
                } else {
                    s.replace('.', ",")
                }
            })
            .unwrap_or_default(),
        Some(c) if v.is_some() => c.text_in(lang, decimals),
        _ => String::new(),
    };
    let (value_col, previous_col) = match table.key.as_str() {
        "incident_consequences" => (1, Some(2)),
        "fb_languages" => (0, Some(1)),
        "fb_nps_years" => (1, None),
        "incident_top_types" | "fb_statements" => (0, None),
        _ => return None,
    };
    let rows = table
        .rows
        .iter()
        .map(|r| {
            let cell = r.cells.get(value_col);
            let value = num(cell);
            let (previous, previous_shown) = match (previous_col, cell) {
                (Some(i), _) => {
                    let p = num(r.cells.get(i));
                    (p, text(r.cells.get(i), p))
                }
                (None, Some(TableCell::Mean { previous, .. })) => {
                    (*previous, text(cell, *previous))
                }
                _ => (None, String::new()),
            };
            Bar {
                label: r
                    .labels
                    .last()
                    .map(|l| l.text(lang, &|k| tr.t(k)))
                    .unwrap_or_default(),
                shown: text(cell, value),
                value,
                previous,
                previous_shown,
            }
        })
        .filter(|b| b.value.is_some() || b.previous.is_some())
        .collect::<Vec<_>>();
    (!rows.is_empty()).then_some(rows)
}

/// The most characters of a line of a bar's label that fit the chart's
/// width at its type size (Inter averages about 0.55 em a character).
const LABEL_CHARS: usize = 52;
/// A label longer than this many lines is shortened with an ellipsis (the
/// table above the chart and the chart's description hold the whole text).
const LABEL_LINES: usize = 3;

/// `label` broken at spaces into lines of at most [`LABEL_CHARS`]
/// characters (a longer word is cut), at most [`LABEL_LINES`] of them, the
/// last ending in an ellipsis when text was left out.
fn label_lines(label: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in label.split_whitespace() {
        let mut word: String = word.to_string();
        loop {
            let used = line.chars().count();
            let need = word.chars().count() + usize::from(used > 0);
            if used + need <= LABEL_CHARS {
                if used > 0 {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word wider than a line: cut it.
            let head: String = word.chars().take(LABEL_CHARS).collect();
            word = word.chars().skip(LABEL_CHARS).collect();
            lines.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > LABEL_LINES {
        lines.truncate(LABEL_LINES);
        let last = &mut lines[LABEL_LINES - 1];
        let kept: String = last.chars().take(LABEL_CHARS - 1).collect();
        *last = format!("{}\u{2026}", kept.trim_end());
    }
    lines
}

/// A module table drawn as a horizontal bar chart (an accessible SVG:
/// `role="img"`, a title, and a description of what the bars show; every
/// bar carries its figure as text, and the table itself is the data). The
/// period's bar is dark, the previous period's a thinner grey one under it.
/// `None` for tables the seeds do not draw.
pub fn table_chart(table: &ReportTable, tr: &Tr, id: &str) -> Option<String> {
    let rows = bars(table, tr)?;
    let lang = tr.lang();
    let prefix = format!("tc-{}-{}-{}", id_part(id), id_part(&table.key), lang.code());
    // Narrow enough that a phone (about 360 px for the figure) shows it at
    // nine tenths of its size, the labels still 12 px or more.
    const W: f64 = 400.0;
    const FONT: f64 = 13.0;
    const LABEL_H: f64 = 17.0;
    const CUR_H: f64 = 13.0;
    const PREV_H: f64 = 8.0;
    const VALUE_W: f64 = 64.0;
    let has_prev = rows.iter().any(|b| b.previous.is_some());
    let bars_h = CUR_H + if has_prev { 3.0 + PREV_H } else { 0.0 } + 7.0;
    // Each row: its label's lines, then its bars.
    let labels: Vec<Vec<String>> = rows.iter().map(|b| label_lines(&b.label)).collect();
    #[allow(clippy::cast_precision_loss)]
    let label_h = |i: usize| LABEL_H * labels[i].len().max(1) as f64;
    let tops: Vec<f64> = labels
        .iter()
        .enumerate()
        .scan(PAD, |y, (i, _)| {
            let top = *y;
            *y += label_h(i) + bars_h;
            Some(top)
        })
        .collect();
    // A visible key under the bars when there are two periods.
    let legend_h = if has_prev { 20.0 } else { 0.0 };
    let values = rows.iter().flat_map(|b| [b.value, b.previous]).flatten();
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    // Means are on the scale 1–5 (drawn from 1, so a change shows); the
    // rest from zero (NPS may be negative).
    let statements = table.key == "fb_statements";
    let (lo, hi) = if statements {
        (1.0, 5.0)
    } else {
        (lo, hi.max(1.0))
    };
    let span = (hi - lo).max(f64::EPSILON);
    // Room left of the bars for a negative figure's text (NPS may be below zero).
    let left = PAD + if lo < 0.0 { VALUE_W * 0.6 } else { 0.0 };
    let area = W - left - PAD - VALUE_W;
    let x_of = |v: f64| left + area * (v - lo) / span;
    let zero = x_of(if statements { 1.0 } else { 0.0 });
    #[allow(clippy::cast_precision_loss)]
    let height = tops
        .last()
        .map_or(PAD, |t| t + label_h(rows.len() - 1) + bars_h)
        + PAD
        + legend_h;
    let title = tr.t(&format!("report-table-{}", table.key));
    let desc = rows
        .iter()
        .map(|b| {
            if b.previous_shown.is_empty() {
                format!("{}: {}", b.label, b.shown)
            } else {
                format!("{}: {} ({})", b.label, b.shown, b.previous_shown)
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    let desc = if has_prev {
        format!("{}. {desc}", tr.t("chart-previous-note"))
    } else {
        desc
    };
    let mut out = svg_open(&prefix, lang, (W, height), FONT, &title, &desc);
    for (i, b) in rows.iter().enumerate() {
        let top = tops[i];
        out.push_str("<g>");
        for (k, line) in labels[i].iter().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            let _ = write!(
                out,
                r#"<text x="{x}" y="{y}" fill="{TEXT}">{}</text>"#,
                xml_escape(line),
                x = n(PAD),
                y = n(top + FONT + LABEL_H * k as f64),
            );
        }
        let mut bar = |v: Option<f64>, shown: &str, y: f64, h: f64, fill: &str, weight: &str| {
            let Some(v) = v else { return };
            let x = x_of(v);
            let (x0, x1) = if x < zero { (x, zero) } else { (zero, x) };
            // A negative figure's text left of its bar, any other's right.
            let (tx, anchor) = if x < zero {
                (x0 - 4.0, r#" text-anchor="end""#)
            } else {
                (x1 + 5.0, "")
            };
            let _ = write!(
                out,
                r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}"/><text x="{tx}" y="{ty}" fill="{TEXT}"{anchor}{weight}>{}</text>"#,
                xml_escape(shown),
                x = n(x0),
                y = n(y),
                w = n((x1 - x0).max(1.5)),
                h = n(h),
                tx = n(tx),
                ty = n(y + h - 1.5),
            );
        };
        let y = top + label_h(i);
        bar(
            b.value,
            &b.shown,
            y,
            CUR_H,
            "#0000bf",
            r#" font-weight="bold""#,
        );
        bar(
            b.previous,
            &b.previous_shown,
            y + CUR_H + 3.0,
            PREV_H,
            "#8c959f",
            r#" font-size="11""#,
        );
        out.push_str("</g>");
    }
    if lo < 0.0 {
        // The zero line beside each row's bars, not across the labels.
        for (i, top) in tops.iter().enumerate() {
            let top = top + label_h(i) - 1.0;
            let _ = write!(
                out,
                r##"<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="#59636e" stroke-width="1"/>"##,
                x = n(zero),
                y1 = n(top),
                y2 = n(top + bars_h - 4.0),
            );
        }
    }
    if has_prev {
        let y = height - PAD - 4.0;
        let _ = write!(
            out,
            r##"<rect x="{x}" y="{y0}" width="14" height="10" fill="#0000bf"/><text x="{t1}" y="{y}" fill="{TEXT}">{}</text><rect x="{x2}" y="{y1}" width="14" height="6" fill="#8c959f"/><text x="{t2}" y="{y}" fill="{TEXT}">{}</text>"##,
            xml_escape(&tr.t("chart-period")),
            xml_escape(&tr.t("chart-previous")),
            x = n(PAD),
            y0 = n(y - 9.0),
            t1 = n(PAD + 18.0),
            x2 = n(W / 2.0),
            y1 = n(y - 7.0),
            t2 = n(W / 2.0 + 18.0),
            y = n(y),
        );
    }
    out.push_str("</svg>");
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use valvo_core::report::StatusCount;
    use valvo_core::{I18nText, Lang};

    pub(crate) fn chapter(counts: [usize; 5]) -> Chapter {
        Chapter {
            org_id: 7,
            org_code: "krc".into(),
            name: I18nText::fi_only("KRC"),
            goals: vec![],
            sections: vec![],
            status_counts: Status::ALL
                .iter()
                .zip(counts)
                .map(|(s, count)| StatusCount { status: *s, count })
                .collect(),
        }
    }

    #[test]
    fn long_labels_wrap_at_spaces_and_only_a_very_long_one_is_shortened() {
        let long = "Hoitoani / asiaani koskevat päätökset tehtiin yhteistyössä kanssani";
        let lines = label_lines(long);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.chars().count() <= LABEL_CHARS));
        assert_eq!(lines.join(" "), long);
        assert_eq!(label_lines("Sain apua"), vec!["Sain apua".to_string()]);
        let very = "sana ".repeat(60);
        let lines = label_lines(&very);
        assert_eq!(lines.len(), LABEL_LINES);
        assert!(lines[LABEL_LINES - 1].ends_with('\u{2026}'));
        assert!(lines.iter().all(|l| l.chars().count() <= LABEL_CHARS));
        let word = "x".repeat(LABEL_CHARS + 5);
        assert_eq!(label_lines(&word).concat(), word);
    }

    #[test]
    fn counts_and_labels() {
        let tr = Tr::new(Lang::En);
        let svg = status_chart(&chapter([3, 2, 1, 0, 4]), &tr);
        assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" role="img""#));
        assert!(svg.ends_with("</svg>"));
        for attr in ["width=\"400\"", "height=\"156\"", "viewBox=\"0 0 400 156\""] {
            assert!(svg.contains(attr), "{attr} in {svg}");
        }
        for label in ["met", "on the way", "off track", "no data", "no target"] {
            assert!(svg.contains(&format!(">{label}</text>")), "{label}");
        }
        for count in [3, 2, 1, 0, 4] {
            assert!(svg.contains(&format!(">{count}</text>")), "{count}");
        }
        // Four bars (none for a zero count); patterns for the four statuses other than "met".
        assert_eq!(
            svg.matches("stroke-width=\"1\"/>").count(),
            4 + 1,
            "bars and axis"
        );
        assert_eq!(svg.matches("<pattern").count(), 4);
        assert!(svg.contains("fill=\"url(#vc-7-en-on_the_way)\""));
        assert!(!svg.contains("style"), "no inline styles");
    }

    #[test]
    fn title_and_desc() {
        let tr = Tr::new(Lang::En);
        let ch = chapter([3, 2, 0, 1, 0]);
        let desc = status_chart_desc(&ch, &tr);
        let parts = "met 3, on the way 2, off track 0, no data 1, no target 0";
        assert_eq!(
            desc,
            tr.t_args(
                "report-status-chart-desc",
                &[("total", arg_num(6.0)), ("parts", arg_str(parts))]
            )
        );
        assert!(desc.contains('6') && desc.contains(parts), "{desc}");
        let svg = status_chart(&ch, &tr);
        assert!(svg.contains(&format!(
            "<desc id=\"vc-7-en-desc\">{}</desc>",
            xml_escape(&desc)
        )));
        assert!(svg.contains(&format!(
            "<title id=\"vc-7-en-title\">{}</title>",
            xml_escape(&tr.t("report-status-chart"))
        )));
        assert!(svg.contains(r#"aria-labelledby="vc-7-en-title vc-7-en-desc""#));
        let sv = Tr::new(Lang::Sv);
        let svg = status_chart(&ch, &sv);
        assert!(
            svg.contains(">uppnått</text>") && svg.contains("uppnått 3, på väg 2"),
            "{svg}"
        );
        assert!(svg.contains(&sv.t("report-status-chart")));
    }

    #[test]
    fn deterministic() {
        let tr = Tr::new(Lang::Fi);
        let a = status_chart(&chapter([1, 5, 2, 0, 3]), &tr);
        let b = status_chart(&chapter([1, 5, 2, 0, 3]), &tr);
        assert_eq!(a, b);
        assert_ne!(a, status_chart(&chapter([1, 5, 2, 1, 3]), &tr));
        // All zero: no bars, no division by zero.
        let empty = status_chart(&chapter([0; 5]), &tr);
        assert!(!empty.contains("NaN") && !empty.contains("inf"));
        assert_eq!(empty.matches(">0</text>").count(), 5);
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            xml_escape(r#"a<b>&"c"'d'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;"
        );
        assert_eq!(xml_escape("x\u{1}y"), "x y");
        let rows = vec![
            (Status::Met, 2, "<b>&</b>".to_string()),
            (Status::NoData, 1, "a & b".to_string()),
        ];
        let svg = chart_svg("p", Lang::Fi, "T<&>", "D <&> \"q\"", &rows);
        assert!(svg.contains(">&lt;b&gt;&amp;&lt;/b&gt;</text>"), "{svg}");
        assert!(svg.contains(">a &amp; b</text>"));
        assert!(svg.contains("<title id=\"p-title\">T&lt;&amp;&gt;</title>"));
        assert!(svg.contains("<desc id=\"p-desc\">D &lt;&amp;&gt; &quot;q&quot;</desc>"));
        assert!(!svg.contains("<b>") && !svg.contains("& "));
        // Ids stay valid for any org id.
        let mut ch = chapter([1, 0, 0, 0, 0]);
        ch.org_id = -3;
        assert!(status_chart(&ch, &Tr::new(Lang::Fi)).contains("id=\"vc--3-fi-title\""));
    }

    #[test]
    fn tables_the_seeds_draw_become_charts_with_their_figures_as_text() {
        use valvo_core::report::{ReportTable, TableCell, TableLabel, TableRow};
        let tr = Tr::new(Lang::Sv);
        let row = |label: &str, cells: Vec<TableCell>| TableRow {
            labels: vec![TableLabel::Text(I18nText::new(
                None,
                Some(label.into()),
                None,
            ))],
            cells,
        };
        let table = |key: &str, rows| ReportTable {
            key: key.into(),
            head: vec![],
            rows,
            total: None,
        };
        let nps = table(
            "fb_languages",
            vec![
                row(
                    "finska",
                    vec![TableCell::Number(Some(13.0)), TableCell::Number(Some(21.0))],
                ),
                row(
                    "svenska",
                    vec![TableCell::Number(Some(-5.0)), TableCell::Number(None)],
                ),
            ],
        );
        let svg = table_chart(&nps, &tr, "pohjanmaa").unwrap();
        assert!(
            svg.contains(r#"role="img""#)
                && svg.contains("<title id=\"tc-pohjanmaa-fb_languages-sv-title\">")
        );
        assert!(
            svg.contains("<desc") && svg.contains("finska: 13 (21); svenska: -5"),
            "{svg}"
        );
        for text in [">13</text>", ">21</text>", ">-5</text>"] {
            assert!(svg.contains(text), "{text} in {svg}");
        }
        // A zero line for negative figures; two bars and a previous one.
        assert!(svg.contains("<line"));
        // Three bars, and the key's two swatches.
        assert_eq!(svg.matches("<rect").count(), 3 + 2);
        let means = table(
            "fb_statements",
            vec![row(
                "Jag fick hjälp",
                vec![TableCell::Mean {
                    value: Some(3.75),
                    previous: Some(3.8),
                }],
            )],
        );
        let svg = table_chart(&means, &tr, "x").unwrap();
        assert!(
            svg.contains(">3,75</text>") && svg.contains(">3,80</text>"),
            "{svg}"
        );
        assert!(table_chart(&table("findings", vec![]), &tr, "x").is_none());
        assert!(!svg.contains("style"), "no inline styles");
    }
}

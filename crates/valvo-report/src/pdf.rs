//! The printable report: a PDF typeset with typst, fonts embedded, offline.
//!
//! The layout is a fixed typst template (`report.typ`). Rust turns the
//! report model into a tree of plain values — every label translated, every
//! number formatted, every user text split into paragraphs and lines — and
//! hands it to the template as `sys.inputs`. User text is therefore never
//! parsed as typst markup and needs no escaping: `#set page(width: 1cm)` in
//! a goal title prints as exactly that.
//!
//! The typst engine (template, library, parsed fonts) is built once per
//! process and shared by all renders.

use std::sync::OnceLock;

use serde_json::{json, Value as J};
use typst::foundations::{Array, Dict, IntoValue, Value};
use typst_as_lib::{TypstAsLibError, TypstEngine, TypstTemplateMainFile};
use typst_layout::PagedDocument;
use valvo_core::report::{
    Chapter, Report, ReportGoal, ReportIndicator, ReportSection, ReportState, SectionKind,
};
use valvo_core::{format_number, Direction, I18nText, Lang};
use valvo_i18n::Tr;

use crate::svg::{status_chart, status_chart_desc};

/// The typst template of the report.
const TEMPLATE: &str = include_str!("report.typ");

/// How the report is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Everything in one language (missing texts fall back to another
    /// language, marked as such).
    Single(Lang),
    /// Both national languages, as the seeds print them: headings in both,
    /// and for each chapter the Swedish goal table, then the Finnish one.
    Bilingual,
}

/// Why a PDF could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// Typesetting failed (a bug in the template or the data handed to it).
    #[error("typesetting the report failed: {0}")]
    Typeset(String),
    /// Writing the PDF failed.
    #[error("writing the PDF failed: {0}")]
    Pdf(String),
}

/// The engine: template, standard library, Inter and the fonts of `typst-assets`
/// parsed once.
fn engine() -> &'static TypstEngine<TypstTemplateMainFile> {
    static ENGINE: OnceLock<TypstEngine<TypstTemplateMainFile>> = OnceLock::new();
    ENGINE.get_or_init(|| {
        TypstEngine::builder()
            .main_file(TEMPLATE)
            .fonts(
                crate::fonts::FONTS
                    .iter()
                    .map(|(_, b)| *b)
                    .chain(typst_assets::fonts())
                    .map(typst::foundations::Bytes::new),
            )
            .build()
    })
}

/// Builds the engine and its fonts now (e.g. at server start) so that the
/// first render is not slower than the others.
pub fn warm_up() {
    let _ = engine();
}

fn diagnostics(diags: &[typst::diag::SourceDiagnostic]) -> String {
    diags
        .iter()
        .map(|d| {
            let hints: Vec<&str> = d.hints.iter().map(|h| h.v.as_str()).collect();
            if hints.is_empty() {
                d.message.to_string()
            } else {
                format!("{} ({})", d.message, hints.join("; "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn typeset_error(e: TypstAsLibError) -> ReportError {
    match e {
        TypstAsLibError::TypstSource(diags) => ReportError::Typeset(diagnostics(&diags)),
        other => ReportError::Typeset(other.to_string()),
    }
}

/// Renders `report` as a PDF.
pub fn render_pdf(report: &Report, layout: Layout) -> Result<Vec<u8>, ReportError> {
    let logo = logo_of(&report.branding).map(|(bytes, _)| bytes);
    compile(document(report, layout), logo)
}

/// typst's name of a logo's image format.
fn logo_format(media_type: &str) -> &'static str {
    match media_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        _ => "svg",
    }
}

/// Whether a logo can be set in a report (the image decodes): tried on a
/// page of its own before the logo is kept.
pub fn logo_renders(bytes: &[u8], media_type: &str) -> bool {
    let doc = json!({
        "lang": "fi", "title": "logo", "author": "", "page_label": "",
        "colour": "#0000bf",
        "logo": {"format": logo_format(media_type), "alt": "logo"},
        "blocks": [{"kind": "logo", "lang": "fi"}],
    });
    compile(doc, Some(bytes)).is_ok()
}

/// Typesets a view model with the report layout into a PDF; `logo` is the
/// county's logo image, if the model shows one.
fn compile(doc: J, logo: Option<&[u8]>) -> Result<Vec<u8>, ReportError> {
    let mut inputs = Dict::new();
    inputs.insert("doc".into(), to_typst(doc));
    if let Some(bytes) = logo {
        inputs.insert(
            "logo".into(),
            typst::foundations::Value::Bytes(typst::foundations::Bytes::new(bytes.to_vec())),
        );
    }
    let compiled: PagedDocument = engine()
        .compile_with_input(inputs)
        .output
        .map_err(typeset_error)?;
    // PDF/UA-1 when the text allows it: it fails, for example, on a
    // character that no embedded font has (an emoji). Then the PDF is
    // written without the claim, still tagged.
    if let Ok(standards) = typst_pdf::PdfStandards::new(&[typst_pdf::PdfStandard::Ua_1]) {
        let options = typst_pdf::PdfOptions {
            standards,
            ..Default::default()
        };
        if let Ok(pdf) = typst_pdf::pdf(&compiled, &options) {
            return Ok(without_false_suspects(pdf));
        }
    }
    typst_pdf::pdf(&compiled, &typst_pdf::PdfOptions::default())
        .map(without_false_suspects)
        .map_err(|d| ReportError::Pdf(diagnostics(&d)))
}

/// Blanks `/Suspects false` out of the catalog's mark information. It says
/// what leaving it out says (false is the default), but poppler, which
/// many readers and converters use, reports it as a syntax error ("Suspects
/// object is wrong type"). Spaces of the same length keep every byte
/// offset of the cross-reference table right.
fn without_false_suspects(mut pdf: Vec<u8>) -> Vec<u8> {
    const ENTRY: &[u8] = b"/Suspects false";
    // The catalog is written uncompressed; the entry is in it once.
    if let Some(at) = pdf.windows(ENTRY.len()).position(|w| w == ENTRY) {
        pdf[at..at + ENTRY.len()].fill(b' ');
    }
    pdf
}

/// A document other than the periodic report, in one language: a title
/// page, then parts with a heading, paragraphs, tables and a note (the
/// inspection report of a supervision visit, the ombudsperson's annual
/// report). Every text is given already in `lang`.
#[derive(Clone, Debug, Default)]
pub struct PlainDocument {
    /// The document's title (also the PDF's).
    pub title: String,
    /// The unit it is about.
    pub org: String,
    /// The county.
    pub county: String,
    /// Label–value lines under the title.
    pub meta: Vec<(String, String)>,
    /// The parts.
    pub parts: Vec<PlainPart>,
    /// The county's colour, contact details and logo (with its image), as
    /// on its periodic report.
    pub branding: valvo_core::branding::Branding,
}

/// A part of a [`PlainDocument`].
#[derive(Clone, Debug, Default)]
pub struct PlainPart {
    /// Heading.
    pub heading: String,
    /// Paragraphs (blank lines in one split it further).
    pub paragraphs: Vec<String>,
    /// Tables (their labels translated in the document's language).
    pub tables: Vec<valvo_core::report::ReportTable>,
    /// A note in small print.
    pub note: String,
}

/// Renders a [`PlainDocument`] in `lang` as a tagged PDF.
pub fn render_plain_pdf(doc: &PlainDocument, lang: Lang) -> Result<Vec<u8>, ReportError> {
    let tr = Tr::new(lang);
    let code = lang.code();
    let mut blocks: Vec<J> = vec![json!({
        "kind": "front",
        "lang": code,
        "titles": [(code, flat(&doc.title))],
        "orgs": [(code, flat(&doc.org))],
        "counties": if doc.county.is_empty() || doc.county == doc.org { vec![] } else { vec![(code, flat(&doc.county))] },
        "meta": doc.meta.iter().map(|(k, v)| (flat(k), flat(v))).collect::<Vec<_>>(),
        "contact_label": tr.t("report-contact"),
        "contact": doc.branding.contact.resolve(lang).map(|r| {
            let lines: Vec<String> = r.text.lines().map(flat).filter(|l| !l.is_empty()).collect();
            vec![(r.lang.code(), lines)]
        }).unwrap_or_default(),
    })];
    for part in &doc.parts {
        blocks.push(heading(2, flat(&part.heading), lang, true));
        for p in &part.paragraphs {
            let paras = paras_of(p, "", None);
            if !paras.is_empty() {
                blocks.push(paras_block(paras, lang));
            }
        }
        for table in &part.tables {
            let label = |l: &valvo_core::report::TableLabel| flat(&l.text(lang, &|k| tr.t(k)));
            let row = |r: &valvo_core::report::TableRow| -> Vec<String> {
                r.labels
                    .iter()
                    .map(label)
                    .chain(table.cell_texts(r, lang))
                    .collect()
            };
            let mut rows: Vec<Vec<String>> = table.rows.iter().map(row).collect();
            if let Some(t) = &table.total {
                rows.push(row(t));
            }
            blocks.push(json!({
                "kind": "table",
                "lang": code,
                "caption": tr.t(&format!("report-table-{}", table.key)),
                "labels": table.rows.first().map_or(1, |r| r.labels.len()),
                "total": table.total.is_some(),
                "cols": table.head.iter().map(label).collect::<Vec<_>>(),
                "rows": rows,
            }));
        }
        if !part.note.is_empty() {
            blocks.push(json!({"kind": "note", "lang": code, "text": flat(&part.note)}));
        }
    }
    let model = json!({
        "lang": code,
        "title": flat(&doc.title),
        "author": flat(&doc.county),
        "header_left": flat(&doc.county),
        "header_right": flat(&doc.title),
        "page_label": tr.t("report-page"),
        "colour": doc.branding.colour.clone().unwrap_or_else(|| "#0000bf".to_owned()),
        "logo": logo_of(&doc.branding).map(|(_, format)| json!({"format": format, "alt": flat(&doc.county)})),
        "blocks": blocks,
    });
    let image = logo_of(&doc.branding).map(|(bytes, _)| bytes);
    compile(model, image)
}

/// The logo's image and its typst format, when the branding has one.
fn logo_of(branding: &valvo_core::branding::Branding) -> Option<(&[u8], &'static str)> {
    branding
        .logo
        .as_ref()
        .filter(|l| !l.data.is_empty())
        .map(|l| (l.data.as_slice(), logo_format(&l.media_type)))
}

/// Converts the JSON view model into typst values.
fn to_typst(v: J) -> Value {
    match v {
        J::Null => Value::None,
        J::Bool(b) => b.into_value(),
        J::Number(n) => match n.as_i64() {
            Some(i) => i.into_value(),
            None => n.as_f64().unwrap_or(0.0).into_value(),
        },
        J::String(s) => s.into_value(),
        J::Array(a) => Value::Array(a.into_iter().map(to_typst).collect::<Array>()),
        J::Object(o) => Value::Dict(
            o.into_iter()
                .map(|(k, v)| (k.into(), to_typst(v)))
                .collect::<Dict>(),
        ),
    }
}

// ---------------------------------------------------------------------------
// The view model.

/// A span of a line: (style, text) with style "" (plain), "b" or "i".
type Span = (&'static str, String);
/// A line of spans.
type Line = Vec<Span>;
/// A paragraph: lines separated by line breaks.
type Para = Vec<Line>;

/// The languages of a layout, in print order, and the document language.
fn langs(layout: Layout) -> (Vec<Lang>, Lang) {
    match layout {
        Layout::Single(l) => (vec![l], l),
        Layout::Bilingual => (vec![Lang::Sv, Lang::Fi], Lang::Fi),
    }
}

/// "(på finska)": the mark of a text shown in another language than `tr`'s.
fn fallback_mark(tr: &Tr, shown: Lang) -> String {
    format!("({})", tr.t(&format!("fallback-{}", shown.code())))
}

/// Drops control characters other than line breaks (tabs become spaces).
fn clean(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .filter_map(|c| match c {
            '\n' | '\r' => Some('\n'),
            '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// Splits a text into paragraphs (at blank lines) of lines.
fn split_paras(s: &str) -> Vec<Vec<String>> {
    let s = clean(s);
    let mut out: Vec<Vec<String>> = vec![];
    let mut cur: Vec<String> = vec![];
    for line in s.split('\n') {
        let line = line.trim_end();
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(line.to_owned());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// One line of text (line breaks become spaces).
fn flat(s: &str) -> String {
    clean(s).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `t` in `tr`'s language as one line, with the fallback mark if needed.
fn one_line(t: &I18nText, tr: &Tr, style: &'static str) -> Option<Line> {
    let r = t.resolve(tr.lang())?;
    let mut line = vec![(style, flat(r.text))];
    if r.fallback {
        line.push(("i", format!(" {}", fallback_mark(tr, r.lang))));
    }
    Some(line)
}

/// `t` in `tr`'s language as one plain string, with the fallback mark.
fn plain(t: &I18nText, tr: &Tr) -> String {
    one_line(t, tr, "")
        .map(|l| l.into_iter().map(|s| s.1).collect())
        .unwrap_or_default()
}

/// The paragraphs of `text`, `style` given to every span, with `mark`
/// (a fallback mark) after the last line.
fn paras_of(text: &str, style: &'static str, mark: Option<String>) -> Vec<Para> {
    let mut paras: Vec<Para> = split_paras(text)
        .into_iter()
        .map(|p| p.into_iter().map(|l| vec![(style, l)]).collect())
        .collect();
    if let Some(mark) = mark {
        if let Some(last) = paras.last_mut().and_then(|p| p.last_mut()) {
            last.push(("i", format!(" {mark}")));
        }
    }
    paras
}

/// `t` in `tr`'s language as paragraphs, marked when it falls back.
fn resolved_paras(t: &I18nText, tr: &Tr) -> Vec<Para> {
    match t.resolve(tr.lang()) {
        Some(r) => paras_of(r.text, "", r.fallback.then(|| fallback_mark(tr, r.lang))),
        None => vec![],
    }
}

/// The paragraphs of `t` for the `tr.lang()` part of a layout. In the
/// bilingual layout each language part shows only its own language, so that
/// a text written in one language is not printed twice; a text in neither
/// national language is shown once (in the first part), marked.
fn part_paras(t: &I18nText, tr: &Tr, layout: Layout) -> Vec<Para> {
    match layout {
        Layout::Single(_) => resolved_paras(t, tr),
        Layout::Bilingual => match t.get(tr.lang()) {
            Some(s) => paras_of(s, "", None),
            None if tr.lang() == Lang::Sv && !t.has_national() => resolved_paras(t, tr),
            None => vec![],
        },
    }
}

/// The same thing in several languages joined for a bilingual heading:
/// "Kund- och resurscenter – Asiakas- ja resurssikeskus"; repeated
/// versions are printed once.
fn joined(parts: Vec<String>, sep: &str) -> String {
    let mut out: Vec<String> = vec![];
    for p in parts {
        if !p.is_empty() && !out.contains(&p) {
            out.push(p);
        }
    }
    out.join(sep)
}

/// A user text for a heading: each language of the layout (falling back
/// and marked when none of them has it).
fn heading_text(t: &I18nText, trs: &[Tr]) -> String {
    let Some(first) = trs.first() else {
        return String::new();
    };
    if trs.len() == 1 {
        return plain(t, first);
    }
    let s = joined(
        trs.iter()
            .filter_map(|tr| t.get(tr.lang()).map(flat))
            .collect(),
        " \u{2013} ",
    );
    if s.is_empty() {
        plain(t, first)
    } else {
        s
    }
}

/// A UI message in each language of the layout, joined.
fn msg(trs: &[Tr], key: &str, sep: &str) -> String {
    joined(trs.iter().map(|tr| tr.t(key)).collect(), sep)
}

/// An RFC 3339 time for people, in Finnish time: `15.8.2024 12:30` (ISO
/// date in English).
fn human_time(s: &str, lang: Lang) -> String {
    valvo_core::period::format_time(s, lang)
}

fn heading(level: u8, text: String, lang: Lang, outlined: bool) -> J {
    json!({"kind": "heading", "level": level, "text": text, "lang": lang.code(), "outlined": outlined})
}

fn paras_block(paras: Vec<Para>, lang: Lang) -> J {
    json!({"kind": "paras", "paras": paras, "lang": lang.code()})
}

/// The whole view model handed to the template.
fn document(report: &Report, layout: Layout) -> J {
    let (order, doc_lang) = langs(layout);
    let trs: Vec<Tr> = order.iter().map(|l| Tr::new(*l)).collect();
    let first = order.first().copied().unwrap_or(Lang::Fi);
    let dash = " \u{2013} ";
    let period = report.period.label();
    let org = heading_text(&report.org_name, &trs);
    let title = format!("{}: {org}, {period}", msg(&trs, "report-title", dash));
    let mut blocks: Vec<J> = vec![];

    // Title page.
    let versions = |t: &I18nText| -> Vec<(String, String)> {
        match layout {
            Layout::Single(l) => vec![(l.code().to_owned(), plain(t, &Tr::new(l)))],
            Layout::Bilingual => {
                let mut v: Vec<(String, String)> = vec![];
                for tr in &trs {
                    if let Some(s) = t.get(tr.lang()) {
                        if !v.iter().any(|(_, x)| x == s) {
                            v.push((tr.lang().code().to_owned(), flat(s)));
                        }
                    }
                }
                if v.is_empty() {
                    v.push((first.code().to_owned(), heading_text(t, &trs)));
                }
                v
            }
        }
    };
    let titles: Vec<(String, String)> = trs
        .iter()
        .map(|tr| (tr.lang().code().to_owned(), tr.t("report-title")))
        .collect();
    let slash = " / ";
    let mut meta: Vec<(String, String)> = vec![(msg(&trs, "report-period", slash), period.clone())];
    // A live preview (version 0) is no version of the report.
    if report.version > 0 {
        meta.push((
            msg(&trs, "report-version", slash),
            report.version.to_string(),
        ));
    }
    meta.extend([
        (
            msg(&trs, "report-state", slash),
            msg(
                &trs,
                &format!("report-state-{}", report.state.code()),
                slash,
            ),
        ),
        (
            msg(&trs, "report-generated", slash),
            human_time(&report.generated_at, first),
        ),
    ]);
    if let Some(by) = &report.approved_by {
        meta.push((msg(&trs, "report-approved-by", slash), flat(by)));
    }
    if let Some(at) = &report.published_at {
        meta.push((
            msg(&trs, "report-published-at", slash),
            human_time(at, first),
        ));
    }
    // The county's contact details, line by line, in the layout's languages.
    let contact: Vec<(String, Vec<String>)> = {
        let c = &report.branding.contact;
        let mut v: Vec<(String, Vec<String>)> = vec![];
        let texts: Vec<(Lang, &str)> = match layout {
            Layout::Single(l) => c.resolve(l).map(|r| (r.lang, r.text)).into_iter().collect(),
            Layout::Bilingual => trs
                .iter()
                .filter_map(|tr| c.get(tr.lang()).map(|t| (tr.lang(), t)))
                .collect(),
        };
        for (l, t) in texts {
            let lines: Vec<String> = t
                .lines()
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect();
            if !lines.is_empty() && !v.iter().any(|(_, x)| *x == lines) {
                v.push((l.code().to_owned(), lines));
            }
        }
        v
    };
    blocks.push(json!({
        "kind": "front",
        "lang": first.code(),
        "titles": titles,
        "orgs": versions(&report.org_name),
        "counties": if report.county_name == report.org_name { vec![] } else { versions(&report.county_name) },
        "meta": meta,
        "contact_label": msg(&trs, "report-contact", slash),
        "contact": contact,
    }));
    // Contents only where there is much to find: a short report is read
    // from its start.
    if report.chapters.len() >= 3 {
        blocks.push(json!({"kind": "outline", "lang": first.code(), "title": msg(&trs, "report-contents", dash)}));
    }

    // Summary.
    if !report.summary.is_empty() {
        blocks.push(heading(1, msg(&trs, "report-summary", dash), first, true));
        for tr in &trs {
            let paras = part_paras(&report.summary, tr, layout);
            if !paras.is_empty() {
                blocks.push(paras_block(paras, tr.lang()));
            }
        }
    }

    // Before the chapters of a county: its areas at a glance.
    let overview = report.overview();
    if !overview.is_empty() {
        blocks.push(heading(1, msg(&trs, "report-overview", dash), first, true));
        for t in &overview {
            blocks.push(table_block(t, &trs));
        }
    }

    for (i, chapter) in report.chapters.iter().enumerate() {
        // The county's own chapter without a plan of its own: its figures
        // only (the overview has said what its areas' plans show).
        let own_plan = i > 0 || overview.is_empty() || !chapter.goals.is_empty();
        chapter_blocks(&mut blocks, chapter, report, layout, &trs, own_plan);
    }

    json!({
        "lang": doc_lang.code(),
        "title": title,
        "author": heading_text(&report.county_name, &trs),
        "header_left": heading_text(&report.county_name, &trs),
        "header_right": format!("{} {period}", msg(&trs, "report-title", slash)),
        // Not approved yet: every page says so.
        "watermark": match report.state {
            ReportState::Draft | ReportState::Submitted => {
                J::from(trs.iter().map(|tr| tr.t("report-watermark-draft")).collect::<Vec<_>>())
            }
            ReportState::Approved | ReportState::Published => J::Null,
        },
        "page_label": msg(&trs, "report-page", slash),
        // The county's colour (Valvo's own when it has none) and logo.
        "colour": report.branding.colour.clone().unwrap_or_else(|| "#0000bf".to_owned()),
        "logo": logo_of(&report.branding).map(|(_, format)| json!({
            "format": format,
            "alt": heading_text(&report.county_name, &trs),
        })),
        "blocks": blocks,
    })
}

fn chapter_blocks(
    blocks: &mut Vec<J>,
    chapter: &Chapter,
    report: &Report,
    layout: Layout,
    trs: &[Tr],
    own_plan: bool,
) {
    let dash = " \u{2013} ";
    let first = trs.first().map(Tr::lang).unwrap_or(Lang::Fi);
    let name = heading_text(&chapter.name, trs);
    let name = if name.is_empty() {
        chapter.org_code.clone()
    } else {
        name
    };
    blocks.push(heading(1, name, first, true));

    if !own_plan {
        if !chapter.sections.is_empty() {
            blocks.push(heading(2, msg(trs, "report-sections", dash), first, true));
            for section in &chapter.sections {
                section_blocks(blocks, section, layout, trs, &chapter.org_code);
            }
        }
        return;
    }
    // Status chart, one per language, side by side.
    let width = if trs.len() == 1 { 60 } else { 100 };
    let charts: Vec<J> = trs
        .iter()
        .map(|tr| {
            json!({
                "lang": tr.lang().code(),
                "svg": status_chart(chapter, tr),
                "alt": format!("{} {}", tr.t("report-status-chart"), status_chart_desc(chapter, tr)),
                "width": width,
            })
        })
        .collect();
    blocks.push(heading(
        2,
        msg(trs, "report-status-chart", dash),
        first,
        false,
    ));
    blocks.push(json!({"kind": "charts", "lang": first.code(), "charts": charts}));

    // Goals: one table per language.
    for tr in trs {
        let lang = tr.lang();
        blocks.push(heading(2, tr.t("report-goals"), lang, true));
        if chapter.goals.is_empty() {
            blocks.push(paras_block(
                paras_of(&tr.t("report-no-goals"), "", None),
                lang,
            ));
            continue;
        }
        let cols = vec![
            tr.t("col-goal"),
            tr.t("col-indicators"),
            tr.t("col-actions"),
            format!("{} {}", tr.t("col-follow-up"), report.period.label()),
        ];
        let rows: Vec<Vec<Vec<Para>>> = chapter
            .goals
            .iter()
            .map(|g| fit_columns(goal_row(g, tr)))
            .collect();
        blocks.push(json!({"kind": "goals", "lang": lang.code(), "cols": cols, "rows": rows}));
        // The note explains brackets only where some value has them.
        let bracketed = chapter
            .goals
            .iter()
            .flat_map(|g| &g.indicators)
            .any(|i| i.previous_figure().is_some());
        if bracketed {
            blocks.push(
                json!({"kind": "note", "lang": lang.code(), "text": tr.t("report-previous-note")}),
            );
        }
    }

    // Sections.
    if !chapter.sections.is_empty() {
        blocks.push(heading(2, msg(trs, "report-sections", dash), first, true));
        for section in &chapter.sections {
            section_blocks(blocks, section, layout, trs, &chapter.org_code);
        }
    }
}

/// A table, and its chart when the seeds draw one (one per language of the
/// layout, side by side).
fn table_blocks(
    blocks: &mut Vec<J>,
    table: &valvo_core::report::ReportTable,
    trs: &[Tr],
    id: &str,
) {
    let mut block = table_block(table, trs);
    // The chart's text at the size of the report's small type: the SVG is
    // 400 wide with 13 px text, drawn at this share of the text width.
    let width = if trs.len() == 1 { 56 } else { 70 };
    let charts: Vec<J> = trs
        .iter()
        .filter_map(|tr| {
            let svg = crate::svg::table_chart(table, tr, id)?;
            Some(json!({
                "lang": tr.lang().code(),
                "svg": svg,
                "alt": tr.t(&format!("report-table-{}", table.key)),
                "width": width,
            }))
        })
        .collect();
    if charts.is_empty() {
        blocks.push(block);
    } else {
        // The table keeps with a short chart; a tall one (the eight
        // statements) may begin the next page rather than push the table
        // there and leave this one two thirds empty.
        block["sticky"] = J::Bool(table.rows.len() <= 6);
        blocks.push(block);
        let first = trs.first().map(Tr::lang).unwrap_or(Lang::Fi);
        blocks.push(json!({"kind": "charts", "lang": first.code(), "charts": charts}));
    }
}

/// A module's (or the overview's) table: labels in every language of the
/// layout, cells in the first.
fn table_block(table: &valvo_core::report::ReportTable, trs: &[Tr]) -> J {
    let slash = " / ";
    let first = trs.first().map(Tr::lang).unwrap_or(Lang::Fi);
    let label = |l: &valvo_core::report::TableLabel| {
        joined(
            trs.iter()
                .map(|tr| l.text(tr.lang(), &|k| tr.t(k)))
                .collect(),
            slash,
        )
    };
    let row = |r: &valvo_core::report::TableRow| -> Vec<String> {
        r.labels
            .iter()
            .map(label)
            .chain(table.cell_texts(r, first))
            .collect()
    };
    let cols: Vec<String> = table.head.iter().map(label).collect();
    let mut rows: Vec<Vec<String>> = table.rows.iter().map(row).collect();
    if let Some(t) = &table.total {
        rows.push(row(t));
    }
    json!({
        "kind": "table",
        "lang": first.code(),
        "caption": msg(trs, &format!("report-table-{}", table.key), slash),
        "labels": table.rows.first().map_or(1, |r| r.labels.len()),
        "total": table.total.is_some(),
        "cols": cols,
        "rows": rows,
    })
}

/// "Baseline 40, Target 100" (a band's target as "5–10").
fn target_line(i: &ReportIndicator, tr: &Tr) -> Option<Line> {
    let lang = tr.lang();
    let mut parts: Vec<String> = vec![];
    let num = |v: f64| i.display_number(v, lang);
    if let Some(b) = i.baseline {
        parts.push(format!("{} {}", tr.t("baseline"), num(b)));
    }
    let target = match (i.direction, i.target, i.target_max) {
        (Direction::Band, Some(lo), Some(hi)) => Some(format!("{}\u{2013}{}", num(lo), num(hi))),
        (_, Some(t), _) => Some(num(t)),
        (Direction::Band, None, Some(hi)) => Some(format!("\u{2264} {}", num(hi))),
        _ => None,
    };
    if let Some(t) = target {
        parts.push(format!("{} {t}", tr.t("target")));
    }
    (!parts.is_empty()).then(|| vec![("", parts.join(", "))])
}

fn indicator_para(i: &ReportIndicator, tr: &Tr) -> Para {
    let lang = tr.lang();
    let mut para: Para = vec![];
    let mut name = one_line(&i.name, tr, "b").unwrap_or_else(|| vec![("b", "\u{2013}".to_owned())]);
    if let Some(unit) = i.shown_unit().resolve(lang) {
        name.insert(1, ("", format!(" ({})", flat(unit.text))));
    }
    para.push(name);
    if let Some(t) = target_line(i, tr) {
        para.push(t);
    }
    let value_label = match i.value_period {
        Some(p) => format!("{} {}", tr.t("value"), p.label()),
        None => tr.t("value"),
    };
    para.push(vec![(
        "",
        format!("{value_label}: {}", i.display_value(lang)),
    )]);
    para.push(vec![
        ("", format!("{}: ", tr.t("field-status"))),
        ("b", tr.t(&format!("status-{}", i.status.code()))),
    ]);
    if let Some(mut note) = one_line(&i.note, tr, "i") {
        if let Some(first) = note.first_mut() {
            first.0 = "i";
        }
        para.push(note);
    }
    para
}

/// The inner widths of the goal table's columns in points (report.typ:
/// 17 cm shared 1 : 1,35 : 1,35 : 1,6, less the cell's 2 × 5 pt inset).
const GOAL_COLUMNS_PT: [f64; 4] = [80.9, 112.8, 112.8, 135.5];

/// A word's width at the goal table's 8,5 pt in Inter, estimated from its
/// letters (capitals and bold are wider).
fn word_width(word: &str, bold: bool) -> f64 {
    let em: f64 = word
        .chars()
        .map(|c| if c.is_uppercase() { 0.68 } else { 0.56 })
        .sum();
    em * 8.5 * if bold { 1.07 } else { 1.0 }
}

/// Gives a word too wide for its column a smaller size (styles `s`: 80 %,
/// `x`: 65 %, after `b`/`i`), so that a compound word such as
/// "verksamhetsområdesöverskridande" stays in its cell and stays one word.
/// Decided here, not by the template: measuring in typst doubled the time
/// to typeset the county's report.
fn fit_columns(row: Vec<Vec<Para>>) -> Vec<Vec<Para>> {
    row.into_iter()
        .enumerate()
        .map(|(col, paras)| {
            let limit = GOAL_COLUMNS_PT.get(col).copied().unwrap_or(f64::MAX);
            paras
                .into_iter()
                .map(|para| {
                    para.into_iter()
                        .map(|line| {
                            let mut out: Line = Vec::new();
                            for (style, text) in line {
                                let bold = style == "b";
                                let too_wide = |w: &str| word_width(w, bold) > limit;
                                if !text.split_whitespace().any(too_wide) {
                                    out.push((style, text));
                                    continue;
                                }
                                // Split the span around each word too wide.
                                let mut rest = String::new();
                                for piece in text.split_inclusive(char::is_whitespace) {
                                    let word = piece.trim_end();
                                    if too_wide(word) {
                                        if !rest.is_empty() {
                                            out.push((style, std::mem::take(&mut rest)));
                                        }
                                        let w = word_width(word, bold);
                                        let small = match (style, w * 0.8 <= limit) {
                                            ("b", true) => "bs",
                                            ("b", false) => "bx",
                                            ("i", true) => "is",
                                            ("i", false) => "ix",
                                            (_, true) => "s",
                                            (_, false) => "x",
                                        };
                                        out.push((small, word.to_owned()));
                                        rest.push_str(&piece[word.len()..]);
                                    } else {
                                        rest.push_str(piece);
                                    }
                                }
                                if !rest.is_empty() {
                                    out.push((style, rest));
                                }
                            }
                            out
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

fn goal_row(g: &ReportGoal, tr: &Tr) -> Vec<Vec<Para>> {
    let dash = || vec![vec![vec![("", "\u{2013}".to_owned())]]];
    let goal = vec![
        vec![one_line(&g.title, tr, "b").unwrap_or_else(|| vec![("b", "\u{2013}".to_owned())])],
        vec![vec![("i", tr.t(&format!("area-{}", g.area.code())))]],
    ];
    let indicators: Vec<Para> = g.indicators.iter().map(|i| indicator_para(i, tr)).collect();
    let actions: Vec<Para> = g
        .actions
        .iter()
        .map(|a| {
            let mut p = resolved_paras(&a.text, tr);
            if p.is_empty() {
                p.push(vec![vec![("", "\u{2013}".to_owned())]]);
            }
            let status = format!(" ({})", tr.t(&format!("action-{}", a.status.code())));
            if let Some(last) = p.last_mut().and_then(|p| p.last_mut()) {
                last.push(("i", status));
            }
            p.into_iter().flatten().collect::<Para>()
        })
        .collect();
    let mut follow: Vec<Para> = resolved_paras(&g.review, tr);
    for i in &g.indicators {
        let name = plain(&i.name, tr);
        for (key, text) in [
            ("field-assessment", &i.assessment),
            ("field-corrective", &i.corrective),
        ] {
            let body = resolved_paras(text, tr);
            if body.is_empty() {
                continue;
            }
            follow.push(vec![vec![("b", format!("{} \u{2013} {name}:", tr.t(key)))]]);
            follow.extend(body);
        }
    }
    let or_dash = |c: Vec<Para>| if c.is_empty() { dash() } else { c };
    vec![goal, or_dash(indicators), or_dash(actions), or_dash(follow)]
}

fn section_blocks(
    blocks: &mut Vec<J>,
    section: &ReportSection,
    layout: Layout,
    trs: &[Tr],
    id: &str,
) {
    let dash = " \u{2013} ";
    let slash = " / ";
    let first = trs.first().map(Tr::lang).unwrap_or(Lang::Fi);
    let kind = section.kind.code();
    blocks.push(heading(
        3,
        msg(trs, &format!("report-section-{kind}"), dash),
        first,
        false,
    ));
    let sub_headings = section.kind == SectionKind::Participation;
    for tr in trs {
        for t in &section.texts {
            let paras = part_paras(&t.text, tr, layout);
            if paras.is_empty() {
                continue;
            }
            if sub_headings {
                blocks.push(heading(
                    4,
                    tr.t(&format!("report-text-{}", t.key)),
                    tr.lang(),
                    false,
                ));
            }
            blocks.push(paras_block(paras, tr.lang()));
        }
    }
    if !section.figures.is_empty() {
        let cols = vec![
            msg(trs, "report-col-figure", slash),
            msg(trs, "report-col-value", slash),
            msg(trs, "report-col-previous", slash),
        ];
        let num = |v: Option<f64>| {
            v.map(|x| format_number(x, first))
                .unwrap_or_else(|| "\u{2013}".to_owned())
        };
        let rows: Vec<Vec<String>> = section
            .figures
            .iter()
            .map(|f| {
                vec![
                    msg(trs, &format!("report-fig-{}", f.key), slash),
                    num(f.value),
                    num(f.previous),
                ]
            })
            .collect();
        blocks.push(json!({"kind": "figures", "lang": first.code(), "cols": cols, "rows": rows}));
    }
    for table in &section.tables {
        table_blocks(blocks, table, trs, id);
    }
    // Where the figures come from, after them: the heading stays with its
    // first table.
    if section.source != "manual" {
        blocks.push(json!({
            "kind": "note",
            "lang": first.code(),
            "text": msg(trs, &format!("report-source-{}", section.source), slash),
        }));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use valvo_core::plan::{ActionStatus, Area};
    use valvo_core::report::{ReportAction, ReportFigure, ReportState, ReportText, StatusCount};
    use valvo_core::Status;

    pub(crate) fn t(fi: &str, sv: &str) -> I18nText {
        I18nText::new(Some(fi.into()), Some(sv.into()), None)
    }

    fn indicator(
        name: I18nText,
        unit: &str,
        baseline: f64,
        target: f64,
        value: f64,
        previous: Option<f64>,
        status: Status,
    ) -> ReportIndicator {
        ReportIndicator {
            id: 1,
            name,
            unit: t(unit, unit),
            direction: if target < baseline {
                Direction::Lower
            } else {
                Direction::Higher
            },
            baseline: Some(baseline),
            target: Some(target),
            target_max: None,
            note: I18nText::default(),
            value: Some(value),
            value_period: Some("2024H1".parse().unwrap()),
            previous,
            status,
            value_kind: valvo_core::ValueKind::Number,
            parts: None,
            text: None,
            previous_parts: None,
            previous_text: None,
            reference: None,
            assessment: I18nText::default(),
            corrective: I18nText::default(),
        }
    }

    fn counts(goals: &[ReportGoal]) -> Vec<StatusCount> {
        Status::ALL
            .iter()
            .map(|s| StatusCount {
                status: *s,
                count: goals
                    .iter()
                    .flat_map(|g| &g.indicators)
                    .filter(|i| i.status == *s)
                    .count(),
            })
            .collect()
    }

    /// A realistic two-chapter report (after seed 002).
    pub(crate) fn sample_report() -> Report {
        let mut sick = indicator(
            t(
                "Poissaoloprosentti: sairaus, tapaturma, kuntoutus",
                "Frånvaroprocent: sjukdom, olycksfall, rehabilitering",
            ),
            "%",
            5.0,
            4.8,
            3.7,
            Some(4.1),
            Status::Met,
        );
        sick.assessment = t(
            "Poissaoloprosentti oli keskimäärin 3,7 %.",
            "Frånvaroprocenten var i genomsnitt 3,7 %.",
        );
        let temporary = indicator(
            t("Määräaikaisten osuus", "Antalet anställda på viss tid"),
            "%",
            50.0,
            30.0,
            43.0,
            None,
            Status::OnTheWay,
        );
        let mut users = indicator(
            t(
                "Puheentunnistuksen aktiivisten käyttäjien määrä",
                "Antalet aktiva användare av taligenkänning",
            ),
            "hlö",
            40.0,
            100.0,
            70.0,
            Some(45.0),
            Status::OnTheWay,
        );
        users.unit = I18nText::new(
            Some("hlö".into()),
            Some("pers.".into()),
            Some("persons".into()),
        );
        let personnel = ReportGoal {
            area: Area::Personnel,
            title: t("Riittävät henkilöstöresurssit ja henkilöstön hyvinvointi", "Tillräckliga personalresurser och välmående hos personalen"),
            indicators: vec![temporary, sick],
            actions: vec![
                ReportAction { text: t("Aktiivinen yhteistyö oppilaitosten kanssa", "Aktivt samarbete med läroanstalter"), status: ActionStatus::Ongoing },
                ReportAction { text: I18nText::fi_only("Resurssiyksikön käyttöohjeiden jalkauttaminen"), status: ActionStatus::Done },
            ],
            review: t(
                "Kokonaisuutena henkilöstöä onnistuttiin rekrytoimaan kriittisimpiin tarpeisiin.\n\nMääräaikaisten osuus oli keskimäärin 43 %.",
                "Helhetsmässigt betraktat lyckades man rekrytera personal för att bemöta det mest kritiska behovet.\n\nAndelen visstidsanställda var i genomsnitt 43 %.",
            ),
        };
        let digital = ReportGoal {
            area: Area::Access,
            title: t(
                "Digitaalisten välineiden käyttöönotto lisääntyy ja vakiintuu",
                "Införandet av digitala verktyg ökar och etableras",
            ),
            indicators: vec![users],
            actions: vec![ReportAction {
                text: t("Sotenderin laajennus", "Expansion av Sotender"),
                status: ActionStatus::Planned,
            }],
            review: I18nText::default(),
        };
        let goals1 = vec![digital, personnel];
        let ch1 = Chapter {
            org_id: 2,
            org_code: "krc".into(),
            name: I18nText::new(
                Some("Asiakas- ja resurssikeskus".into()),
                Some("Kund- och resurscenter".into()),
                Some("Customer and Resource Centre".into()),
            ),
            status_counts: counts(&goals1),
            goals: goals1,
            sections: vec![
                ReportSection {
                    kind: SectionKind::Participation,
                    source: "manual".into(),
                    texts: vec![ReportText {
                        key: "how".into(),
                        text: t(
                            "Asiakasraati kokoontuu kuukausittain.",
                            "Klientrådet möts varje månad.",
                        ),
                    }],
                    figures: vec![],
                    tables: vec![],
                },
                ReportSection {
                    kind: SectionKind::Personnel,
                    source: "manual".into(),
                    texts: vec![],
                    figures: vec![
                        ReportFigure {
                            key: "headcount".into(),
                            value: Some(120.0),
                            previous: Some(118.0),
                        },
                        ReportFigure {
                            key: "sick_leave_pct".into(),
                            value: Some(4.8),
                            previous: None,
                        },
                    ],
                    tables: vec![],
                },
            ],
        };
        let goals2 = vec![ReportGoal {
            area: Area::Safety,
            title: I18nText::fi_only("Vaaratapahtumat käsitellään ajallaan"),
            indicators: vec![indicator(
                t("Käsittelemättömät ilmoitukset", "Obehandlade anmälningar"),
                "kpl",
                20.0,
                5.0,
                12.0,
                Some(15.0),
                Status::OnTheWay,
            )],
            actions: vec![],
            review: I18nText::default(),
        }];
        let ch2 = Chapter {
            org_id: 3,
            org_code: "sos".into(),
            name: t("Sosiaalipalvelut", "Socialservice"),
            status_counts: counts(&goals2),
            goals: goals2,
            sections: vec![],
        };
        Report {
            id: 1,
            org_id: 1,
            org_code: "pohjanmaa".into(),
            org_name: I18nText::new(
                Some("Pohjanmaan hyvinvointialue".into()),
                Some("Österbottens välfärdsområde".into()),
                None,
            ),
            county_name: I18nText::new(
                Some("Pohjanmaan hyvinvointialue".into()),
                Some("Österbottens välfärdsområde".into()),
                None,
            ),
            period: "2024H1".parse().unwrap(),
            version: 1,
            state: ReportState::Approved,
            summary: t(
                "Tavoitteet etenevät pääosin suunnitellusti.",
                "Målen framskrider i huvudsak enligt plan.",
            ),
            chapters: vec![ch1, ch2],
            generated_at: "2024-08-15T09:30:00Z".into(),
            approved_by: Some("Laatukoordinaattori".into()),
            published_at: None,
            branding: Default::default(),
        }
    }

    #[test]
    fn paragraphs_and_lines() {
        assert_eq!(
            split_paras("a\nb\n\n \nc\r\n"),
            vec![
                vec!["a".to_string(), "b".to_string()],
                vec!["c".to_string()]
            ]
        );
        assert!(split_paras("  \n ").is_empty());
        assert_eq!(flat(" a \n b "), "a b");
        assert_eq!(
            human_time("2024-08-15T09:30:00Z", Lang::Fi),
            "15.8.2024 12:30"
        );
        assert_eq!(
            human_time("2024-08-15T09:30:00+03:00", Lang::En),
            "2024-08-15 09:30"
        );
        assert_eq!(human_time("yesterday", Lang::Sv), "yesterday");
    }

    #[test]
    fn view_model_texts() {
        let report = sample_report();
        let sv = Tr::new(Lang::Sv);
        let row = goal_row(&report.chapters[0].goals[1], &sv);
        let text = serde_json::to_string(&row).unwrap();
        assert!(text.contains("Utgångsläge 50, Mål 30"), "{text}");
        assert!(text.contains("Utgångsläge 5, Mål 4,8"));
        assert!(text.contains("Värde 1–6/2024: 3,7 (4,1)"));
        assert!(text.contains("Värde 1–6/2024: 43\""));
        // A Finnish-only action in the Swedish table is marked.
        assert!(
            text.contains(
                "Resurssiyksikön käyttöohjeiden jalkauttaminen\"],[\"i\",\" (på finska)\"]"
            ),
            "{text}"
        );
        assert!(text.contains(" (genomförd)"));
        // Two review paragraphs, then the assessment under its indicator.
        assert_eq!(row[3][0], vec![vec![("", "Helhetsmässigt betraktat lyckades man rekrytera personal för att bemöta det mest kritiska behovet.".to_owned())]]);
        assert_eq!(
            row[3][1][0][0].1,
            "Andelen visstidsanställda var i genomsnitt 43 %."
        );
        assert!(text.contains("Bedömning – Frånvaroprocent"));
        // Bilingual headings.
        let trs = [Tr::new(Lang::Sv), Tr::new(Lang::Fi)];
        assert_eq!(
            heading_text(&report.chapters[0].name, &trs),
            "Kund- och resurscenter – Asiakas- ja resurssikeskus"
        );
        assert_eq!(heading_text(&I18nText::fi_only("Vain"), &trs), "Vain");
        assert_eq!(
            heading_text(&I18nText::new(None, None, Some("Only".into())), &trs),
            "Only (på engelska)"
        );
        assert_eq!(msg(&trs, "report-contents", " – "), "Innehåll – Sisällys");
    }
}

/// End-to-end checks of the PDF with poppler (`pdfinfo`, `pdftotext`).
#[cfg(test)]
mod pdf_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::process::Command;

    use super::tests::sample_report;
    use super::*;

    /// What poppler reads from a PDF.
    struct Read {
        info: String,
        pages: u32,
        /// `pdftotext -layout`.
        layout: String,
        /// `pdftotext` in reading order, whitespace collapsed.
        flow: String,
    }

    fn run(tool: &str, args: &[&str]) -> String {
        let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
            panic!(
                "cannot run `{tool}` ({e}): the PDF tests need poppler's command line tools; \
                 install them with `apt-get install -y poppler-utils`"
            )
        });
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn read(pdf: &[u8]) -> Read {
        assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.pdf");
        std::fs::write(&path, pdf).unwrap();
        let p = path.to_str().unwrap();
        let info = run("pdfinfo", &[p]);
        let pages = info
            .lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .map(|n| n.trim().parse().unwrap())
            .unwrap_or_else(|| panic!("no page count in {info}"));
        let layout = run("pdftotext", &["-layout", p, "-"]);
        let flow = run("pdftotext", &[p, "-"])
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Read {
            info,
            pages,
            layout,
            flow,
        }
    }

    fn has(r: &Read, needle: &str) {
        assert!(
            r.layout.contains(needle) || r.flow.contains(needle),
            "{needle:?} not in the PDF text:\n{}",
            r.layout
        );
    }

    #[test]
    fn swedish() {
        let r = read(&render_pdf(&sample_report(), Layout::Single(Lang::Sv)).unwrap());
        assert!(r.pages >= 2, "{} pages", r.pages);
        assert!(
            r.info
                .contains("Egenkontrollrapport: Österbottens välfärdsområde, 1–6/2024"),
            "{}",
            r.info
        );
        assert!(r.info.contains("Tagged:          yes"), "{}", r.info);
        for s in [
            "Egenkontrollrapport",
            "Centrala iakttagelser",
            "Kund- och resurscenter",
            "Socialservice",
            "Mål, mätare och åtgärder",
            "Uppföljning 1–6/2024",
            "Utgångsläge 40, Mål 100",
            "Utgångsläge 5, Mål 4,8",
            "Värde 1–6/2024: 70 (45)",
            "Värde 1–6/2024: 43",
            "Status: på väg",
            "Expansion av Sotender (planerad)",
            "Helhetsmässigt betraktat lyckades man rekrytera personal för att bemöta det mest kritiska behovet.",
            "Andelen visstidsanställda var i genomsnitt 43 %.",
            "Bedömning – Frånvaroprocent",
            "Vaaratapahtumat käsitellään ajallaan (på finska)",
            "Hur deltar klienterna i utvecklingen av tjänsterna?",
            "Klientrådet möts varje månad.",
            "Antal anställda",
            "Mätarnas status",
            "Sida 2 / ",
            "Godkänd av",
            "15.8.2024 12:30",
        ] {
            has(&r, s);
        }
        assert!(
            !r.layout.contains("Lähtötaso"),
            "no Finnish labels in the Swedish PDF"
        );
        // Two chapters: no table of contents (it would list two entries).
        assert!(!r.layout.contains("Innehåll"), "{}", r.layout);
        // From three chapters on, the table of contents lists them in order.
        let mut long = sample_report();
        let mut third = long.chapters[0].clone();
        third.name = I18nText::fi_only("Kolmas");
        long.chapters.push(third);
        let r = read(&render_pdf(&long, Layout::Single(Lang::Sv)).unwrap());
        let toc = r.layout.split("Innehåll").nth(1).unwrap();
        assert!(toc.find("Kund- och resurscenter").unwrap() < toc.find("Socialservice").unwrap());
        assert!(toc.find("Socialservice").unwrap() < toc.find("Kolmas").unwrap());
    }

    #[test]
    fn finnish() {
        let pdf = render_pdf(&sample_report(), Layout::Single(Lang::Fi)).unwrap();
        // Accessible: PDF/UA-1 is claimed when the text allows it.
        assert!(pdf.windows(7).any(|w| w == b"pdfuaid"), "PDF/UA-1 claimed");
        let r = read(&pdf);
        assert!(r.pages >= 2);
        for s in [
            "Omavalvontaraportti",
            "Asiakas- ja resurssikeskus",
            "Sosiaalipalvelut",
            "Tavoite",
            "Mittarit",
            "Toimenpiteet",
            "Seuranta 1–6/2024",
            "Lähtötaso 40, Tavoite 100",
            "Lähtötaso 5, Tavoite 4,8",
            "Arvo 1–6/2024: 3,7 (4,1)",
            "Tila: saavutettu",
            "Kokonaisuutena henkilöstöä onnistuttiin rekrytoimaan kriittisimpiin tarpeisiin.",
            "Määräaikaisten osuus oli keskimäärin 43 %.",
            "Henkilöstömäärä",
            "Sivu 2 / ",
            "Tavoitteet etenevät pääosin suunnitellusti.",
        ] {
            has(&r, s);
        }
        assert!(
            !r.flow.contains("(ruotsiksi)") && !r.flow.contains("(suomeksi)"),
            "nothing falls back"
        );
        // Rendering is deterministic.
        assert_eq!(
            pdf,
            render_pdf(&sample_report(), Layout::Single(Lang::Fi)).unwrap()
        );
    }

    #[test]
    fn bilingual() {
        let r = read(&render_pdf(&sample_report(), Layout::Bilingual).unwrap());
        assert!(r.pages >= 3);
        for s in [
            "Egenkontrollrapport",
            "Omavalvontaraportti",
            "Kund- och resurscenter – Asiakas- ja resurssikeskus",
            "Socialservice – Sosiaalipalvelut",
            "Centrala iakttagelser – Keskeiset havainnot",
            "Målen framskrider i huvudsak enligt plan.",
            "Tavoitteet etenevät pääosin suunnitellusti.",
            "Utgångsläge 40",
            "Lähtötaso 40",
            "4,8",
            "Delaktighet – Osallisuus",
            "Klientrådet möts varje månad.",
            "Asiakasraati kokoontuu kuukausittain.",
            "Antal anställda / Henkilöstömäärä",
            "Sida / Sivu 2 / ",
        ] {
            has(&r, s);
        }
        // Swedish table first, then the Finnish one, chapter by chapter.
        let pos = |s: &str| r.flow.find(s).unwrap_or_else(|| panic!("{s} missing"));
        assert!(pos("Utgångsläge 40") < pos("Lähtötaso 40"));
        assert!(pos("Lähtötaso 40") < pos("Socialservice – Sosiaalipalvelut Mätarnas"));
        // A Finnish-only goal title: in the Swedish table marked, in the Finnish table plain.
        assert!(r
            .flow
            .contains("Vaaratapahtumat käsitellään ajallaan (på finska)"));
        assert!(
            r.flow
                .contains("Vaaratapahtumat käsitellään ajallaan Käsittelemättömät"),
            "{}",
            r.flow
        );
    }

    /// The numbers of a text: digits with decimal commas (`3,7`, `1 100`).
    fn numbers_in(text: &str) -> Vec<String> {
        let flat = text.replace(['\u{a0}', '\u{202f}'], "");
        let mut out = Vec::new();
        let mut cur = String::new();
        for ch in flat.chars().chain([' ']) {
            if ch.is_ascii_digit() || (ch == ',' && !cur.is_empty()) {
                cur.push(ch);
            } else if !cur.is_empty() {
                out.push(cur.trim_end_matches(',').to_owned());
                cur.clear();
            }
        }
        out
    }

    #[test]
    fn drafted_observations_print_only_figures_the_report_prints() {
        let report = sample_report();
        let sv = crate::observations::draft_in(&report, Lang::Sv);
        let fi = crate::observations::draft_in(&report, Lang::Fi);
        assert_eq!(
            sv,
            crate::observations::draft_in(&report, Lang::Sv),
            "deterministic"
        );
        // The indicator that reached its target, with its figure and target.
        assert!(sv.contains("nådde sitt mål: värde 3,7"), "{sv}");
        assert!(fi.contains("saavutti tavoitteensa: arvo 3,7"), "{fi}");
        // The largest change of the report organisation's own figures.
        assert!(
            sv.contains("Antal anställda: 120 (föregående period 118)"),
            "{sv}"
        );
        // Every number of the draft is one the report prints.
        for (lang, draft) in [(Lang::Sv, &sv), (Lang::Fi, &fi)] {
            let printed = read(&render_pdf(&report, Layout::Single(lang)).unwrap()).flow;
            let known = numbers_in(&printed);
            for n in numbers_in(draft) {
                assert!(
                    known.contains(&n),
                    "{n} of the draft is not in the report:\n{draft}"
                );
            }
        }
    }

    #[test]
    fn a_draft_says_so_on_every_page_and_a_live_preview_has_no_version() {
        let mut report = sample_report();
        report.state = ReportState::Draft;
        report.version = 0;
        let r = read(&render_pdf(&report, Layout::Single(Lang::Sv)).unwrap());
        let marks = r.flow.matches("UTKAST – INTE GODKÄNT").count();
        assert_eq!(marks as u32, r.pages, "one mark a page: {}", r.flow);
        assert!(!r.flow.contains("Version"), "{}", r.flow);
        report.state = ReportState::Published;
        report.version = 2;
        let r = read(&render_pdf(&report, Layout::Single(Lang::Sv)).unwrap());
        assert!(!r.flow.contains("UTKAST – INTE GODKÄNT"));
        assert!(r.flow.contains("Version"), "{}", r.flow);
    }

    #[test]
    fn hostile_text_is_printed_verbatim() {
        let mut report = sample_report();
        let evil = "#set page(width: 1cm) *_[]$ <x> @y \\ `z` ~ / #strong[no] \"q\" ]]";
        report.chapters[0].goals[0].title = I18nText::fi_only(evil);
        report.summary =
            I18nText::fi_only(format!("Ensin{evil}\n\n= Ei otsikko\n- ei lista\ttab\u{7}"));
        report.chapters[0].name = I18nText::fi_only("Yksikkö #1 [A] & *B*");
        // Three chapters, so that there is a table of contents to read.
        let third = report.chapters[1].clone();
        report.chapters.push(third);
        let pdf = render_pdf(&report, Layout::Single(Lang::Fi)).unwrap();
        let r = read(&pdf);
        assert!(
            r.info.contains("A4"),
            "the page size is untouched: {}",
            r.info
        );
        has(
            &r,
            "#set page(width: 1cm) *_[]$ <x> @y \\ `z` ~ / #strong[no] \"q\" ]]",
        );
        has(&r, "= Ei otsikko");
        has(&r, "- ei lista tab");
        has(&r, "Yksikkö #1 [A] & *B*");
        // Also as the heading in the table of contents and in the bilingual layout.
        let toc = r.layout.split("Sisällys").nth(1).unwrap();
        assert!(toc.contains("Yksikkö #1 [A] & *B*"));
        let r = read(&render_pdf(&report, Layout::Bilingual).unwrap());
        has(&r, "#set page(width: 1cm) *_[]$ <x> @y");
        // Characters no embedded font has do not fail the render.
        report.summary = I18nText::fi_only("Hymiö 😀 ja 中文");
        has(
            &read(&render_pdf(&report, Layout::Single(Lang::Fi)).unwrap()),
            "Hymiö",
        );
    }

    #[test]
    fn english_with_fallbacks() {
        let r = read(&render_pdf(&sample_report(), Layout::Single(Lang::En)).unwrap());
        for s in [
            "Self-monitoring report",
            "Customer and Resource Centre",
            "Baseline 40, Target 100",
            "(in Finnish)",
            "Page 2 / ",
            "4.8",
        ] {
            has(&r, s);
        }
    }

    const LOGO_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"40\" viewBox=\"0 0 120 40\"><rect width=\"40\" height=\"40\" fill=\"#006a4e\"/><circle cx=\"80\" cy=\"20\" r=\"18\" fill=\"#f0b400\"/></svg>";

    #[test]
    fn the_countys_logo_colour_and_contact_are_on_the_cover_and_every_page_head() {
        let mut report = sample_report();
        report.branding = valvo_core::branding::Branding {
            colour: Some("#006a4e".into()),
            contact: I18nText::new(
                Some("Kirjaamo\nPL 123, 65101 Vaasa\nkirjaamo@example.fi".into()),
                Some("Registratorskontoret\nPB 123, 65101 Vasa".into()),
                None,
            ),
            logo: Some(valvo_core::branding::Logo {
                sha256: "x".into(),
                media_type: "image/svg+xml".into(),
                data: LOGO_SVG.as_bytes().to_vec(),
            }),
        };
        let pdf = render_pdf(&report, Layout::Single(Lang::Sv)).unwrap();
        let r = read(&pdf);
        has(&r, "Kontaktuppgifter");
        has(&r, "Registratorskontoret");
        has(&r, "PB 123, 65101 Vasa");
        assert!(
            !r.flow.contains("Kirjaamo"),
            "a Swedish report gives the Swedish contact"
        );
        // The logo's yellow circle (nothing else in the report is yellow)
        // is on the cover and in the head of a later page.
        for page in [1, 2] {
            assert!(yellow_on(&pdf, page) > 4, "no logo on page {page}");
        }
        assert_eq!(
            yellow_on(
                &render_pdf(&sample_report(), Layout::Single(Lang::Sv)).unwrap(),
                1
            ),
            0,
            "a report without a logo has none"
        );
        // Bilingual: both contacts.
        let r = read(&render_pdf(&report, Layout::Bilingual).unwrap());
        has(&r, "Registratorskontoret");
        has(&r, "Kirjaamo");
        // An image typst cannot read is refused before it is kept.
        assert!(logo_renders(LOGO_SVG.as_bytes(), "image/svg+xml"));
        assert!(!logo_renders(b"\x89PNG\r\n\x1a\nnot really", "image/png"));
        assert!(!logo_renders(b"<svg", "image/svg+xml"));
    }

    #[test]
    fn the_plain_documents_carry_the_countys_logo_and_contact() {
        let part = PlainPart {
            heading: "Havainnot".into(),
            paragraphs: vec!["Ei huomautettavaa.".into()],
            ..Default::default()
        };
        let mut doc = PlainDocument {
            title: "Tarkastuskertomus".into(),
            org: "Kotihoito Vaasa".into(),
            county: "Pohjanmaan hyvinvointialue".into(),
            meta: vec![("Käynti".into(), "3.4.2024".into())],
            parts: vec![part],
            branding: Default::default(),
        };
        let bare = render_plain_pdf(&doc, Lang::Fi).unwrap();
        assert_eq!(yellow_on(&bare, 1), 0, "no branding, no logo");
        assert!(!read(&bare).flow.contains("Yhteystiedot"));
        doc.branding = valvo_core::branding::Branding {
            colour: Some("#006a4e".into()),
            contact: I18nText::new(Some("Kirjaamo\nPL 123, 65101 Vaasa".into()), None, None),
            logo: Some(valvo_core::branding::Logo {
                sha256: "x".into(),
                media_type: "image/svg+xml".into(),
                data: LOGO_SVG.as_bytes().to_vec(),
            }),
        };
        let pdf = render_plain_pdf(&doc, Lang::Fi).unwrap();
        assert!(yellow_on(&pdf, 1) > 4, "the logo on the title page");
        let r = read(&pdf);
        has(&r, "Yhteystiedot");
        has(&r, "PL 123, 65101 Vaasa");
        // A Swedish document without a Swedish contact gives the Finnish one.
        has(
            &read(&render_plain_pdf(&doc, Lang::Sv).unwrap()),
            "Kontaktuppgifter",
        );
    }

    /// Pixels of the logo's yellow on page `page` of `pdf` (at 40 dpi).
    fn yellow_on(pdf: &[u8], page: u32) -> usize {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.pdf");
        std::fs::write(&path, pdf).unwrap();
        let prefix = dir.path().join("p");
        let page = page.to_string();
        run(
            "pdftoppm",
            &[
                "-f",
                &page,
                "-l",
                &page,
                "-r",
                "40",
                path.to_str().unwrap(),
                prefix.to_str().unwrap(),
            ],
        );
        let ppm = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "ppm"))
            .unwrap();
        yellow_pixels(&std::fs::read(ppm).unwrap())
    }

    /// Pixels of the logo's yellow (#f0b400) in a binary PPM (P6) image.
    fn yellow_pixels(ppm: &[u8]) -> usize {
        // Header: "P6\n<w> <h>\n<max>\n", then RGB triples.
        let mut fields = 0;
        let mut at = 0;
        while fields < 4 {
            while ppm[at].is_ascii_whitespace() {
                at += 1;
            }
            while !ppm[at].is_ascii_whitespace() {
                at += 1;
            }
            fields += 1;
        }
        ppm[at + 1..]
            .chunks_exact(3)
            .filter(|p| p[0] > 0xd8 && (0x9c..0xcc).contains(&p[1]) && p[2] < 0x30)
            .count()
    }
}

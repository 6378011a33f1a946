//! The report model as HTML (one language, or Swedish and Finnish side by
//! side), and the downloadable files: PDF, JSON, CSV and a standalone HTML page.

use askama::Template;
use valvo_core::report::{Chapter, Report, ReportSection};
use valvo_core::{I18nText, Lang};
use valvo_report::Layout as PdfLayout;

use crate::html::{escape, num, paragraphs_html, paragraphs_in, status_html, text_html};
use crate::i18n::Tr;

/// An indicator row.
pub struct IndView {
    pub name: String,
    pub unit: String,
    pub baseline: String,
    pub target: String,
    pub value: String,
    pub value_period: String,
    pub status: String,
    pub note: String,
    pub assessment: String,
    pub corrective: String,
}

/// A goal row.
pub struct GoalView {
    pub area: String,
    pub title: String,
    pub indicators: Vec<IndView>,
    pub actions: Vec<(String, String)>,
    pub review: String,
}

/// A section.
pub struct SectionView {
    pub heading: String,
    pub source: String,
    pub texts: Vec<(String, String)>,
    pub figures: Vec<(String, String, String)>,
    pub tables: Vec<TableView>,
}

/// A module's table in a section.
pub struct TableView {
    pub caption: String,
    pub head: Vec<String>,
    /// How many leading columns are row labels (headers of their row).
    pub label_cols: usize,
    pub rows: Vec<(Vec<String>, Vec<String>)>,
    pub total: Option<(Vec<String>, Vec<String>)>,
    /// The table drawn as a chart (an SVG), for the tables the seeds draw.
    pub chart: String,
}

/// A report table in `tr`'s language.
pub(crate) fn table_view(tr: &Tr, t: &valvo_core::report::ReportTable) -> TableView {
    let lang = tr.lang();
    let key = |k: &str| tr.t(k);
    let row = |r: &valvo_core::report::TableRow| {
        (
            r.labels
                .iter()
                .map(|l| l.text(lang, &key))
                .collect::<Vec<_>>(),
            t.cell_texts(r, lang),
        )
    };
    TableView {
        caption: tr.t(&format!("report-table-{}", t.key)),
        head: t.head.iter().map(|l| l.text(lang, &key)).collect(),
        label_cols: t.rows.first().map_or(1, |r| r.labels.len()),
        rows: t.rows.iter().map(row).collect(),
        total: t.total.as_ref().map(row),
        chart: String::new(),
    }
}

/// A report table with its chart; `id` keeps the chart's element ids apart
/// from another chapter's.
fn charted(tr: &Tr, t: &valvo_core::report::ReportTable, id: &str) -> TableView {
    let mut v = table_view(tr, t);
    v.chart = valvo_report::svg::table_chart(t, tr, id).unwrap_or_default();
    v
}

/// A chapter.
pub struct ChapterView {
    pub anchor: String,
    pub name: String,
    pub name_plain: String,
    pub chart: String,
    pub counts: Vec<(String, usize)>,
    pub goals: Vec<GoalView>,
    pub sections: Vec<SectionView>,
    /// Whether the chapter shows its plan (status chart and goals): not the
    /// county's own chapter without a plan when the overview precedes it.
    pub own_plan: bool,
}

/// The report in one language.
pub struct ReportView {
    pub tr: Tr,
    pub org_name: String,
    pub county: String,
    pub period_label: String,
    pub version: i64,
    pub state: String,
    pub generated: String,
    pub approved_by: String,
    pub published_at: String,
    pub summary: String,
    /// The county's contact details, line by line.
    pub contact: Vec<String>,
    /// Before the chapters of a county: its areas at a glance.
    pub overview: Vec<TableView>,
    pub chapters: Vec<ChapterView>,
}

/// A stored time (`2026-12-01T10:30:…Z`) as Finnish and Swedish texts
/// print it, in Finnish time: `1.12.2026 12:30`.
fn date(ts: &str) -> String {
    valvo_core::period::format_time(ts, Lang::Fi)
}

fn plain(tr: &Tr, t: &I18nText) -> String {
    t.resolve(tr.lang())
        .map(|r| r.text.to_string())
        .unwrap_or_default()
}

fn in_lang(text: &I18nText, lang: Lang, tr: &Tr) -> String {
    match text.get(lang) {
        Some(t) => escape(t),
        None => text_html(tr, text),
    }
}

fn section_view(tr: &Tr, s: &ReportSection, lang: Option<Lang>, id: &str) -> SectionView {
    let para = |t: &I18nText| match lang {
        Some(l) if t.get(l).is_some() => paragraphs_in(t, l, tr),
        _ => paragraphs_html(tr, t),
    };
    SectionView {
        heading: tr.t(&format!("report-section-{}", s.kind.code())),
        source: if s.source == "manual" {
            String::new()
        } else {
            tr.t(&format!("report-source-{}", s.source))
        },
        texts: s
            .texts
            .iter()
            .map(|t| {
                let heading = if t.key == "text" {
                    String::new()
                } else {
                    tr.t(&format!("report-text-{}", t.key))
                };
                (heading, para(&t.text))
            })
            .collect(),
        figures: s
            .figures
            .iter()
            .map(|f| {
                (
                    tr.t(&format!("report-fig-{}", f.key)),
                    num(f.value, tr.lang()),
                    num(f.previous, tr.lang()),
                )
            })
            .collect(),
        tables: s.tables.iter().map(|t| charted(tr, t, id)).collect(),
    }
}

/// Builds the chapter's view in `tr`'s language; with `strict`, texts are
/// taken in that language only (the bilingual layout), else with fallback.
fn chapter_view(tr: &Tr, c: &Chapter, strict: bool, own_plan: bool) -> ChapterView {
    let lang = tr.lang();
    let text = |t: &I18nText| {
        if strict {
            in_lang(t, lang, tr)
        } else {
            text_html(tr, t)
        }
    };
    let para = |t: &I18nText| {
        if strict && t.get(lang).is_some() {
            paragraphs_in(t, lang, tr)
        } else {
            paragraphs_html(tr, t)
        }
    };
    ChapterView {
        own_plan,
        anchor: format!("ch-{}-{}", c.org_code, lang.code()),
        name: text(&c.name),
        name_plain: plain(tr, &c.name),
        chart: valvo_report::svg::status_chart(c, tr),
        counts: c
            .status_counts
            .iter()
            .map(|s| (tr.t(&format!("status-{}", s.status.code())), s.count))
            .collect(),
        goals: c
            .goals
            .iter()
            .map(|g| GoalView {
                area: tr.t(&format!("area-{}", g.area.code())),
                title: text(&g.title),
                indicators: g
                    .indicators
                    .iter()
                    .map(|i| IndView {
                        name: text(&i.name),
                        unit: if i.shown_unit().is_empty() {
                            String::new()
                        } else {
                            text(&i.shown_unit())
                        },
                        baseline: opt_num(i, i.baseline, lang),
                        target: match i.direction {
                            valvo_core::Direction::Band => format!(
                                "{}–{}",
                                opt_num(i, i.target, lang),
                                opt_num(i, i.target_max, lang)
                            ),
                            _ => opt_num(i, i.target, lang),
                        },
                        value: i.display_value(lang),
                        value_period: i.value_period.map(|p| p.label()).unwrap_or_default(),
                        status: status_html(tr, i.status),
                        note: if i.note.is_empty() {
                            String::new()
                        } else {
                            text(&i.note)
                        },
                        assessment: para(&i.assessment),
                        corrective: para(&i.corrective),
                    })
                    .collect(),
                actions: g
                    .actions
                    .iter()
                    .map(|a| (text(&a.text), tr.t(&format!("action-{}", a.status.code()))))
                    .collect(),
                review: para(&g.review),
            })
            .collect(),
        sections: c
            .sections
            .iter()
            .map(|s| section_view(tr, s, strict.then_some(lang), &c.org_code))
            .collect(),
    }
}

impl ReportView {
    /// The report in `lang`; `strict` takes texts in that language only.
    pub fn new(report: &Report, lang: Lang, strict: bool) -> Self {
        let tr = Tr::new(lang);
        // The overview in a one-language view (the two-language view pairs
        // the chapters only, and keeps every chapter's plan).
        let overview = if strict {
            Vec::new()
        } else {
            report.overview()
        };
        ReportView {
            org_name: if strict {
                in_lang(&report.org_name, lang, &tr)
            } else {
                text_html(&tr, &report.org_name)
            },
            county: text_html(&tr, &report.county_name),
            period_label: report.period.label(),
            version: report.version,
            state: tr.t(&format!("report-state-{}", report.state.code())),
            generated: date(&report.generated_at),
            approved_by: report.approved_by.clone().unwrap_or_default(),
            published_at: report.published_at.as_deref().map(date).unwrap_or_default(),
            summary: if strict && report.summary.get(lang).is_some() {
                paragraphs_in(&report.summary, lang, &tr)
            } else {
                paragraphs_html(&tr, &report.summary)
            },
            contact: crate::branding::contact_lines(&report.branding.contact, lang),
            overview: overview.iter().map(|t| table_view(&tr, t)).collect(),
            chapters: report
                .chapters
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let own_plan = i > 0 || overview.is_empty() || !c.goals.is_empty();
                    chapter_view(&tr, c, strict, own_plan)
                })
                .collect(),
            tr,
        }
    }

    /// A message.
    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }
}

/// Swedish and Finnish side by side.
pub struct BilingualView {
    pub sv: ReportView,
    pub fi: ReportView,
}

impl BilingualView {
    /// Both languages of a report.
    pub fn new(report: &Report) -> Self {
        BilingualView {
            sv: ReportView::new(report, Lang::Sv, true),
            fi: ReportView::new(report, Lang::Fi, true),
        }
    }

    /// Chapter pairs (Swedish, Finnish).
    pub fn pairs(&self) -> Vec<(&ChapterView, &ChapterView)> {
        self.sv
            .chapters
            .iter()
            .zip(self.fi.chapters.iter())
            .collect()
    }
}

/// One language or both.
#[allow(clippy::large_enum_variant)]
pub enum Body {
    /// One language.
    One(ReportView),
    /// Swedish and Finnish side by side.
    Both(BilingualView),
}

impl Body {
    /// The view of a report for a layout.
    pub fn new(report: &Report, layout: PdfLayout) -> Self {
        match layout {
            PdfLayout::Single(lang) => Body::One(ReportView::new(report, lang, false)),
            PdfLayout::Bilingual => Body::Both(BilingualView::new(report)),
        }
    }

    /// The single-language view, if that is what this is.
    pub fn one(&self) -> Option<&ReportView> {
        match self {
            Body::One(v) => Some(v),
            Body::Both(_) => None,
        }
    }

    /// The bilingual view, if that is what this is.
    pub fn both(&self) -> Option<&BilingualView> {
        match self {
            Body::Both(v) => Some(v),
            Body::One(_) => None,
        }
    }
}

#[derive(Template)]
#[template(path = "report_document.html")]
struct Document<'a> {
    lang: &'static str,
    title: String,
    /// The heading, one line a language.
    titles: Vec<(&'static str, String)>,
    skip: String,
    css: &'static str,
    body: &'a Body,
    /// The county's logo as a `data:` address (the file stands alone).
    logo: Option<String>,
    /// The county's name, the logo's text.
    county: String,
    /// The county's colour.
    colour: Option<String>,
}

/// A standalone HTML document of the report (styles inline), for files and the command line.
pub fn document(report: &Report, layout: PdfLayout) -> Result<String, askama::Error> {
    let body = Body::new(report, layout);
    let lang = match layout {
        PdfLayout::Single(l) => l,
        PdfLayout::Bilingual => Lang::Sv,
    };
    let tr = Tr::new(lang);
    // The bilingual document is titled in both languages, each marked.
    let langs: &[Lang] = match layout {
        PdfLayout::Single(_) => &[lang],
        PdfLayout::Bilingual => &[Lang::Sv, Lang::Fi],
    };
    let titles: Vec<(&'static str, String)> = langs
        .iter()
        .map(|&l| {
            let tr = Tr::new(l);
            (
                l.code(),
                format!(
                    "{} – {} {}",
                    tr.t("report-title"),
                    plain(&tr, &report.org_name),
                    report.period.label()
                ),
            )
        })
        .collect();
    let title = titles
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join(" / ");
    let logo = report
        .branding
        .logo
        .as_ref()
        .filter(|l| !l.data.is_empty())
        .map(|l| {
            use base64::Engine as _;
            format!(
                "data:{};base64,{}",
                l.media_type,
                base64::engine::general_purpose::STANDARD.encode(&l.data)
            )
        });
    Document {
        lang: lang.code(),
        title,
        titles,
        skip: tr.t("skip-to-content"),
        css: crate::html::STYLE,
        body: &body,
        logo,
        county: plain(&tr, &report.county_name),
        colour: report.branding.colour.clone(),
    }
    .render()
}

/// A downloadable file of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// PDF in a layout.
    Pdf(PdfLayout),
    /// Standalone HTML in a layout.
    Html(PdfLayout),
    /// CSV in a language.
    Csv(Lang),
    /// The model as JSON.
    Json,
}

impl FileKind {
    /// Parses a file name: `report-fi.pdf`, `report-bilingual.html`, `report-sv.csv`, `report.json`.
    pub fn parse(name: &str) -> Option<FileKind> {
        if name == "report.json" {
            return Some(FileKind::Json);
        }
        let rest = name.strip_prefix("report-")?;
        let (which, ext) = rest.split_once('.')?;
        let layout = if which == "bilingual" {
            PdfLayout::Bilingual
        } else {
            PdfLayout::Single(Lang::parse(which).filter(|l| l.code() == which)?)
        };
        match (ext, layout) {
            ("pdf", l) => Some(FileKind::Pdf(l)),
            ("html", l) => Some(FileKind::Html(l)),
            ("csv", PdfLayout::Single(l)) => Some(FileKind::Csv(l)),
            _ => None,
        }
    }

    /// The file names offered for download.
    pub fn all_names() -> Vec<&'static str> {
        vec![
            "report-fi.pdf",
            "report-sv.pdf",
            "report-bilingual.pdf",
            "report-en.pdf",
            "report-fi.html",
            "report-sv.html",
            "report-bilingual.html",
            "report.json",
            "report-fi.csv",
            "report-sv.csv",
        ]
    }
}

/// Renders a file: (content type, bytes). PDF rendering is CPU work: callers
/// in async code run this on a blocking thread.
pub fn render_file(report: &Report, kind: FileKind) -> Result<(&'static str, Vec<u8>), String> {
    match kind {
        FileKind::Pdf(layout) => valvo_report::render_pdf(report, layout)
            .map(|b| ("application/pdf", b))
            .map_err(|e| e.to_string()),
        FileKind::Html(layout) => document(report, layout)
            .map(|s| ("text/html; charset=utf-8", s.into_bytes()))
            .map_err(|e| e.to_string()),
        FileKind::Csv(lang) => Ok((
            "text/csv; charset=utf-8",
            valvo_report::data::to_csv(report, lang).into_bytes(),
        )),
        FileKind::Json => Ok((
            "application/json",
            valvo_report::data::to_json(report).into_bytes(),
        )),
    }
}

/// A baseline or target in the indicator's kind (`–` for none).
fn opt_num(i: &valvo_core::report::ReportIndicator, v: Option<f64>, lang: Lang) -> String {
    v.map(|x| i.display_number(x, lang))
        .unwrap_or_else(|| "\u{2013}".to_owned())
}

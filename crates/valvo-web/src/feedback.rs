//! Customer feedback in the UI: the public answer page per unit (and per
//! one-time invitation), its QR code and poster, statistics (logged in, and
//! public with small cells withheld), the handling queue and case page,
//! remarks and complaints, the survey's own statements and the national
//! export.

use std::fmt::Write as _;

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use valvo_core::access::Principal;
use valvo_core::disclosure::{protect_tree_public, year_shown, Shown, UnitShown};
use valvo_core::feedback::{
    AgeGroup, CaseDeadlines, CaseState, Channel, ExportRow, Filter, NpsStats, RawAnswer, RawCase,
    Respondent, Score, ServiceLang, StatementStats, Summary, SurveyDef, MIN_PUBLIC_CELL,
};
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_core::{I18nText, Lang, OrgNode, OrgTree, Period, PeriodKind};
use valvo_store::{
    AnswerTarget, CaseUpdate, FeedbackCase, FeedbackStats, StoreError, Submission, SurveyVersion,
};

use crate::ctx::{Page, UiPath, UiQuery};
use crate::error::ErrorKind;
use crate::forms::{
    error_message, new_once_key, once_claim, once_key, Builder, FormData, FormView, Group,
    InputKind,
};
use crate::html::{escape, text_html, Layout};
use crate::incidents::unit_by_code;
use crate::ui::{can_read, county, crumbs, form_page, render, see_other, tree, County, UiResult};
use crate::AppState;

/// A number with `decimals` decimals, with a decimal comma in Finnish and Swedish.
pub fn fmt_num(v: f64, decimals: usize, lang: Lang) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_owned()
    } else {
        s
    };
    match lang {
        Lang::En => s,
        _ => s.replace('.', ","),
    }
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn resolve(text: &I18nText, lang: Lang) -> String {
    text.resolve(lang)
        .map(|r| r.text.to_owned())
        .unwrap_or_default()
}

// ------------------------------------------------------------ answer page

/// One radio question.
pub struct Question {
    /// Field name (and the fieldset's id).
    pub name: String,
    /// The question.
    pub legend: String,
    /// A hint under the legend.
    pub hint: Option<String>,
    /// (value, label, checked).
    pub options: Vec<(String, String, bool)>,
    /// The error, if any.
    pub error: Option<String>,
    /// Lay the options out in a row (a numeric scale).
    pub row: bool,
}

#[derive(Template)]
#[template(path = "feedback_answer.html")]
struct AnswerPage {
    l: Layout,
    unit: String,
    action: String,
    errors: Vec<(String, String)>,
    questions: Vec<Question>,
    open_question: String,
    text: String,
    text_error: Option<String>,
    background: Vec<Question>,
    contact: String,
    contact_error: Option<String>,
    service_date: Option<String>,
    once: String,
}

fn field_errors(page: &Page, errors: &[FieldError]) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|e| (e.field.clone(), error_message(&page.tr, e)))
        .collect()
}

fn error_of(errors: &[(String, String)], field: &str) -> Option<String> {
    errors
        .iter()
        .find(|(f, _)| f == field)
        .map(|(_, m)| m.clone())
}

#[allow(clippy::too_many_arguments)]
fn answer_page(
    page: &Page,
    survey: &SurveyDef,
    unit: &OrgNode,
    county: County,
    action: String,
    data: &FormData,
    errors: &[FieldError],
    service_date: Option<time::Date>,
) -> Response {
    let lang = page.lang;
    let tr = &page.tr;
    let errs = field_errors(page, errors);
    let value = |k: &str| data.get(k).map(String::as_str).unwrap_or("");
    let nps = Question {
        name: "nps".into(),
        legend: resolve(&survey.nps_question, lang),
        hint: Some(tr.t("fb-nps-hint")),
        options: (0..=10)
            .map(|v| (v.to_string(), v.to_string(), value("nps") == v.to_string()))
            .collect(),
        error: error_of(&errs, "nps"),
        row: true,
    };
    let statements: Vec<Question> = survey
        .statements
        .iter()
        .map(|s| {
            let name = format!("scores.{}", s.key);
            let current = value(&name).to_owned();
            let mut options: Vec<(String, String, bool)> = survey
                .scale
                .points()
                .enumerate()
                .map(|(i, p)| {
                    let label = survey
                        .point_labels
                        .get(i)
                        .map(|t| format!("{p} {}", resolve(t, lang)))
                        .unwrap_or_else(|| p.to_string());
                    (p.to_string(), label, current == p.to_string())
                })
                .collect();
            options.push((
                "cannot_say".into(),
                resolve(&survey.cannot_say, lang),
                current == "cannot_say",
            ));
            Question {
                error: error_of(&errs, &name),
                name,
                legend: resolve(&s.text, lang),
                hint: survey.point_labels.is_empty().then(|| {
                    format!(
                        "{} = {} · {} = {}",
                        survey.scale.min,
                        resolve(&survey.low_label, lang),
                        survey.scale.max,
                        resolve(&survey.high_label, lang)
                    )
                }),
                options,
                row: false,
            }
        })
        .collect();
    let radio = |name: &str, legend: &str, opts: Vec<(&'static str, String)>| Question {
        name: name.into(),
        legend: tr.t(legend),
        hint: None,
        options: opts
            .into_iter()
            .map(|(v, label)| (v.to_owned(), label, value(name) == v))
            .collect(),
        error: error_of(&errs, name),
        row: false,
    };
    let background = vec![
        radio(
            "service_lang",
            "fb-field-service_lang",
            ServiceLang::ALL
                .iter()
                .map(|l| (l.code(), tr.t(&format!("fb-lang-{}", l.code()))))
                .collect(),
        ),
        radio(
            "age_group",
            "fb-field-age_group",
            AgeGroup::ALL
                .iter()
                .map(|a| (a.code(), tr.t(&format!("fb-age-{}", a.export_code()))))
                .collect(),
        ),
        radio(
            "respondent",
            "fb-field-respondent",
            Respondent::ALL
                .iter()
                .map(|r| (r.code(), tr.t(&format!("fb-respondent-{}", r.code()))))
                .collect(),
        ),
    ];
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let questions: Vec<Question> = std::iter::once(nps).chain(statements).collect();
    let open_question = resolve(&survey.open_question, lang);
    // The summary names each question, as a screen reader reads its links
    // out of their place: "Question? – what is wrong".
    // Nothing answered at all is the form's error, not the first question's.
    let nothing = errors
        .iter()
        .any(|e| e.field == "nps" && e.code == valvo_core::plan::ErrorCode::Required);
    let summary: Vec<(String, String)> = errs
        .iter()
        .map(|(field, msg)| {
            if nothing && field == "nps" {
                let mut c = msg.chars();
                let shown = c
                    .next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default();
                return (field.clone(), shown);
            }
            let label = questions
                .iter()
                .chain(&background)
                .find(|q| &q.name == field)
                .map(|q| q.legend.clone())
                .or_else(|| match field.as_str() {
                    "text" => Some(open_question.clone()),
                    "contact" => Some(tr.t("fb-contact")),
                    _ => None,
                });
            let shown = match label {
                Some(l) => crate::forms::labelled(&l, msg),
                None => msg.clone(),
            };
            (field.clone(), shown)
        })
        .collect();
    render(
        &AnswerPage {
            l: Layout::client(page, tr.t("fb-answer-title"), county),
            unit: text_html(tr, &unit.name),
            action,
            text_error: error_of(&errs, "text"),
            contact_error: error_of(&errs, "contact"),
            errors: summary,
            questions,
            open_question,
            text: value("text").to_owned(),
            background,
            contact: value("contact").to_owned(),
            service_date: service_date.map(valvo_core::period::format_date),
            // Kept from the sent form when it comes back with errors.
            once: once_key(data).unwrap_or_else(new_once_key),
        },
        status,
    )
}

/// The submitted form as a raw answer.
fn raw_answer(data: &FormData) -> RawAnswer {
    let mut raw = RawAnswer::default();
    for (k, v) in data {
        match k.as_str() {
            "nps" => raw.nps = v.clone(),
            "text" => raw.text = v.clone(),
            "service_lang" => raw.service_lang = v.clone(),
            "age_group" => raw.age_group = v.clone(),
            "respondent" => raw.respondent = v.clone(),
            "contact" => raw.contact = v.clone(),
            other => {
                if let Some(key) = other.strip_prefix("scores.") {
                    raw.scores.insert(key.to_owned(), v.clone());
                }
            }
        }
    }
    raw
}

#[derive(Template)]
#[template(path = "feedback_thanks.html")]
struct ThanksPage {
    l: Layout,
    unit: String,
    message: String,
    /// The unit's public page: where a client goes on from here.
    public_href: String,
}

fn thanks(page: &Page, unit: &OrgNode, county: County, key: &str, status: StatusCode) -> Response {
    render(
        &ThanksPage {
            l: Layout::client(page, page.tr.t(&format!("{key}-title")), county),
            unit: text_html(&page.tr, &unit.name),
            message: page.tr.t(key),
            public_href: format!("/public/org/{}", crate::html::url_encode(&unit.code)),
        },
        status,
    )
}

#[derive(Deserialize)]
pub struct ChannelQuery {
    c: Option<String>,
}

async fn survey(state: &AppState, page: &Page) -> Result<SurveyVersion, crate::error::UiError> {
    state
        .store()
        .current_survey()
        .await
        .map_err(|e| page.error(e))
}

/// The survey as asked of `unit`'s respondents: the statements every
/// county shares and the unit's county's own.
async fn asked_survey(
    state: &AppState,
    page: &Page,
    tree: &OrgTree,
    unit: i64,
) -> Result<valvo_core::feedback::SurveyDef, crate::error::UiError> {
    Ok(survey(state, page)
        .await?
        .def
        .for_county(tree.county_code(unit)))
}

/// `GET /feedback/{code}` (`?c=qr` from the waiting-room poster).
pub async fn answer_form(
    State(state): State<AppState>,
    page: Page,
    UiPath(code): UiPath<String>,
    UiQuery(q): UiQuery<ChannelQuery>,
) -> UiResult {
    let tree = crate::ui::tree(&state, &page).await?;
    let unit = unit_by_code(&tree, &code).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let survey = asked_survey(&state, &page, &tree, unit.id).await?;
    let qr = q.c.as_deref() == Some("qr");
    let action = format!("/feedback/{}{}", unit.code, if qr { "?c=qr" } else { "" });
    Ok(answer_page(
        &page,
        &survey,
        unit,
        county(&state, &page, &tree, unit.id).await,
        action,
        &FormData::new(),
        &[],
        None,
    ))
}

/// `GET /feedback/{code}/thanks`: where a sent answer leads (a reload
/// saves nothing).
pub async fn answer_thanks(
    State(state): State<AppState>,
    page: Page,
    UiPath(code): UiPath<String>,
) -> UiResult {
    let tree = crate::ui::tree(&state, &page).await?;
    let unit = unit_by_code(&tree, &code).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let county = county(&state, &page, &tree, unit.id).await;
    Ok(thanks(&page, unit, county, "fb-thanks", StatusCode::OK))
}

/// `POST /feedback/{code}`: rate-limited per client address (429). Saved
/// once per form page (its one-time key), then on to the thanks page.
pub async fn answer_submit(
    State(state): State<AppState>,
    crate::ops::ClientIp(ip): crate::ops::ClientIp,
    page: Page,
    UiPath(code): UiPath<String>,
    UiQuery(q): UiQuery<ChannelQuery>,
    Form(data): Form<FormData>,
) -> UiResult {
    let tree = crate::ui::tree(&state, &page).await?;
    let unit = unit_by_code(&tree, &code).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    if !state.allow_public_write(ip).await {
        let county = crate::ui::county(&state, &page, &tree, unit.id).await;
        return Err(page
            .error(ErrorKind::TooManyRequests)
            .for_client(county.name));
    }
    let channel = if q.c.as_deref() == Some("qr") {
        Channel::Qr
    } else {
        Channel::Web
    };
    let sub = Submission {
        target: AnswerTarget::Unit(unit.id),
        raw: raw_answer(&data),
        channel,
        today: today(),
        once: once_claim(&data),
    };
    match state.store().submit_answer(sub).await {
        Ok(_) | Err(StoreError::AlreadySent) => Ok(see_other(&format!(
            "/feedback/{}/thanks",
            crate::html::url_encode(&unit.code)
        ))),
        Err(StoreError::Invalid(errors)) => {
            let survey = asked_survey(&state, &page, &tree, unit.id).await?;
            let action = format!(
                "/feedback/{}{}",
                unit.code,
                if channel == Channel::Qr { "?c=qr" } else { "" }
            );
            Ok(answer_page(
                &page,
                &survey,
                unit,
                county(&state, &page, &tree, unit.id).await,
                action,
                &data,
                &errors,
                None,
            ))
        }
        Err(e) => Err(page.error(e)),
    }
}

#[derive(Deserialize)]
pub struct SentQuery {
    /// Set by the redirect after the answer was saved.
    sent: Option<String>,
}

/// `GET /feedback/i/{token}`: the page of a one-time invitation (after the
/// answer, `?sent=1`: the thanks).
pub async fn invitation_form(
    State(state): State<AppState>,
    page: Page,
    UiPath(token): UiPath<String>,
    UiQuery(q): UiQuery<SentQuery>,
) -> UiResult {
    let inv = state
        .store()
        .invitation(&token, today())
        .await
        .map_err(|e| page.error(e))?;
    let Some((org, service_date, usable)) = inv else {
        return Err(page.error(ErrorKind::NotFound));
    };
    let tree = tree(&state, &page).await?;
    let unit = tree
        .get(org)
        .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let county = county(&state, &page, &tree, unit.id).await;
    if !usable {
        return Ok(if q.sent.is_some() {
            thanks(&page, unit, county, "fb-thanks", StatusCode::OK)
        } else {
            thanks(&page, unit, county, "fb-invitation-used", StatusCode::GONE)
        });
    }
    let survey = asked_survey(&state, &page, &tree, unit.id).await?;
    Ok(answer_page(
        &page,
        &survey,
        unit,
        county,
        format!("/feedback/i/{token}"),
        &FormData::new(),
        &[],
        Some(service_date),
    ))
}

/// `POST /feedback/i/{token}`: one answer per token, then on to the
/// thanks; a later one is refused (410).
pub async fn invitation_submit(
    State(state): State<AppState>,
    crate::ops::ClientIp(ip): crate::ops::ClientIp,
    page: Page,
    UiPath(token): UiPath<String>,
    Form(data): Form<FormData>,
) -> UiResult {
    if !state.allow_public_write(ip).await {
        return Err(page.error(ErrorKind::TooManyRequests));
    }
    let inv = state
        .store()
        .invitation(&token, today())
        .await
        .map_err(|e| page.error(e))?;
    let Some((org, service_date, _)) = inv else {
        return Err(page.error(ErrorKind::NotFound));
    };
    let tree = tree(&state, &page).await?;
    let unit = tree
        .get(org)
        .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let county = county(&state, &page, &tree, unit.id).await;
    let once = once_claim(&data);
    let sub = Submission {
        target: AnswerTarget::Invitation(token.clone()),
        raw: raw_answer(&data),
        channel: Channel::Invitation,
        today: today(),
        once: once.clone(),
    };
    let sent = || {
        see_other(&format!(
            "/feedback/i/{}?sent=1",
            crate::html::url_encode(&token)
        ))
    };
    match state.store().submit_answer(sub).await {
        Ok(_) | Err(StoreError::AlreadySent) => Ok(sent()),
        Err(StoreError::Invalid(errors)) => {
            let survey = asked_survey(&state, &page, &tree, unit.id).await?;
            Ok(answer_page(
                &page,
                &survey,
                unit,
                county,
                format!("/feedback/i/{token}"),
                &data,
                &errors,
                Some(service_date),
            ))
        }
        Err(StoreError::Conflict(_)) => {
            // Used by this very page a moment ago (a double click): thanks.
            let ours = match &once {
                Some(key) => state
                    .store()
                    .form_sent(key)
                    .await
                    .map_err(|e| page.error(e))?,
                None => false,
            };
            Ok(if ours {
                sent()
            } else {
                thanks(&page, unit, county, "fb-invitation-used", StatusCode::GONE)
            })
        }
        Err(e) => Err(page.error(e)),
    }
}

// ------------------------------------------------------------ QR and poster

/// The service's public address: the configured one, else the request's host.
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    match &state.config().public_url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("localhost");
            let scheme = headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .unwrap_or(if state.config().cookie_secure {
                    "https"
                } else {
                    "http"
                });
            format!("{scheme}://{host}")
        }
    }
}

/// The address of a unit's answer page as printed on its poster.
fn public_url(state: &AppState, headers: &HeaderMap, code: &str) -> String {
    format!(
        "{}/feedback/{}?c=qr",
        base_url(state, headers),
        crate::html::url_encode(code)
    )
}

/// An accessible SVG QR code of `data`, or None if it does not fit a code.
pub fn qr_svg(data: &str, title: &str) -> Option<String> {
    let code = qrcode::QrCode::new(data.as_bytes()).ok()?;
    let width = code.width();
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"qr-t\" viewBox=\"0 0 {size} {size}\" width=\"{px}\" height=\"{px}\" shape-rendering=\"crispEdges\"><title id=\"qr-t\">{}</title><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
        escape(title),
        px = size * 6
    );
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let _ = write!(svg, "M{} {}h1v1h-1z", i % width + quiet, i / width + quiet);
        }
    }
    svg.push_str("\"/></svg>");
    Some(svg)
}

/// `GET /feedback/{code}/qr.svg`
pub async fn qr(
    State(state): State<AppState>,
    page: Page,
    headers: HeaderMap,
    UiPath(code): UiPath<String>,
) -> UiResult {
    let tree = crate::ui::tree(&state, &page).await?;
    let unit = unit_by_code(&tree, &code).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let url = public_url(&state, &headers, &unit.code);
    let svg = qr_svg(&url, &url).ok_or_else(|| page.error(ErrorKind::Internal))?;
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
        svg,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "feedback_poster.html")]
struct PosterPage {
    l: Layout,
    unit: String,
    url: String,
    qr: String,
}

/// `GET /feedback/{code}/poster`: a printable page with the QR code.
pub async fn poster(
    State(state): State<AppState>,
    page: Page,
    headers: HeaderMap,
    UiPath(code): UiPath<String>,
) -> UiResult {
    let tree = crate::ui::tree(&state, &page).await?;
    let unit = unit_by_code(&tree, &code).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let url = public_url(&state, &headers, &unit.code);
    let qr =
        qr_svg(&url, &page.tr.t("fb-poster-qr")).ok_or_else(|| page.error(ErrorKind::Internal))?;
    Ok(render(
        &PosterPage {
            l: Layout::new(&page, page.tr.t("fb-poster-title")),
            unit: text_html(&page.tr, &unit.name),
            url,
            qr,
        },
        StatusCode::OK,
    ))
}

// ------------------------------------------------------------ statistics

/// A table of figures: a header row and rows whose first cell is a row header.
pub struct Table {
    /// Caption / heading.
    pub title: String,
    /// Column headings.
    pub head: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<String>>,
}

/// A filter's select: name, label, options (value, label, selected).
type FilterSelect = (String, String, Vec<(String, String, bool)>);

/// A filter over one background dimension: "all" and each value.
fn filter_select<T: Copy + PartialEq>(
    tr: &crate::i18n::Tr,
    name: &str,
    label_key: &str,
    all: &[T],
    code: fn(T) -> &'static str,
    prefix: &str,
    current: Option<T>,
) -> FilterSelect {
    let mut options = vec![(String::new(), tr.t("fb-all"), current.is_none())];
    options.extend(all.iter().map(|v| {
        (
            code(*v).to_owned(),
            tr.t(&format!("{prefix}{}", code(*v))),
            current == Some(*v),
        )
    }));
    (name.to_owned(), tr.t(label_key), options)
}

#[derive(Template)]
#[template(path = "feedback_stats.html")]
struct StatsPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    base: String,
    periods: Vec<(String, String, bool)>,
    filters: Vec<FilterSelect>,
    public: bool,
    gap: Option<String>,
    tables: Vec<Table>,
    chart: String,
    links: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct StatsQuery {
    period: Option<String>,
    service_lang: Option<String>,
    channel: Option<String>,
    respondent: Option<String>,
}

fn parse_filter(page: &Page, q: &StatsQuery) -> Result<Filter, crate::error::UiError> {
    fn one<T>(
        page: &Page,
        raw: &Option<String>,
        parse: fn(&str) -> Option<T>,
    ) -> Result<Option<T>, crate::error::UiError> {
        match raw.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => parse(s)
                .map(Some)
                .ok_or_else(|| page.error(ErrorKind::BadRequest("error-invalid"))),
        }
    }
    Ok(Filter {
        lang: one(page, &q.service_lang, ServiceLang::parse)?,
        channel: one(page, &q.channel, Channel::parse)?,
        respondent: one(page, &q.respondent, Respondent::parse)?,
    })
}

fn stats_period(page: &Page, raw: Option<&str>) -> Result<Period, crate::error::UiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Period::containing(today(), PeriodKind::Year)),
        Some(s) => s
            .parse()
            .map_err(|_| page.error(ErrorKind::BadRequest("error-period-invalid"))),
    }
}

/// A topic's name: translated for the default topics, the id for a county's own.
fn topic_name(tr: &crate::i18n::Tr, id: &str) -> String {
    let key = format!("fb-topic-{id}");
    if tr.has(&key) {
        tr.t(&key)
    } else {
        id.to_owned()
    }
}

/// NPS as reports print it: "62" (rounded), or "–".
pub fn nps_text(n: &NpsStats) -> String {
    n.rounded()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "–".into())
}

fn mean_text(s: Option<&StatementStats>, lang: Lang) -> String {
    s.and_then(|s| s.mean)
        .map(|m| fmt_num(m, 2, lang))
        .unwrap_or_else(|| "–".into())
}

/// A figure that may be withheld in public: "–" with a note when fewer than
/// the minimum answers stand behind it.
fn shown(public: bool, n: u64, text: String, withheld: &str) -> String {
    if public && n < MIN_PUBLIC_CELL {
        withheld.to_owned()
    } else {
        text
    }
}

/// Nothing of it.
static WITHHELD: Shown = Shown {
    answers: false,
    nps: false,
    statements: std::collections::BTreeMap::new(),
};

/// What of a summary a page may show: everything for staff; in public, what
/// the disclosure control left (see [`public_view`]).
#[derive(Clone, Copy)]
struct See<'a>(Option<&'a Shown>);

impl See<'_> {
    fn answers(self) -> bool {
        self.0.is_none_or(|s| s.answers)
    }
    fn nps(self) -> bool {
        self.0.is_none_or(|s| s.nps)
    }
    fn statement(self, key: &str) -> bool {
        self.0.is_none_or(|s| s.statement(key))
    }
}

/// `text`, or the withheld mark.
fn show(ok: bool, text: String, withheld: &str) -> String {
    if ok {
        text
    } else {
        withheld.to_owned()
    }
}

/// What a public page (or answer) shows of its statistics, in their order.
#[derive(Clone, Debug, Default)]
pub(crate) struct FeedbackShown {
    /// The period's figures.
    pub current: Shown,
    /// The previous period's.
    pub prev: Shown,
    /// Each breakdown's rows as the statistics list them: (this period, previous).
    pub dims: Vec<Vec<(Shown, Shown)>>,
    /// The child units: (this period, previous).
    pub children: Vec<(Shown, Shown)>,
    /// The trend's years: (answers shown, NPS shown).
    pub trend: Vec<(bool, bool)>,
}

/// Whether public statistics may be asked for `period`: tertials only, the
/// reporting rhythm. Periods that overlap (a quarter beside a tertial, a
/// month beside either) would let a withheld cell be computed from what two
/// pages show; the years appear in the trend only when their tertials give
/// nothing more away.
pub(crate) fn public_period(period: &Period) -> bool {
    period.kind() == PeriodKind::Tertial
}

/// What of `stats` the public may see: cells of fewer than five answers
/// withheld, and whatever would let them be computed from what any page of
/// the same period shows — a unit's total beside its breakdowns, a unit
/// beside its child units and its own answers — worked out for the whole
/// subtree from the leaves up ([`valvo_core::disclosure::protect_tree`]), so
/// every page shows the same of a unit; the previous tertial as its own page
/// shows it; a year of the trend only when its tertials give nothing more away.
pub(crate) async fn public_view(
    state: &AppState,
    tree: &OrgTree,
    stats: &valvo_store::FeedbackStats,
) -> Result<FeedbackShown, valvo_store::StoreError> {
    let store = state.store();
    let scope = stats.org_unit_id;
    let cur = protect_tree_public(
        tree,
        scope,
        &store.unit_figures(tree, scope, &stats.period).await?,
    );
    let prev = match &stats.previous {
        Some(p) => protect_tree_public(tree, scope, &store.unit_figures(tree, scope, p).await?),
        None => Default::default(),
    };
    let total = |vis: &std::collections::BTreeMap<i64, UnitShown>, id: i64| {
        vis.get(&id).map(|u| u.total.clone()).unwrap_or_default()
    };
    let groups = valvo_store::Store::public_groups();
    let dims = [&stats.by_lang, &stats.by_channel, &stats.by_respondent]
        .into_iter()
        .enumerate()
        .map(|(d, list)| {
            list.iter()
                .map(|b| {
                    let g = groups[d].iter().position(|k| *k == b.key);
                    let at = |vis: &std::collections::BTreeMap<i64, UnitShown>| {
                        g.and_then(|g| vis.get(&scope)?.dims.get(d)?.get(g).cloned())
                            .unwrap_or_default()
                    };
                    (at(&cur), at(&prev))
                })
                .collect()
        })
        .collect();
    let tertials = store.tertial_totals(scope).await?;
    let trend = stats
        .trend
        .iter()
        .map(|y| {
            let of_year: Vec<(u64, u64)> = (1..=3)
                .filter_map(|t| Period::tertial(y.year, t).ok())
                .map(|p| tertials.get(&p).copied().unwrap_or((0, 0)))
                .collect();
            year_shown(&of_year, MIN_PUBLIC_CELL)
        })
        .collect();
    Ok(FeedbackShown {
        current: total(&cur, scope),
        prev: total(&prev, scope),
        dims,
        children: stats
            .by_child
            .iter()
            .map(|c| (total(&cur, c.org_unit_id), total(&prev, c.org_unit_id)))
            .collect(),
        trend,
    })
}

fn summary_rows(page: &Page, cur: &Summary, prev: &Summary, vis: [See<'_>; 2]) -> Vec<Vec<String>> {
    let [vc, vp] = vis;
    let tr = &page.tr;
    let w = tr.t("fb-withheld");
    let lang = page.lang;
    let ci = |s: &NpsStats| match (s.ci_low, s.ci_high) {
        (Some(a), Some(b)) => format!("{} … {}", fmt_num(a, 0, lang), fmt_num(b, 0, lang)),
        _ => "–".into(),
    };
    let share = |k: u64, n: u64| {
        if n == 0 {
            "–".to_string()
        } else {
            format!("{} %", fmt_num(100.0 * k as f64 / n as f64, 0, lang))
        }
    };
    let mut rows = vec![
        vec![
            tr.t("fb-stat-answers"),
            show(vc.answers(), cur.answers.to_string(), &w),
            show(vp.answers(), prev.answers.to_string(), &w),
        ],
        vec![
            tr.t("fb-stat-with-text"),
            show(vc.answers(), cur.with_text.to_string(), &w),
            show(vp.answers(), prev.with_text.to_string(), &w),
        ],
        vec![
            tr.t("fb-stat-nps"),
            show(vc.nps(), nps_text(&cur.nps), &w),
            show(vp.nps(), nps_text(&prev.nps), &w),
        ],
        vec![
            tr.t("fb-stat-nps-ci"),
            show(vc.nps(), ci(&cur.nps), &w),
            show(vp.nps(), ci(&prev.nps), &w),
        ],
        vec![
            tr.t("fb-stat-nps-n"),
            show(vc.nps(), cur.nps.n.to_string(), &w),
            show(vp.nps(), prev.nps.n.to_string(), &w),
        ],
    ];
    for (key, f) in [
        (
            "fb-stat-promoters",
            (|s: &NpsStats| s.promoters) as fn(&NpsStats) -> u64,
        ),
        ("fb-stat-passives", |s: &NpsStats| s.passives),
        ("fb-stat-detractors", |s: &NpsStats| s.detractors),
    ] {
        rows.push(vec![
            tr.t(key),
            show(vc.nps(), share(f(&cur.nps), cur.nps.n), &w),
            show(vp.nps(), share(f(&prev.nps), prev.nps.n), &w),
        ]);
    }
    rows
}

fn statement_table(
    page: &Page,
    survey: &SurveyDef,
    stats: &FeedbackStats,
    vis: [See<'_>; 2],
    period_label: &str,
    prev_label: &str,
) -> Table {
    let [vc, vp] = vis;
    let tr = &page.tr;
    let w = tr.t("fb-withheld");
    let mut head = vec![
        tr.t("fb-col-statement"),
        period_label.to_owned(),
        prev_label.to_owned(),
        tr.t("fb-col-n"),
        tr.t("fb-col-cannot-say"),
    ];
    head.extend(survey.scale.points().map(|p| p.to_string()));
    let rows = stats
        .current
        .statements
        .iter()
        .map(|s| {
            let label = survey
                .statement(&s.key)
                .map(|st| resolve(&st.text, page.lang))
                .unwrap_or_else(|| s.key.clone());
            let prev = stats.prev.statement(&s.key);
            let ok = vc.statement(&s.key);
            let mut row = vec![
                label,
                show(ok, mean_text(Some(s), page.lang), &w),
                show(vp.statement(&s.key), mean_text(prev, page.lang), &w),
                show(ok, s.n.to_string(), &w),
                show(ok, s.cannot_say.to_string(), &w),
            ];
            row.extend(s.distribution.iter().map(|d| show(ok, d.to_string(), &w)));
            row
        })
        .collect();
    Table {
        title: tr.t("fb-stat-statements"),
        head,
        rows,
    }
}

/// A breakdown row: label, this period, the previous one, and what of them may be shown.
type BreakdownRow<'a> = (String, &'a Summary, &'a Summary, [See<'a>; 2]);

fn breakdown_table(
    page: &Page,
    title: String,
    rows: Vec<BreakdownRow<'_>>,
    period_label: &str,
    prev_label: &str,
) -> Table {
    let tr = &page.tr;
    let w = tr.t("fb-withheld");
    Table {
        title,
        head: vec![
            String::new(),
            tr.t("fb-stat-answers"),
            format!("{} {period_label}", tr.t("fb-stat-nps")),
            format!("{} {prev_label}", tr.t("fb-stat-nps")),
        ],
        rows: rows
            .into_iter()
            .map(|(label, cur, prev, [vc, vp])| {
                vec![
                    label,
                    show(vc.answers(), cur.answers.to_string(), &w),
                    show(vc.nps(), nps_text(&cur.nps), &w),
                    show(vp.nps(), nps_text(&prev.nps), &w),
                ]
            })
            .collect(),
    }
}

/// A horizontal bar chart of NPS values (−100..100) with a zero line: each
/// label on a line of its own above its bar, 400 wide, so that a phone shows
/// it at nine tenths of its size with its text still 12 px.
fn nps_chart(title: &str, bars: &[(String, Option<f64>)], lang: Lang) -> String {
    let row_h = 38;
    let height = bars.len() * row_h + 8;
    let desc: Vec<String> = bars
        .iter()
        .map(|(l, v)| {
            format!(
                "{l}: {}",
                v.map(|v| fmt_num(v, 0, lang)).unwrap_or_else(|| "–".into())
            )
        })
        .collect();
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"nps-t nps-d\" width=\"400\" height=\"{height}\" viewBox=\"0 0 400 {height}\" font-size=\"13\" font-family=\"Inter, system-ui, sans-serif\"><title id=\"nps-t\">{}</title><desc id=\"nps-d\">{}</desc>",
        escape(title),
        escape(&desc.join("; "))
    );
    let zero = 200;
    let scale = 1.3; // px per NPS point: ±100 leaves room for the figure
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = i * row_h + 4;
        let short: String = label.chars().take(48).collect();
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" fill=\"#1a1a1a\">{}</text><line x1=\"{zero}\" y1=\"{}\" x2=\"{zero}\" y2=\"{}\" stroke=\"#1a1a1a\" stroke-width=\"1\"/>",
            y + 13,
            escape(&short),
            y + 16,
            y + 33
        );
        if let Some(v) = v {
            let w = (v.abs() * scale).round().max(1.0) as i64;
            let x = if *v >= 0.0 { zero } else { zero - w };
            let _ = write!(
                svg,
                "<rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"13\" fill=\"{}\"/>",
                y + 18,
                if *v >= 0.0 { "#0000bf" } else { "#a0002a" }
            );
            let (tx, anchor) = if *v >= 0.0 {
                (zero + w + 5, "")
            } else {
                (zero - w - 5, " text-anchor=\"end\"")
            };
            let _ = write!(
                svg,
                "<text x=\"{tx}\" y=\"{}\" fill=\"#1a1a1a\" font-weight=\"bold\"{anchor}>{}</text>",
                y + 30,
                escape(&fmt_num(*v, 0, lang))
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[allow(clippy::too_many_arguments)]
async fn stats_response(
    state: &AppState,
    page: &Page,
    tree: &OrgTree,
    org: i64,
    q: &StatsQuery,
    crumbs: Vec<(String, String)>,
    base: String,
    public: bool,
) -> UiResult {
    let period = if public {
        let p = match q.period.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Period::containing(today(), PeriodKind::Tertial),
            Some(_) => stats_period(page, q.period.as_deref())?,
        };
        if !public_period(&p) {
            return Err(page.error(ErrorKind::BadRequest("fb-public-tertials")));
        }
        p
    } else {
        stats_period(page, q.period.as_deref())?
    };
    // In public no background filter: every filtered view would be one more
    // table to give a small group away through.
    let filter = if public {
        Filter::default()
    } else {
        parse_filter(page, q)?
    };
    let stats = state
        .store()
        .feedback_stats(tree, org, period, filter)
        .await
        .map_err(|e| page.error(e))?;
    let vis = if public {
        Some(
            public_view(state, tree, &stats)
                .await
                .map_err(|e| page.error(e))?,
        )
    } else {
        None
    };
    let see = |pick: &dyn Fn(&FeedbackShown) -> [&Shown; 2]| -> [See<'_>; 2] {
        match &vis {
            Some(v) => pick(v).map(|s| See(Some(s))),
            None => [See(None), See(None)],
        }
    };
    let survey = survey(state, page).await?.def;
    let tr = &page.tr;
    let period_label = period.label();
    let prev_label = stats.previous.map(|p| p.label()).unwrap_or_default();
    let mut tables = vec![Table {
        title: tr.t("fb-stat-summary"),
        head: vec![
            tr.t("report-col-figure"),
            period_label.clone(),
            prev_label.clone(),
        ],
        rows: summary_rows(
            page,
            &stats.current,
            &stats.prev,
            see(&|v| [&v.current, &v.prev]),
        ),
    }];
    tables.push(statement_table(
        page,
        &survey,
        &stats,
        see(&|v| [&v.current, &v.prev]),
        &period_label,
        &prev_label,
    ));
    fn dim_rows<'a>(
        tr: &crate::i18n::Tr,
        list: &'a [valvo_store::Breakdown],
        vis: Option<&'a [(Shown, Shown)]>,
        prefix: &str,
    ) -> Vec<BreakdownRow<'a>> {
        list.iter()
            .enumerate()
            .map(|(i, b)| {
                let label = if b.key.is_empty() {
                    tr.t("fb-not-given")
                } else {
                    tr.t(&format!("{prefix}{}", b.key))
                };
                let see = match vis.and_then(|v| v.get(i)) {
                    Some((c, p)) => [See(Some(c)), See(Some(p))],
                    None if vis.is_some() => [See(Some(&WITHHELD)), See(Some(&WITHHELD))],
                    None => [See(None), See(None)],
                };
                (label, &b.current, &b.prev, see)
            })
            .collect()
    }
    let dim_vis = |d: usize| vis.as_ref().map(|v| v.dims[d].as_slice());
    tables.push(breakdown_table(
        page,
        tr.t("fb-stat-by-lang"),
        dim_rows(tr, &stats.by_lang, dim_vis(0), "fb-lang-"),
        &period_label,
        &prev_label,
    ));
    tables.push(breakdown_table(
        page,
        tr.t("fb-stat-by-channel"),
        dim_rows(tr, &stats.by_channel, dim_vis(1), "fb-channel-"),
        &period_label,
        &prev_label,
    ));
    tables.push(breakdown_table(
        page,
        tr.t("fb-stat-by-respondent"),
        dim_rows(tr, &stats.by_respondent, dim_vis(2), "fb-respondent-"),
        &period_label,
        &prev_label,
    ));
    let child_name = |id: i64| {
        tree.get(id)
            .map(|n| resolve(&n.name, page.lang))
            .unwrap_or_default()
    };
    if !stats.by_child.is_empty() {
        tables.push(breakdown_table(
            page,
            tr.t("fb-stat-by-child"),
            stats
                .by_child
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let see = match vis.as_ref().map(|v| &v.children[i]) {
                        Some((a, b)) => [See(Some(a)), See(Some(b))],
                        None => [See(None), See(None)],
                    };
                    (child_name(c.org_unit_id), &c.current, &c.prev, see)
                })
                .collect(),
            &period_label,
            &prev_label,
        ));
    }
    let w = tr.t("fb-withheld");
    let share = |f: Option<&valvo_core::feedback::TopicFigures>| match f {
        Some(f) => shown(
            public,
            f.comments,
            f.negative_share
                .map(|v| format!("{} %", fmt_num(v, 0, page.lang)))
                .unwrap_or_else(|| "–".into()),
            &w,
        ),
        None => "–".into(),
    };
    tables.push(Table {
        title: tr.t("fb-stat-topics"),
        head: vec![
            tr.t("fb-col-topic"),
            tr.t("fb-col-comments"),
            format!("{} {period_label}", tr.t("fb-col-negative")),
            format!("{} {prev_label}", tr.t("fb-col-negative")),
        ],
        rows: stats
            .topics
            .iter()
            .map(|f| {
                let prev = stats.topics_prev.iter().find(|p| p.topic == f.topic);
                vec![
                    if f.topic.is_empty() {
                        tr.t("fb-topic-all")
                    } else {
                        topic_name(tr, &f.topic)
                    },
                    shown(public, f.comments, f.comments.to_string(), &w),
                    share(Some(f)),
                    share(prev),
                ]
            })
            .collect(),
    });
    let trend_vis = |i: usize| match &vis {
        Some(v) => v.trend.get(i).copied().unwrap_or((false, false)),
        None => (true, true),
    };
    tables.push(Table {
        title: tr.t("fb-stat-trend"),
        head: vec![
            tr.t("fb-col-year"),
            tr.t("fb-stat-answers"),
            tr.t("fb-stat-nps"),
        ],
        rows: stats
            .trend
            .iter()
            .enumerate()
            .map(|(i, y)| {
                let (a, n) = trend_vis(i);
                vec![
                    y.year.to_string(),
                    show(a, y.answers.to_string(), &w),
                    show(n, nps_text(&y.nps), &w),
                ]
            })
            .collect(),
    });
    // In public only when both languages' NPS are shown.
    let lang_nps_shown = |code: &str| match &vis {
        None => true,
        Some(v) => stats
            .by_lang
            .iter()
            .position(|b| b.key == code)
            .is_some_and(|i| v.dims[0][i].0.nps),
    };
    let gap = stats
        .lang_gap
        .filter(|g| g.large && lang_nps_shown("fi") && lang_nps_shown("sv"))
        .map(|g| {
            tr.t_args(
                "fb-gap-large",
                &[
                    ("fi", crate::i18n::arg_str(fmt_num(g.nps_fi, 0, page.lang))),
                    ("sv", crate::i18n::arg_str(fmt_num(g.nps_sv, 0, page.lang))),
                ],
            )
        });
    let bars: Vec<(String, Option<f64>)> = if stats.by_child.is_empty() {
        stats
            .trend
            .iter()
            .enumerate()
            .map(|(i, y)| (y.year.to_string(), y.nps.nps.filter(|_| trend_vis(i).1)))
            .collect()
    } else {
        stats
            .by_child
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let ok = vis.as_ref().is_none_or(|v| v.children[i].0.nps);
                (child_name(c.org_unit_id), c.current.nps.nps.filter(|_| ok))
            })
            .collect()
    };
    let chart_title = if stats.by_child.is_empty() {
        tr.t("fb-stat-trend")
    } else {
        tr.t("fb-stat-by-child")
    };
    let chart = nps_chart(&chart_title, &bars, page.lang);
    let mut periods = Vec::new();
    let year = period.year_number();
    for y in [year, year - 1, year - 2] {
        if let Ok(yp) = Period::year(y) {
            let kinds: &[PeriodKind] = if public {
                &[PeriodKind::Tertial]
            } else {
                &[PeriodKind::Tertial, PeriodKind::Half, PeriodKind::Year]
            };
            for kind in kinds.iter().copied() {
                for sub in yp.sub_periods(kind) {
                    periods.push((sub.to_string(), sub.label(), sub == period));
                }
            }
        }
    }
    let filters = if public {
        Vec::new()
    } else {
        vec![
            filter_select(
                tr,
                "service_lang",
                "fb-field-service_lang",
                &ServiceLang::ALL,
                ServiceLang::code,
                "fb-lang-",
                filter.lang,
            ),
            filter_select(
                tr,
                "channel",
                "fb-field-channel",
                &Channel::ALL,
                Channel::code,
                "fb-channel-",
                filter.channel,
            ),
            filter_select(
                tr,
                "respondent",
                "fb-filter-respondent",
                &Respondent::ALL,
                Respondent::code,
                "fb-respondent-",
                filter.respondent,
            ),
        ]
    };
    let name = tree
        .get(org)
        .map(|n| resolve(&n.name, page.lang))
        .unwrap_or_default();
    let mut links = Vec::new();
    // The national role reads the figures only (the export is answer by answer).
    let national = page
        .user
        .as_ref()
        .is_some_and(|u| u.role == valvo_core::access::Role::National);
    if !public && !national {
        links.push((
            format!("/org/{org}/feedback/export.csv?period={period}"),
            tr.t("fb-export-link"),
        ));
        if let Some(n) = tree.get(org) {
            links.push((
                format!("/feedback/{}/poster", n.code),
                tr.t("fb-poster-title"),
            ));
            links.push((format!("/feedback/{}", n.code), tr.t("fb-answer-title")));
        }
    }
    let mut l = Layout::new(
        page,
        tr.t_args("fb-stats-title", &[("org", crate::i18n::arg_str(name))]),
    );
    if public {
        // Public: headed by the county, as its other public pages are.
        l.brand = crate::branding::head(state, page, tree, org).await;
    }
    Ok(render(
        &StatsPage {
            l,
            crumbs,
            base,
            periods,
            filters,
            public,
            gap,
            tables,
            chart,
            links,
        },
        StatusCode::OK,
    ))
}

/// `GET /org/{id}/feedback?period=P&lang=&channel=&respondent=`
pub async fn stats(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
    UiQuery(q): UiQuery<StatsQuery>,
) -> UiResult {
    let (p, tree) = crate::ui::can_read_statistics(&state, &page, org).await?;
    let crumbs = crate::ui::statistics_crumbs(&page.tr, &tree, &p, org, "feedback");
    stats_response(
        &state,
        &page,
        &tree,
        org,
        &q,
        crumbs,
        format!("/org/{org}/feedback"),
        false,
    )
    .await
}

/// `GET /public/org/{code}/feedback?period=P`: small cells withheld, no text.
pub async fn public_stats(
    State(state): State<AppState>,
    page: Page,
    UiPath(code): UiPath<String>,
    UiQuery(q): UiQuery<StatsQuery>,
) -> UiResult {
    let tree = crate::ui::tree(&state, &page).await?;
    let node = unit_by_code(&tree, &code).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let mut crumbs = vec![("/public".to_string(), escape(&page.tr.t("public-title")))];
    crumbs.extend(tree.path(node.id).into_iter().map(|n| {
        (
            format!("/public/org/{}", n.code),
            text_html(&page.tr, &n.name),
        )
    }));
    stats_response(
        &state,
        &page,
        &tree,
        node.id,
        &q,
        crumbs,
        format!("/public/org/{code}/feedback"),
        true,
    )
    .await
}

// ------------------------------------------------------------ export

/// The national export as CSV (see docs/feedback-export.md).
pub fn export_csv(keys: &[String], rows: &[ExportRow]) -> String {
    let mut out = String::from("unit;month;channel;service_lang;age_group;respondent;nps");
    for k in keys {
        out.push(';');
        out.push_str(&valvo_report::data::neutralize(k));
    }
    out.push('\n');
    let code = |v: Option<u8>| v.map(|n| n.to_string()).unwrap_or_default();
    for r in rows {
        let _ = write!(
            out,
            "{};{};{};{};{};{};{}",
            valvo_report::data::neutralize(&r.unit),
            r.month,
            r.channel.export_code(),
            code(r.lang.map(ServiceLang::export_code)),
            code(r.age_group.map(AgeGroup::export_code)),
            code(r.respondent.map(Respondent::export_code)),
            code(r.nps)
        );
        for s in &r.scores {
            out.push(';');
            match s {
                Some(Score::Value(v)) => out.push_str(&v.to_string()),
                Some(Score::CannotSay) => out.push_str("EOS"),
                None => {}
            }
        }
        out.push('\n');
    }
    out
}

/// `GET /org/{id}/feedback/export.csv?period=P`
pub async fn export(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
    UiQuery(q): UiQuery<StatsQuery>,
) -> UiResult {
    let (p, _) = can_read(&state, &page, org).await?;
    let period = stats_period(&page, q.period.as_deref())?;
    let (keys, rows, _) = state
        .store()
        .national_export(&p, org, period)
        .await
        .map_err(|e| page.error(e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"feedback-{org}-{period}.csv\""),
            ),
        ],
        export_csv(&keys, &rows),
    )
        .into_response())
}

// ------------------------------------------------------------ handling

#[derive(Template)]
#[template(path = "feedback_queue.html")]
struct QueuePage {
    l: Layout,
    rows: Vec<QueueRow>,
    new_links: Vec<(String, String)>,
}

struct QueueRow {
    id: i64,
    kind: String,
    unit: String,
    received: String,
    due: String,
    overdue: bool,
    state: String,
    excerpt: String,
}

fn date_text(d: time::Date) -> String {
    valvo_core::period::format_date(d)
}

/// `GET /feedback/cases`: the handler's queue, most urgent first.
pub async fn queue(State(state): State<AppState>, page: Page) -> UiResult {
    let p = page.principal()?;
    let tree = tree(&state, &page).await?;
    let today = today();
    let list = state
        .store()
        .feedback_queue(&p, today, 500)
        .await
        .map_err(|e| page.error(e))?;
    let tr = &page.tr;
    let rows = list
        .iter()
        .map(|c| QueueRow {
            id: c.id,
            kind: tr.t(&format!("fb-kind-{}", c.kind.code())),
            unit: tree
                .get(c.org_unit_id)
                .map(|n| resolve(&n.name, page.lang))
                .unwrap_or_default(),
            received: date_text(c.received_on),
            due: date_text(c.due_on),
            overdue: c.due_on < today,
            state: tr.t(&format!("fb-state-{}", c.state.code())),
            excerpt: c.text.chars().take(120).collect(),
        })
        .collect();
    let new_links = tree
        .walk()
        .into_iter()
        .filter(|(_, n)| p.can_write(&tree, n.id))
        .take(1)
        .map(|(_, n)| {
            (
                format!("/org/{}/feedback/cases/new", n.id),
                tr.t("fb-case-new"),
            )
        })
        .collect();
    Ok(render(
        &QueuePage {
            l: Layout::new(&page, tr.t("fb-queue-title")),
            rows,
            new_links,
        },
        StatusCode::OK,
    ))
}

#[derive(Template)]
#[template(path = "feedback_case.html")]
struct CasePage {
    l: Layout,
    facts: Vec<(String, String)>,
    text: String,
    suggestion: Option<String>,
    form: FormView,
}

/// Where the text probably belongs, learnt from the county's own handled
/// and re-routed cases; shown with the words behind it when it is another
/// unit than the current one.
async fn route_suggestion(
    state: &AppState,
    page: &Page,
    tree: &OrgTree,
    c: &FeedbackCase,
) -> Option<String> {
    let examples = state.store().routing_examples(5000).await.ok()?;
    let router = valvo_text::Router::from_examples(
        examples
            .iter()
            .filter(|(_, unit)| tree.get(*unit).is_some())
            .map(|(text, unit)| (text.as_str(), *unit)),
    );
    let s = router.suggest(&c.text)?;
    let valvo_text::UnitId::Int(unit) = s.unit else {
        return None;
    };
    if unit == c.org_unit_id || s.confidence < 0.3 {
        return None;
    }
    let name = tree.get(unit).map(|n| resolve(&n.name, page.lang))?;
    Some(page.tr.t_args(
        "fb-route-suggestion",
        &[
            ("unit", crate::i18n::arg_str(name)),
            (
                "confidence",
                crate::i18n::arg_str(fmt_num(100.0 * s.confidence, 0, page.lang)),
            ),
            ("words", crate::i18n::arg_str(s.reasons.join(", "))),
        ],
    ))
}

fn case_form(
    page: &Page,
    tree: &OrgTree,
    case: &FeedbackCase,
    data: FormData,
    errors: &[FieldError],
) -> FormView {
    let tr = &page.tr;
    let b = Builder::new(tr, data, errors);
    let states: Vec<&str> = CaseState::ALL.iter().map(|s| s.code()).collect();
    let mut units = vec![(String::new(), tr.t("fb-route-keep"))];
    units.extend(
        tree.walk()
            .into_iter()
            .filter(|(_, n)| n.id != case.org_unit_id)
            .map(|(depth, n)| {
                (
                    n.id.to_string(),
                    format!("{}{}", "· ".repeat(depth), resolve(&n.name, page.lang)),
                )
            }),
    );
    let mut fields = vec![
        b.select("case_state", &states, "fb-state"),
        b.plain("tags", InputKind::Text, false),
        b.plain("case_note", InputKind::Textarea, false),
    ];
    if case.contact.is_some() {
        fields.push(b.plain("reply", InputKind::Textarea, false));
    }
    let mut route = b.plain("route_to", InputKind::Select, false);
    route.options = units;
    fields.push(route);
    b.form(
        format!("/feedback/cases/{}", case.id),
        "save",
        "/feedback/cases".into(),
        vec![Group {
            legend: String::new(),
            fields,
        }],
    )
}

fn case_data(c: &FeedbackCase) -> FormData {
    let mut d = FormData::new();
    d.insert("case_state".into(), c.state.code().into());
    d.insert("tags".into(), c.tags.join(", "));
    d.insert("case_note".into(), c.note.clone());
    d.insert("reply".into(), c.reply.clone());
    d
}

fn case_page(
    page: &Page,
    tree: &OrgTree,
    c: &FeedbackCase,
    suggestion: Option<String>,
    data: FormData,
    errors: &[FieldError],
) -> Response {
    let tr = &page.tr;
    let unit = |id: i64| {
        tree.get(id)
            .map(|n| resolve(&n.name, page.lang))
            .unwrap_or_default()
    };
    let mut facts = vec![
        (
            tr.t("fb-col-kind"),
            tr.t(&format!("fb-kind-{}", c.kind.code())),
        ),
        (tr.t("fb-col-unit"), unit(c.org_unit_id)),
        (tr.t("fb-col-received"), date_text(c.received_on)),
        (tr.t("fb-col-due"), date_text(c.due_on)),
        (
            tr.t("fb-field-state"),
            tr.t(&format!("fb-state-{}", c.state.code())),
        ),
    ];
    if let Some(n) = c.nps {
        facts.push((tr.t("fb-stat-nps-answer"), n.to_string()));
    }
    if let Some(sent) = &c.sentiment {
        facts.push((
            tr.t("fb-col-sentiment"),
            tr.t(&format!("fb-sentiment-{sent}")),
        ));
    }
    if !c.topics.is_empty() {
        facts.push((
            tr.t("fb-col-topic"),
            c.topics
                .iter()
                .map(|t| topic_name(tr, t))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    if let Some(from) = c.routed_from {
        facts.push((tr.t("fb-col-routed-from"), unit(from)));
    }
    facts.push((
        tr.t("fb-col-contact"),
        c.contact.clone().unwrap_or_else(|| tr.t("fb-no-contact")),
    ));
    if let Some(d) = c.replied_on {
        facts.push((tr.t("fb-col-replied"), date_text(d)));
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        &CasePage {
            l: Layout::new(
                page,
                tr.t_args(
                    "fb-case-title",
                    &[("id", crate::i18n::arg_num(c.id as f64))],
                ),
            ),
            facts,
            text: c.text.clone(),
            suggestion,
            form: case_form(page, tree, c, data, errors),
        },
        status,
    )
}

/// `GET /feedback/cases/{id}`
pub async fn case(State(state): State<AppState>, page: Page, UiPath(id): UiPath<i64>) -> UiResult {
    let p = page.principal()?;
    let tree = tree(&state, &page).await?;
    let c = state
        .store()
        .feedback_case(&p, id)
        .await
        .map_err(|e| page.error(e))?;
    let suggestion = route_suggestion(&state, &page, &tree, &c).await;
    Ok(case_page(&page, &tree, &c, suggestion, case_data(&c), &[]))
}

/// `POST /feedback/cases/{id}`
pub async fn case_update(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = page.principal()?;
    let tree = tree(&state, &page).await?;
    let c = state
        .store()
        .feedback_case(&p, id)
        .await
        .map_err(|e| page.error(e))?;
    let mut errors = Vec::new();
    let get = |k: &str| data.get(k).cloned();
    let state_v = match get("case_state").as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            let v = CaseState::parse(s);
            if v.is_none() {
                errors.push(FieldError::new("case_state", ErrorCode::Invalid));
            }
            v
        }
    };
    let route_to = match get("route_to").as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => match s.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                errors.push(FieldError::new("route_to", ErrorCode::Invalid));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Ok(case_page(&page, &tree, &c, None, data, &errors));
    }
    let update = CaseUpdate {
        state: state_v,
        tags: get("tags"),
        note: get("case_note"),
        reply: get("reply"),
        route_to,
    };
    match state.store().update_case(&p, id, &update, today()).await {
        Ok(after) if after.org_unit_id != c.org_unit_id => Ok(see_other("/feedback/cases")),
        Ok(_) => Ok(see_other(&format!("/feedback/cases/{id}"))),
        Err(StoreError::Invalid(errors)) => Ok(case_page(
            &page,
            &tree,
            &c,
            None,
            data,
            &case_fields(errors),
        )),
        Err(e) => Err(page.error(e)),
    }
}

fn new_case_form(page: &Page, org: i64, data: FormData, errors: &[FieldError]) -> FormView {
    let b = Builder::new(&page.tr, data, errors);
    let mut received = b.plain("received_on", InputKind::Text, true);
    received.input_type = "date";
    let mut due = b.plain("due_on", InputKind::Text, false);
    due.input_type = "date";
    let fields = vec![
        b.select("case_kind", &["remark", "complaint", "feedback"], "fb-kind"),
        received,
        due,
        b.plain("case_text", InputKind::Textarea, true),
        b.plain("contact", InputKind::Text, false),
    ];
    b.form(
        format!("/org/{org}/feedback/cases/new"),
        "save",
        "/feedback/cases".into(),
        vec![Group {
            legend: String::new(),
            fields,
        }],
    )
}

/// Store field names of a case as the form names them.
fn case_fields(errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|mut e| {
            e.field = match e.field.as_str() {
                "kind" => "case_kind".into(),
                "text" => "case_text".into(),
                "state" => "case_state".into(),
                "note" => "case_note".into(),
                _ => e.field,
            };
            e
        })
        .collect()
}

/// `GET /org/{id}/feedback/cases/new`: record a remark or complaint.
pub async fn case_new(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
) -> UiResult {
    let (p, tree) = can_read(&state, &page, org).await?;
    if !p.can_write(&tree, org) {
        return Err(page.error(ErrorKind::Forbidden));
    }
    let mut data = FormData::new();
    data.insert("received_on".into(), today().to_string());
    let form = new_case_form(&page, org, data, &[]);
    Ok(form_page(
        &page,
        page.tr.t("fb-case-new"),
        crumbs(&page.tr, &tree, &p, org),
        String::new(),
        form,
    ))
}

/// `POST /org/{id}/feedback/cases/new`
pub async fn case_create(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let (p, tree) = can_read(&state, &page, org).await?;
    let raw = RawCase {
        kind: data.get("case_kind").cloned().unwrap_or_default(),
        received_on: data.get("received_on").cloned().unwrap_or_default(),
        due_on: data.get("due_on").cloned().unwrap_or_default(),
        text: data.get("case_text").cloned().unwrap_or_default(),
        contact: data.get("contact").cloned().unwrap_or_default(),
    };
    let invalid = |errors: Vec<FieldError>| {
        form_page(
            &page,
            page.tr.t("fb-case-new"),
            crumbs(&page.tr, &tree, &p, org),
            String::new(),
            new_case_form(&page, org, data.clone(), &case_fields(errors)),
        )
    };
    let case = match raw.parse(&CaseDeadlines::default(), today()) {
        Ok(c) => c,
        Err(errors) => return Ok(invalid(errors)),
    };
    match state.store().create_case(&p, org, &case).await {
        Ok(id) => Ok(see_other(&format!("/feedback/cases/{id}"))),
        Err(StoreError::Invalid(errors)) => Ok(invalid(errors)),
        Err(e) => Err(page.error(e)),
    }
}

// ------------------------------------------------------------ survey

#[derive(Template)]
#[template(path = "feedback_survey.html")]
struct SurveyPage {
    l: Layout,
    version: i64,
    statements: Vec<SurveyRow>,
    /// A service of several counties: the list says whose each statement is.
    counties: bool,
    form: Option<FormView>,
}

/// A statement as the survey page lists it.
struct SurveyRow {
    key: String,
    fi: String,
    sv: String,
    en: String,
    national: bool,
    /// Whose it is: a county's name, or every county.
    owner: String,
}

/// The form of a new statement; in a service of several counties someone
/// who works for all of them chooses whose it is.
fn statement_form(
    page: &Page,
    tree: &OrgTree,
    p: &Principal,
    data: FormData,
    errors: &[FieldError],
) -> FormView {
    let b = Builder::new(&page.tr, data, errors);
    let key = b.plain("statement_key", InputKind::Text, true);
    let mut fields = vec![key];
    if crate::county_lists::asks_county(p, tree) {
        let mut county = crate::county_lists::county_field(&b, page, tree);
        county.hint = Some(page.tr.t("fb-hint-statement-county"));
        fields.push(county);
    }
    let mut texts = b.i18n("statement_text", InputKind::Text, false);
    texts.legend = page.tr.t("field-statement_text");
    b.form(
        "/feedback/survey".into(),
        "fb-add-statement",
        "/feedback/survey".into(),
        vec![
            Group {
                legend: page.tr.t("fb-add-statement"),
                fields,
            },
            texts,
        ],
    )
}

fn survey_page(
    page: &Page,
    tree: &OrgTree,
    p: &Principal,
    s: &SurveyVersion,
    data: FormData,
    errors: &[FieldError],
) -> Response {
    // A county's people see the statements asked in their county.
    let view = crate::county_lists::view_county(p, tree);
    let statements = s
        .def
        .statements
        .iter()
        .filter(|st| view.is_none() || st.asked_in(view.as_deref()))
        .map(|st| SurveyRow {
            key: st.key.clone(),
            fi: st.text.fi.clone().unwrap_or_default(),
            sv: st.text.sv.clone().unwrap_or_default(),
            en: st.text.en.clone().unwrap_or_default(),
            national: st.national,
            owner: crate::county_lists::owner_label(page, tree, st.county.as_deref()),
        })
        .collect();
    render(
        &SurveyPage {
            l: Layout::new(page, page.tr.t("fb-survey-title")),
            version: s.version,
            statements,
            counties: tree.roots().len() > 1,
            form: adds_statements(p, tree).then(|| statement_form(page, tree, p, data, errors)),
        },
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
    )
}

/// Whether `p` may add a statement: a shared one, or its county's own (as
/// the lists, [`Principal::may_configure_lists`]).
fn adds_statements(p: &Principal, tree: &OrgTree) -> bool {
    p.may_configure_lists(tree, p.own_county(tree))
}

/// `GET /feedback/survey`
pub async fn survey_view(State(state): State<AppState>, page: Page) -> UiResult {
    let p = page.principal()?;
    let tree = tree(&state, &page).await?;
    let s = survey(&state, &page).await?;
    Ok(survey_page(&page, &tree, &p, &s, FormData::new(), &[]))
}

/// `POST /feedback/survey`: adds a statement (a new survey version).
pub async fn survey_add(
    State(state): State<AppState>,
    page: Page,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = page.principal()?;
    let tree = tree(&state, &page).await?;
    if !adds_statements(&p, &tree) {
        return Err(page.error(ErrorKind::Forbidden));
    }
    let get = |k: &str| data.get(k).cloned();
    let text = I18nText::new(
        get("statement_text_fi"),
        get("statement_text_sv"),
        get("statement_text_en"),
    );
    let key = get("statement_key").unwrap_or_default();
    let county = crate::county_lists::form_county(&p, &tree, &data);
    match state
        .store()
        .add_survey_statement(&p, &key, text, county.as_deref())
        .await
    {
        Ok(_) => Ok(see_other("/feedback/survey")),
        Err(StoreError::Invalid(errors)) => {
            let errors: Vec<FieldError> = errors
                .into_iter()
                .map(|mut e| {
                    e.field = match e.field.as_str() {
                        "key" => "statement_key".into(),
                        f => f.replace("text_", "statement_text_"),
                    };
                    e
                })
                .collect();
            let s = survey(&state, &page).await?;
            Ok(survey_page(&page, &tree, &p, &s, data, &errors))
        }
        Err(e) => Err(page.error(e)),
    }
}

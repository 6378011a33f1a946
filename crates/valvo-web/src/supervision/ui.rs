//! The supervision pages: the open corrections and the year's visits, a
//! form to record a visit, a visit with its findings (the producer's reply,
//! the day the report went to AVI), and the statistics of a part of the
//! organisation.

use axum::extract::State;
use axum::Form;
use serde::Deserialize;
use valvo_core::access::{Principal, Role};
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_core::supervision::{NewFinding, NewVisit, Severity, Topic, VisitKind};
use valvo_core::{I18nText, OrgTree, Period, PeriodKind};
use valvo_store::{Finding, StoreError, Visit};

use crate::api::today;
use crate::ctx::{Page, UiPath, UiQuery};
use crate::error::{ErrorKind, UiError};
use crate::forms::{Builder, FormData, Group, InputKind};
use crate::html::escape;
use crate::i18n::arg_str;
use crate::ombudsman::ui::{select, unit_options};
use crate::oversight_page::{
    html_table, period_choices, period_param, plain, plain_table, show, table_section,
    OversightPage, Section,
};
use crate::ui::{can_read, crumbs, see_other, tree, UiResult};
use crate::AppState;

const FORM_TOPICS: usize = 3;
const FORM_FINDINGS: usize = 2;

fn follower(page: &Page) -> Result<Principal, UiError> {
    let p = page.principal()?;
    if matches!(
        p.role,
        Role::Supervisor | Role::QualityCoordinator | Role::Admin | Role::AreaManager
    ) {
        Ok(p)
    } else {
        Err(page.error(ErrorKind::Forbidden))
    }
}

fn unit_name(page: &Page, tree: &OrgTree, id: i64) -> String {
    tree.get(id)
        .map(|n| plain(page, &n.name))
        .unwrap_or_default()
}

fn date(d: time::Date) -> String {
    valvo_core::period::format_date(d)
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    recorded: Option<String>,
    period: Option<String>,
}

#[derive(Deserialize)]
pub struct PeriodQuery {
    period: Option<String>,
}

/// The checklist's active topics, for a select (a county's own named with
/// its county for someone who works for every county, `view` `None`).
fn topic_options(
    page: &Page,
    tree: &OrgTree,
    view: Option<&str>,
    topics: &[Topic],
) -> Vec<(String, String)> {
    topics
        .iter()
        .filter(|t| t.active)
        .map(|t| {
            let name = plain(page, &t.name);
            let label =
                crate::county_lists::option_label(page, tree, view, name, t.county.as_deref());
            (t.code.clone(), label)
        })
        .collect()
}

async fn checklist(state: &AppState, page: &Page) -> Result<Vec<Topic>, UiError> {
    state
        .store()
        .supervision_topics()
        .await
        .map_err(|e| page.error(e))
}

fn visits_table(page: &Page, tree: &OrgTree, visits: &[Visit]) -> crate::report_html::TableView {
    let t = |k: &str| page.tr.t(k);
    html_table(
        t("supervision-title"),
        vec![
            t("supervision-visited-on"),
            t("supervision-unit"),
            t("supervision-kind"),
            t("report-col-producer"),
            t("supervision-findings"),
        ],
        4,
        visits
            .iter()
            .map(|v| {
                (
                    vec![
                        format!(
                            "<a href=\"/supervision/visits/{}\">{}</a>",
                            v.id,
                            escape(&date(v.visited_on))
                        ),
                        escape(&unit_name(page, tree, v.org_unit_id)),
                        escape(&t(&format!("visit-kind-{}", v.kind.code()))),
                        escape(&t(&format!("ombudsman-producer-{}", v.producer.code()))),
                    ],
                    vec![v.findings.len().to_string()],
                )
            })
            .collect(),
    )
}

fn corrections_table(
    page: &Page,
    tree: &OrgTree,
    topics: &[Topic],
    list: &[Finding],
    caption: String,
) -> crate::report_html::TableView {
    let t = |k: &str| page.tr.t(k);
    html_table(
        caption,
        vec![
            t("supervision-due"),
            t("supervision-unit"),
            t("report-col-topic"),
            t("field-finding_severity"),
            t("supervision-state"),
        ],
        5,
        list.iter()
            .map(|f| {
                (
                    vec![
                        format!(
                            "<a href=\"/supervision/visits/{}\">{}</a>",
                            f.visit_id,
                            escape(&f.correction_due.map(date).unwrap_or_default())
                        ),
                        escape(&unit_name(page, tree, f.org_unit_id)),
                        escape(&plain(
                            page,
                            &valvo_core::ombudsman::name_in(&topics, &f.topic),
                        )),
                        escape(&t(&format!("severity-{}", f.severity.code()))),
                        escape(
                            &f.state
                                .map(|s| t(&format!("correction-{}", s.code())))
                                .unwrap_or_default(),
                        ),
                    ],
                    Vec::new(),
                )
            })
            .collect(),
    )
}

async fn page_response(
    state: &AppState,
    page: &Page,
    p: &Principal,
    data: FormData,
    errors: &[FieldError],
    notice: String,
    period: Option<Period>,
) -> UiResult {
    let tree = tree(state, page).await?;
    // Offered on the form: the shared topics and those of the supervisor's county.
    let mut topics = checklist(state, page).await?;
    let view = crate::county_lists::view_county(p, &tree);
    crate::county_lists::keep_offered(&mut topics, view.as_deref(), |t| t.county.as_deref());
    let t = |k: &str| page.tr.t(k);
    let store = state.store();
    let open = store
        .open_corrections(p, today())
        .await
        .map_err(|e| page.error(e))?;
    let year = period.unwrap_or_else(|| Period::containing(today(), PeriodKind::Year));
    let roots: Vec<i64> = match p.scope {
        Some(s) => vec![s],
        None => tree.roots().iter().map(|n| n.id).collect(),
    };
    let mut visits = Vec::new();
    for &r in &roots {
        visits.extend(
            store
                .visits(&tree, r, year, today())
                .await
                .map_err(|e| page.error(e))?,
        );
    }
    let mut links: Vec<(String, String)> = roots
        .iter()
        .map(|&id| {
            (
                format!("/org/{id}/supervision"),
                format!("{} – {}", t("ombudsman-stats"), unit_name(page, &tree, id)),
            )
        })
        .collect();
    links.truncate(20);
    let sections = vec![
        Section {
            heading: t("supervision-open-corrections"),
            empty: t("supervision-no-corrections"),
            tables: if open.is_empty() {
                Vec::new()
            } else {
                vec![corrections_table(
                    page,
                    &tree,
                    &topics,
                    &open,
                    t("supervision-open-corrections"),
                )]
            },
            ..Default::default()
        },
        Section {
            heading: page
                .tr
                .t_args("supervision-recent", &[("period", arg_str(year.label()))]),
            empty: t("supervision-none"),
            tables: if visits.is_empty() {
                Vec::new()
            } else {
                vec![visits_table(page, &tree, &visits)]
            },
            ..Default::default()
        },
    ];
    let units = unit_options(page, &tree, &|id| p.can_supervise(&tree, id));
    // The visits a follow-up may follow: this and last year's, newest first.
    let mut earlier_visits = Vec::new();
    let this_year = Period::containing(today(), PeriodKind::Year);
    for y in [Some(this_year), this_year.prev()].into_iter().flatten() {
        for &r in &roots {
            earlier_visits.extend(
                store
                    .visits(&tree, r, y, today())
                    .await
                    .map_err(|e| page.error(e))?,
            );
        }
    }
    let earlier: Vec<(String, String)> = earlier_visits
        .iter()
        .filter(|v| p.can_supervise(&tree, v.org_unit_id))
        .take(200)
        .map(|v| {
            (
                v.id.to_string(),
                format!(
                    "{} \u{2013} {} ({})",
                    date(v.visited_on),
                    unit_name(page, &tree, v.org_unit_id),
                    t(&format!("visit-kind-{}", v.kind.code()))
                ),
            )
        })
        .collect();
    let form = (!units.is_empty()).then(|| {
        let mut data = data;
        data.entry("visited_on".into())
            .or_insert_with(|| today().to_string());
        let b = Builder::new(&page.tr, data, errors);
        let mut day = b.plain("visited_on", InputKind::Text, true);
        day.input_type = "date";
        let mut fields = vec![
            select(&b, "visit_org_unit", t("field-visit_org_unit"), None, units),
            day,
            select(
                &b,
                "visit_kind",
                t("field-visit_kind"),
                None,
                VisitKind::ALL
                    .iter()
                    .map(|k| (k.code().to_string(), t(&format!("visit-kind-{}", k.code()))))
                    .collect(),
            ),
            select(
                &b,
                "follows",
                t("field-follows"),
                Some(t("ombudsman-choose")),
                earlier.clone(),
            ),
        ];
        for j in 1..=FORM_TOPICS {
            fields.push(select(
                &b,
                &format!("topic{j}"),
                page.tr
                    .t_args("field-topic", &[("n", arg_str(j.to_string()))]),
                Some(t("ombudsman-choose")),
                topic_options(page, &tree, view.as_deref(), &topics),
            ));
        }
        let mut groups = vec![Group {
            legend: String::new(),
            fields,
        }];
        for i in 1..=FORM_FINDINGS {
            let name = |f: &str| format!("finding{i}_{f}");
            let mut topic = select(
                &b,
                &name("topic"),
                t("field-finding_topic"),
                Some(t("ombudsman-choose")),
                topic_options(page, &tree, view.as_deref(), &topics),
            );
            topic.hint = Some(t("supervision-finding-optional"));
            let mut due = b.plain(&name("due"), InputKind::Text, false);
            due.label = t("field-finding_due");
            due.input_type = "date";
            let mut text_fi = b.plain(&name("text_fi"), InputKind::Textarea, false);
            text_fi.label = t("field-finding_text_fi");
            text_fi.lang = Some("fi");
            let mut text_sv = b.plain(&name("text_sv"), InputKind::Textarea, false);
            text_sv.label = t("field-finding_text_sv");
            text_sv.lang = Some("sv");
            groups.push(Group {
                legend: page
                    .tr
                    .t_args("supervision-finding", &[("n", arg_str(i.to_string()))]),
                fields: vec![
                    topic,
                    {
                        // Optional with its finding: asked only when there is one.
                        let mut f = select(
                            &b,
                            &name("severity"),
                            t("field-finding_severity"),
                            None,
                            Severity::ALL
                                .iter()
                                .map(|s| {
                                    (s.code().to_string(), t(&format!("severity-{}", s.code())))
                                })
                                .collect(),
                        );
                        f.required = false;
                        f
                    },
                    text_fi,
                    text_sv,
                    due,
                ],
            });
        }
        b.form(
            "/supervision".into(),
            "supervision-record",
            "/".into(),
            groups,
        )
    });
    Ok(show(
        page,
        t("supervision-title"),
        OversightPage {
            notice,
            intro: t("supervision-intro"),
            links,
            base: "/supervision".into(),
            periods: period_choices(year),
            sections,
            form_heading: t("supervision-record"),
            form,
            ..Default::default()
        },
    ))
}

/// `GET /supervision`.
pub async fn page(
    State(state): State<AppState>,
    page: Page,
    UiQuery(q): UiQuery<NoticeQuery>,
) -> UiResult {
    let p = follower(&page)?;
    let notice = if q.recorded.is_some() {
        page.tr.t("supervision-updated")
    } else {
        String::new()
    };
    let period = match q.period.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(_) => Some(period_param(&page, q.period.as_deref())?),
        None => None,
    };
    page_response(&state, &page, &p, FormData::new(), &[], notice, period).await
}

/// The visit on the form, with the form field each topic and finding came from.
fn visit_of(data: &FormData) -> (Option<NewVisit>, Vec<usize>, Vec<usize>, Vec<FieldError>) {
    let mut errors = Vec::new();
    let get = |k: &str| {
        data.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let parse_date =
        |s: &str| time::Date::parse(s, &time::format_description::well_known::Iso8601::DATE).ok();
    let org_unit = get("visit_org_unit").parse::<i64>().ok();
    if org_unit.is_none() {
        errors.push(FieldError::new("visit_org_unit", ErrorCode::Required));
    }
    let visited_on = parse_date(&get("visited_on"));
    if visited_on.is_none() {
        errors.push(FieldError::new("visited_on", ErrorCode::Invalid));
    }
    let kind = VisitKind::parse(&get("visit_kind"));
    if kind.is_none() {
        errors.push(FieldError::new("visit_kind", ErrorCode::Required));
    }
    let follows_raw = get("follows");
    let follows = if follows_raw.is_empty() {
        None
    } else {
        let id = follows_raw.trim_start_matches('#').parse::<i64>().ok();
        if id.is_none() {
            errors.push(FieldError::new("follows", ErrorCode::NotANumber));
        }
        id
    };
    let mut topic_origin = Vec::new();
    let mut topics = Vec::new();
    for j in 1..=FORM_TOPICS {
        let t = get(&format!("topic{j}"));
        if !t.is_empty() {
            topic_origin.push(j);
            topics.push(t);
        }
    }
    let mut finding_origin = Vec::new();
    let mut findings = Vec::new();
    for i in 1..=FORM_FINDINGS {
        let f = |k: &str| get(&format!("finding{i}_{k}"));
        let (topic, fi, sv, due) = (f("topic"), f("text_fi"), f("text_sv"), f("due"));
        if topic.is_empty() && fi.is_empty() && sv.is_empty() && due.is_empty() {
            continue;
        }
        let correction_due = if due.is_empty() {
            None
        } else {
            let d = parse_date(&due);
            if d.is_none() {
                errors.push(FieldError::new(
                    format!("finding{i}_due"),
                    ErrorCode::Invalid,
                ));
            }
            d
        };
        let Some(severity) = Severity::parse(&f("severity")) else {
            errors.push(FieldError::new(
                format!("finding{i}_severity"),
                ErrorCode::Required,
            ));
            continue;
        };
        finding_origin.push(i);
        findings.push(NewFinding {
            topic,
            severity,
            text: I18nText::new(Some(fi), Some(sv), None),
            correction_due,
        });
    }
    let visit = match (org_unit, visited_on, kind) {
        (Some(org_unit), Some(visited_on), Some(kind)) => Some(NewVisit {
            org_unit,
            visited_on,
            kind,
            topics,
            findings,
            follows,
        }),
        _ => None,
    };
    (visit, topic_origin, finding_origin, errors)
}

fn form_field(e: FieldError, topics: &[usize], findings: &[usize]) -> FieldError {
    let parts: Vec<&str> = e.field.split('.').collect();
    let field = match parts.as_slice() {
        ["org_unit"] => "visit_org_unit".to_string(),
        ["kind"] => "visit_kind".to_string(),
        ["topics", k] => format!(
            "topic{}",
            k.parse::<usize>()
                .ok()
                .and_then(|k| topics.get(k))
                .copied()
                .unwrap_or(1)
        ),
        ["findings", k, rest @ ..] => {
            let i = k
                .parse::<usize>()
                .ok()
                .and_then(|k| findings.get(k))
                .copied()
                .unwrap_or(1);
            let f = match rest.first().copied() {
                Some("correction_due") => "due",
                Some("text") => "text_fi",
                Some(other) => other,
                None => "topic",
            };
            format!("finding{i}_{f}")
        }
        ["findings"] => "finding1_topic".to_string(),
        _ => e.field.clone(),
    };
    FieldError::new(field, e.code)
}

/// `POST /supervision`: records the visit on the form.
pub async fn record(
    State(state): State<AppState>,
    page: Page,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = follower(&page)?;
    let (visit, topics, findings, mut errors) = visit_of(&data);
    if let (Some(visit), true) = (visit, errors.is_empty()) {
        match state.store().create_visit(&p, &visit, today()).await {
            Ok(id) => return Ok(see_other(&format!("/supervision/visits/{id}?recorded=1"))),
            Err(StoreError::Invalid(fields)) => {
                errors = fields
                    .into_iter()
                    .map(|e| form_field(e, &topics, &findings))
                    .collect()
            }
            Err(StoreError::Forbidden) => {
                errors = vec![FieldError::new("visit_org_unit", ErrorCode::NotFound)]
            }
            Err(e) => return Err(page.error(e)),
        }
    }
    page_response(&state, &page, &p, data, &errors, String::new(), None).await
}

async fn visit_response(state: &AppState, page: &Page, id: i64, notice: String) -> UiResult {
    let p = follower(page)?;
    let topics = checklist(state, page).await?;
    let v = state
        .store()
        .visit(&p, id, today())
        .await
        .map_err(|e| page.error(e))?;
    let tree = tree(state, page).await?;
    let t = |k: &str| page.tr.t(k);
    let unit = unit_name(page, &tree, v.org_unit_id);
    let title = page.tr.t_args(
        "supervision-visit-title",
        &[
            ("date", arg_str(date(v.visited_on))),
            ("org", arg_str(unit.clone())),
        ],
    );
    let writes = p.can_supervise(&tree, v.org_unit_id);
    let mut details = vec![
        (
            t("supervision-unit"),
            format!("<a href=\"/org/{}\">{}</a>", v.org_unit_id, escape(&unit)),
        ),
        (
            t("report-col-producer"),
            escape(&t(&format!("ombudsman-producer-{}", v.producer.code()))),
        ),
        (
            t("supervision-kind"),
            escape(&t(&format!("visit-kind-{}", v.kind.code()))),
        ),
        (
            t("supervision-topics"),
            escape(
                &v.topics
                    .iter()
                    .map(|c| plain(page, &valvo_core::ombudsman::name_in(&topics, c)))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        ),
        (
            t("supervision-avi"),
            escape(
                &v.avi_sent_on
                    .map(date)
                    .unwrap_or_else(|| t("supervision-avi-not-sent")),
            ),
        ),
    ];
    if let Some(f) = v.follows {
        details.push((
            t("supervision-follows"),
            format!("<a href=\"/supervision/visits/{f}\">#{f}</a>"),
        ));
    }
    let rows = v
        .findings
        .iter()
        .map(|f| {
            (
                vec![
                    escape(&plain(
                        page,
                        &valvo_core::ombudsman::name_in(&topics, &f.topic),
                    )),
                    escape(&t(&format!("severity-{}", f.severity.code()))),
                    escape(&plain(page, &f.text)),
                    escape(&f.correction_due.map(date).unwrap_or_default()),
                    escape(
                        &f.state
                            .map(|s| t(&format!("correction-{}", s.code())))
                            .unwrap_or_default(),
                    ),
                    escape(&f.reply),
                ],
                Vec::new(),
            )
        })
        .collect::<Vec<_>>();
    let mut findings = Section {
        heading: t("supervision-findings"),
        empty: t("supervision-no-findings"),
        ..Default::default()
    };
    if !rows.is_empty() {
        findings.tables.push(html_table(
            t("supervision-findings"),
            vec![
                t("report-col-topic"),
                t("field-finding_severity"),
                t("report-col-finding"),
                t("supervision-due"),
                t("supervision-state"),
                t("supervision-reply"),
            ],
            6,
            rows,
        ));
    }
    let action = format!("/supervision/visits/{id}");
    if writes {
        for (n, f) in v
            .findings
            .iter()
            .enumerate()
            .filter(|(_, f)| f.correction_due.is_some())
        {
            let done = f.state == Some(valvo_core::supervision::CorrectionState::Done);
            let topic = plain(page, &valvo_core::ombudsman::name_in(&topics, &f.topic));
            findings.actions.push((
                action.clone(),
                vec![
                    (
                        String::new(),
                        "action".into(),
                        "correction".into(),
                        String::new(),
                        "hidden".into(),
                    ),
                    (
                        String::new(),
                        "finding".into(),
                        f.id.to_string(),
                        String::new(),
                        "hidden".into(),
                    ),
                    (
                        String::new(),
                        "done".into(),
                        if done { "0" } else { "1" }.into(),
                        String::new(),
                        "hidden".into(),
                    ),
                    (
                        format!("reply-{n}"),
                        "correction_reply".into(),
                        f.reply.clone(),
                        format!("{} ({topic})", t("field-correction_reply")),
                        "text".into(),
                    ),
                ],
                format!(
                    "{} ({topic})",
                    t(if done {
                        "supervision-reopen"
                    } else {
                        "supervision-mark-done"
                    })
                ),
            ));
        }
    }
    let mut avi = Section {
        heading: t("supervision-avi"),
        ..Default::default()
    };
    if writes {
        avi.actions.push((
            action.clone(),
            vec![
                (
                    String::new(),
                    "action".into(),
                    "avi".into(),
                    String::new(),
                    "hidden".into(),
                ),
                (
                    "sent_on".into(),
                    "sent_on".into(),
                    v.avi_sent_on.map(|d| d.to_string()).unwrap_or_default(),
                    t("field-sent_on"),
                    "date".into(),
                ),
            ],
            t("supervision-avi-save"),
        ));
    }
    let links: Vec<(String, String)> = ["fi", "sv"]
        .iter()
        .map(|l| {
            (
                format!("/supervision/visits/{id}/report-{l}.pdf"),
                page.tr.t_args(
                    "supervision-report-pdf",
                    &[("lang", arg_str(t(&format!("fallback-{l}"))))],
                ),
            )
        })
        .collect();
    let crumbs = vec![("/supervision".to_string(), escape(&t("nav-supervision")))];
    Ok(show(
        page,
        title,
        OversightPage {
            crumbs,
            notice,
            links,
            details: vec![details],
            sections: if writes {
                vec![findings, avi]
            } else {
                vec![findings]
            },
            ..Default::default()
        },
    ))
}

/// `GET /supervision/visits/{id}`.
pub async fn visit_page(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    UiQuery(q): UiQuery<NoticeQuery>,
) -> UiResult {
    let notice = if q.recorded.is_some() {
        page.tr.t("supervision-updated")
    } else {
        String::new()
    };
    visit_response(&state, &page, id, notice).await
}

/// `POST /supervision/visits/{id}` with `action=correction` (`finding`,
/// `done`, `correction_reply`) or `action=avi` (`sent_on`).
pub async fn visit_update(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = follower(&page)?;
    let get = |k: &str| {
        data.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let bad = || page.error(ErrorKind::BadRequest("error-invalid"));
    let store = state.store();
    let result = match get("action").as_str() {
        "correction" => {
            let finding: i64 = get("finding").parse().map_err(|_| bad())?;
            let visit = store
                .visit(&p, id, today())
                .await
                .map_err(|e| page.error(e))?;
            if !visit.findings.iter().any(|f| f.id == finding) {
                return Err(page.error(ErrorKind::NotFound));
            }
            store
                .update_correction(
                    &p,
                    finding,
                    get("done") == "1",
                    &get("correction_reply"),
                    today(),
                )
                .await
                .map(|_| ())
        }
        "avi" => {
            let d = time::Date::parse(
                &get("sent_on"),
                &time::format_description::well_known::Iso8601::DATE,
            )
            .map_err(|_| bad())?;
            store.set_avi_sent(&p, id, d, today()).await.map(|_| ())
        }
        _ => return Err(bad()),
    };
    match result {
        Ok(()) => Ok(see_other(&format!("/supervision/visits/{id}?recorded=1"))),
        Err(StoreError::Invalid(_)) => Err(bad()),
        Err(e) => Err(page.error(e)),
    }
}

/// `GET /org/{id}/supervision?period=P`: the visits table, findings and corrections.
pub async fn stats_page(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
    UiQuery(q): UiQuery<PeriodQuery>,
) -> UiResult {
    let (p, tree) = can_read(&state, &page, org).await?;
    let period = period_param(&page, q.period.as_deref())?;
    let s = state
        .store()
        .supervision_stats(&tree, org, period, today())
        .await
        .map_err(|e| page.error(e))?;
    let t = |k: &str| page.tr.t(k);
    let num = |n: u64| valvo_core::format_number(n as f64, page.tr.lang());
    let summary = plain_table(
        t("ombudsman-summary"),
        vec![t("report-col-figure"), t("report-col-value")],
        1,
        vec![
            (vec![t("report-fig-visits_total")], vec![num(s.visits)]),
            (
                vec![format!(
                    "{} ({})",
                    t("report-fig-visits_total"),
                    period.prev().map(|p| p.label()).unwrap_or_default()
                )],
                vec![num(s.previous_visits)],
            ),
            (
                vec![t("report-fig-corrections_open")],
                vec![num(s.corrections_open)],
            ),
            (
                vec![t("report-fig-corrections_overdue")],
                vec![num(s.corrections_overdue)],
            ),
        ],
    );
    let mut sections = vec![Section {
        heading: t("ombudsman-summary"),
        tables: vec![summary],
        ..Default::default()
    }];
    let topics = checklist(&state, &page).await?;
    for table in
        valvo_core::supervision::report_tables(&s, &|c| valvo_core::ombudsman::name_in(&topics, c))
    {
        sections.push(table_section(
            &page,
            t(&format!("report-table-{}", table.key)),
            &table,
        ));
    }
    let name = unit_name(&page, &tree, org);
    let title = page
        .tr
        .t_args("supervision-stats-title", &[("org", arg_str(name))]);
    let mut crumbs = crumbs(&page.tr, &tree, &p, org);
    crumbs.push((
        format!("/org/{org}/supervision"),
        escape(&t("nav-supervision")),
    ));
    Ok(show(
        &page,
        title,
        OversightPage {
            crumbs,
            base: format!("/org/{org}/supervision"),
            periods: period_choices(period),
            sections,
            ..Default::default()
        },
    ))
}

/// `GET /supervision/visits/{id}/report-{fi|sv|en}.pdf`: the inspection
/// report of a visit, for the producer and the regional state
/// administrative agency.
pub async fn report_pdf(
    State(state): State<AppState>,
    page: Page,
    UiPath((id, name)): UiPath<(i64, String)>,
) -> UiResult {
    let topics = checklist(&state, &page).await?;
    let lang = crate::oversight_page::pdf_lang(&page, &name)?;
    let p = follower(&page)?;
    let v = state
        .store()
        .visit(&p, id, today())
        .await
        .map_err(|e| page.error(e))?;
    let tree = tree(&state, &page).await?;
    let tr = crate::i18n::Tr::new(lang);
    let t = |k: &str| tr.t(k);
    let text = |x: &I18nText| {
        x.resolve(lang)
            .map(|r| r.text.to_string())
            .unwrap_or_default()
    };
    let unit = tree
        .get(v.org_unit_id)
        .map(|n| text(&n.name))
        .unwrap_or_default();
    let county = tree
        .path(v.org_unit_id)
        .first()
        .map(|n| text(&n.name))
        .unwrap_or_default();
    let mut meta = vec![
        (t("supervision-visited-on"), date(v.visited_on)),
        (
            t("supervision-kind"),
            t(&format!("visit-kind-{}", v.kind.code())),
        ),
        (
            t("report-col-producer"),
            t(&format!("ombudsman-producer-{}", v.producer.code())),
        ),
    ];
    if let Some(d) = v.avi_sent_on {
        meta.push((t("supervision-avi"), date(d)));
    }
    let checked = valvo_report::PlainPart {
        heading: t("supervision-topics"),
        paragraphs: vec![v
            .topics
            .iter()
            .map(|c| text(&valvo_core::ombudsman::name_in(&topics, c)))
            .collect::<Vec<_>>()
            .join("\n")],
        ..Default::default()
    };
    let findings = valvo_report::PlainPart {
        heading: t("supervision-findings"),
        paragraphs: if v.findings.is_empty() {
            vec![t("supervision-report-findings-none")]
        } else {
            v.findings
                .iter()
                .map(|f| {
                    let mut s = format!(
                        "{} ({}): {}",
                        text(&valvo_core::ombudsman::name_in(&topics, &f.topic)),
                        t(&format!("severity-{}", f.severity.code())),
                        text(&f.text)
                    );
                    if let Some(d) = f.correction_due {
                        s.push(' ');
                        s.push_str(&tr.t_args(
                            "supervision-report-correction",
                            &[("date", arg_str(date(d)))],
                        ));
                    }
                    s
                })
                .collect()
        },
        note: t("supervision-report-note"),
        ..Default::default()
    };
    let doc = valvo_report::PlainDocument {
        title: t("supervision-report"),
        org: unit,
        county,
        meta,
        parts: vec![checked, findings],
        branding: Default::default(),
    };
    crate::oversight_page::plain_pdf(
        &state,
        &page,
        (&tree, v.org_unit_id),
        doc,
        lang,
        &format!("visit-{id}-{name}"),
    )
    .await
}

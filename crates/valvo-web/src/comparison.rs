//! `GET /public/comparison?period=P[&county=CODE][&service_type=T]`:
//! customer experience by county on the same questions, raw and
//! standardised to the national mix (see [`valvo_core::comparison`]), the
//! country first and, with `county`, that county's own place marked and its
//! statements beside the country's; with `service_type`, the answers of the
//! units giving that service only (health stations, oral health, …), in
//! every county that has such units.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::Deserialize;
use valvo_core::comparison::{compare_counties, Compared, Estimate, Figures};
use valvo_core::feedback::Statement;
use valvo_core::{Lang, Period, PeriodKind, ServiceType};
use valvo_store::StoreError;

use crate::ctx::{Page, UiQuery};
use crate::error::ErrorKind;
use crate::feedback::fmt_num;
use crate::html::{escape, text_html};
use crate::oversight_page::{html_table, plain, show, Choice, OversightPage, Section};
use crate::ui::UiResult;
use crate::AppState;

#[derive(Deserialize)]
pub struct ComparisonQuery {
    period: Option<String>,
    county: Option<String>,
    service_type: Option<String>,
}

/// A `service_type` parameter: `Ok(None)` when absent or empty, `Err` when
/// it names no service type.
pub(crate) fn service_type_param(v: Option<&str>) -> Result<Option<ServiceType>, ()> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => ServiceType::parse(s).map(Some).ok_or(()),
    }
}

/// `12 (5…19)`: a figure and its 95 % interval, `–` when withheld.
fn estimate(e: Option<&Estimate>, decimals: usize, lang: Lang) -> String {
    e.map_or_else(
        || "\u{2013}".to_owned(),
        |e| {
            format!(
                "{} ({}\u{2026}{})",
                fmt_num(e.value, decimals, lang),
                fmt_num(e.low, decimals, lang),
                fmt_num(e.high, decimals, lang)
            )
        },
    )
}

/// The tertials of this year and the two before, `period` selected.
fn tertials(period: Period) -> Vec<(String, String, bool)> {
    let year = time::OffsetDateTime::now_utc()
        .year()
        .max(period.year_number());
    let mut out = Vec::new();
    for y in (year - 2..=year).rev() {
        for t in (1..=3).rev() {
            if let Ok(p) = format!("{y}T{t}").parse::<Period>() {
                out.push((p.to_string(), p.label(), p == period));
            }
        }
    }
    if !out.iter().any(|(_, _, s)| *s) {
        out.push((period.to_string(), period.label(), true));
    }
    out
}

/// What the comparison of a period shows.
pub(crate) struct Loaded {
    /// The organisation (its roots are the counties).
    pub(crate) tree: std::sync::Arc<valvo_core::OrgTree>,
    /// The national statements, in the order asked.
    pub(crate) national: Vec<Statement>,
    /// The country's figures.
    pub(crate) all: Figures,
    /// Each county's, every county (one without answers withheld).
    pub(crate) each: BTreeMap<i64, Figures>,
}

/// Every county's counts of `period` compared (the API's and the page's
/// data); with `service`, those of the units giving it, in every county that
/// has such units.
pub(crate) async fn load(
    state: &AppState,
    period: Period,
    service: Option<ServiceType>,
) -> Result<Loaded, StoreError> {
    let tree = state.store().org_tree().await?;
    let (mut by, counties) = match service {
        None => {
            let by = state.store().feedback_strata(period).await?;
            let ids: Vec<i64> = tree.roots().iter().map(|n| n.id).collect();
            (by, ids)
        }
        Some(t) => {
            let by = state
                .store()
                .feedback_strata_of_service(&tree, period, t)
                .await?;
            let ids = tree.service_type_parts(t).iter().map(|p| p.0).collect();
            (by, ids)
        }
    };
    // Every county, also one without answers; rows of what is not one are
    // left out.
    by.retain(|id, _| tree.get(*id).is_some_and(|n| n.parent_id.is_none()));
    for id in counties {
        by.entry(id).or_default();
    }
    let survey = state.store().current_survey().await?;
    let national: Vec<Statement> = survey
        .def
        .statements
        .into_iter()
        .filter(|s| s.national)
        .collect();
    let keys: Vec<String> = national.iter().map(|s| s.key.clone()).collect();
    let (all, each) = compare_counties(&by, &keys);
    Ok(Loaded {
        tree,
        national,
        all,
        each,
    })
}

pub async fn page(
    State(state): State<AppState>,
    page: Page,
    UiQuery(q): UiQuery<ComparisonQuery>,
) -> UiResult {
    let lang = page.tr.lang();
    let t = |k: &str| page.tr.t(k);
    let period = match q.period.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Period::containing(time::OffsetDateTime::now_utc().date(), PeriodKind::Tertial),
        Some(s) => s
            .parse()
            .map_err(|_| page.error(ErrorKind::BadRequest("error-period-invalid")))?,
    };
    if !crate::feedback::public_period(&period) {
        return Err(page.error(ErrorKind::BadRequest("fb-public-tertials")));
    }
    let service = service_type_param(q.service_type.as_deref())
        .map_err(|()| page.error(ErrorKind::BadRequest("cmp-service-invalid")))?;
    let Loaded {
        tree,
        national,
        all,
        each,
    } = load(&state, period, service)
        .await
        .map_err(|e| page.error(e))?;
    let national: Vec<&Statement> = national.iter().collect();
    let own = match q.county.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(code) => Some(
            crate::incidents::unit_by_code(&tree, code)
                .filter(|n| n.parent_id.is_none())
                .ok_or_else(|| page.error(ErrorKind::NotFound))?,
        ),
    };

    let name = |id: i64| -> String {
        let node = tree.get(id);
        let n = node
            .map(|n| text_html(&page.tr, &n.name))
            .unwrap_or_default();
        if own.is_some_and(|o| o.id == id) {
            format!("<strong>{n}</strong> ({})", escape(&t("cmp-own")))
        } else {
            n
        }
    };
    let whole = escape(&t("cmp-country"));
    // With a service, every heading names it.
    let service_label = service.map(|s| t(&format!("service-type-{}", s.code())));
    let titled = |heading: String| match &service_label {
        Some(l) => format!("{heading}: {l}"),
        None => heading,
    };
    let mut order: Vec<(i64, &Figures)> = each.iter().map(|(id, f)| (*id, f)).collect();
    // By standardised NPS, best first; withheld figures last, by name.
    let key = |f: &Figures| f.nps.standardised.map(|e| e.value);
    order.sort_by(|a, b| {
        key(b.1)
            .partial_cmp(&key(a.1))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| name(a.0).cmp(&name(b.0)))
    });
    let coverage = |c: &Compared| {
        if c.answers == 0 {
            "\u{2013}".to_owned()
        } else {
            valvo_core::format_percent((c.coverage * 100.0).round(), 0, lang)
        }
    };
    let nps_row = |label: String, f: &Figures| {
        (
            vec![label],
            vec![
                valvo_core::format_number(f.nps.answers as f64, lang),
                estimate(f.nps.raw.as_ref(), 0, lang),
                estimate(f.nps.standardised.as_ref(), 0, lang),
                coverage(&f.nps),
            ],
        )
    };
    let mut nps_rows = vec![nps_row(whole.clone(), &all)];
    nps_rows.extend(order.iter().map(|(id, f)| nps_row(name(*id), f)));
    let nps = html_table(
        titled(t("cmp-nps")),
        vec![
            t("cmp-col-county"),
            t("cmp-col-answers"),
            t("cmp-col-raw"),
            t("cmp-col-standardised"),
            t("cmp-col-coverage"),
        ],
        1,
        nps_rows,
    );
    // Plain text (a column's head); escaped where it is a row's label.
    let statement = |s: &Statement| plain(&page, &s.text);
    let mean = |c: &Compared| estimate(c.standardised.as_ref(), 2, lang);
    let mut head = vec![t("cmp-col-county")];
    head.extend(national.iter().map(|s| statement(s)));
    let mut statement_rows = vec![(
        vec![whole.clone()],
        all.statements
            .iter()
            .map(|(_, c)| mean(c))
            .collect::<Vec<_>>(),
    )];
    statement_rows.extend(order.iter().map(|(id, f)| {
        (
            vec![name(*id)],
            f.statements.iter().map(|(_, c)| mean(c)).collect(),
        )
    }));
    let statements = html_table(titled(t("cmp-statements")), head, 1, statement_rows);
    let mut sections = vec![
        Section {
            heading: titled(t("cmp-nps")),
            tables: vec![nps],
            ..Default::default()
        },
        Section {
            heading: titled(t("cmp-statements")),
            note: t("cmp-statements-note"),
            tables: vec![statements],
            ..Default::default()
        },
    ];
    let mut notice = String::new();
    if let (Some(o), Some(svc)) = (own, service) {
        if !each.contains_key(&o.id) {
            notice = page.tr.t_args(
                "cmp-service-none",
                &[
                    ("org", crate::i18n::arg_str(plain(&page, &o.name))),
                    (
                        "service",
                        crate::i18n::arg_str(t(&format!("service-type-{}", svc.code()))),
                    ),
                ],
            );
        }
    }
    if let Some((o, mine)) = own.and_then(|o| each.get(&o.id).map(|m| (o, m))) {
        let rows = national
            .iter()
            .zip(all.statements.iter().zip(&mine.statements))
            .map(|(s, ((_, country), (_, county)))| {
                (
                    vec![escape(&statement(s))],
                    vec![
                        estimate(country.raw.as_ref(), 2, lang),
                        estimate(county.raw.as_ref(), 2, lang),
                        estimate(county.standardised.as_ref(), 2, lang),
                    ],
                )
            })
            .collect();
        let heading = titled(page.tr.t_args(
            "cmp-own-heading",
            &[("org", crate::i18n::arg_str(plain(&page, &o.name)))],
        ));
        sections.insert(
            0,
            Section {
                heading: heading.clone(),
                tables: vec![html_table(
                    heading,
                    vec![
                        t("cmp-col-statement"),
                        t("cmp-country"),
                        t("cmp-col-raw"),
                        t("cmp-col-standardised"),
                    ],
                    1,
                    rows,
                )],
                ..Default::default()
            },
        );
    }
    let mut crumbs = vec![("/public".to_string(), escape(&t("public-title")))];
    if let Some(o) = own {
        crumbs.push((
            format!("/public/org/{}", o.code),
            text_html(&page.tr, &o.name),
        ));
    }
    let base = "/public/comparison".to_string();
    let brand = match own {
        Some(o) => crate::branding::head(&state, &page, &tree, o.id).await,
        None => None,
    };
    Ok(show(
        &page,
        titled(t("cmp-title")),
        OversightPage {
            crumbs,
            base,
            periods: tertials(period),
            intro: t("cmp-intro"),
            details: vec![vec![
                (t("cmp-method"), escape(&t("cmp-method-text"))),
                (t("cmp-withheld"), escape(&t("cmp-withheld-text"))),
            ]],
            sections,
            brand,
            notice,
            hidden: own
                .map(|o| vec![("county".to_owned(), o.code.clone())])
                .unwrap_or_default(),
            choices: vec![Choice {
                name: "service_type".to_owned(),
                label: t("cmp-service"),
                options: std::iter::once((String::new(), t("cmp-service-all"), service.is_none()))
                    .chain(ServiceType::ALL.into_iter().map(|s| {
                        (
                            s.code().to_owned(),
                            t(&format!("service-type-{}", s.code())),
                            service == Some(s),
                        )
                    }))
                    .collect(),
            }],
            ..Default::default()
        },
    ))
}

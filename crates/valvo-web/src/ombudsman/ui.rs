//! The ombudsperson's pages: recording a contact, and the statistics of a
//! part of the organisation (for everyone who reads it: unit managers see
//! their own units' figures, never the contacts).

use axum::extract::State;
use axum::Form;
use serde::Deserialize;
use valvo_core::access::{Principal, Role};
use valvo_core::ombudsman::{
    Channel, ClientGroup, ContactLanguage, Measure, NewContact, NewItem, OmbudsmanStats, Producer,
    Sector, Share,
};
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_core::{I18nText, OrgTree};
use valvo_store::StoreError;

use crate::ctx::{Page, UiPath, UiQuery};
use crate::error::{ErrorKind, UiError};
use crate::forms::{Builder, Field, FormData, Group, InputKind};
use crate::i18n::arg_str;
use crate::oversight_page::plain as text_plain;
use crate::oversight_page::{
    period_choices, period_param, plain_table, show, OversightPage, Section,
};
use crate::ui::{can_read, crumbs, see_other, tree, UiResult};
use crate::AppState;

/// Items a contact can have on the form.
const FORM_ITEMS: usize = 2;
/// Reasons an item can have on the form.
const FORM_REASONS: usize = 3;

fn recorder(page: &Page) -> Result<Principal, UiError> {
    let p = page.principal()?;
    if matches!(p.role, Role::Ombudsperson | Role::Admin) {
        Ok(p)
    } else {
        Err(page.error(ErrorKind::Forbidden))
    }
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    recorded: Option<String>,
}

#[derive(Deserialize)]
pub struct PeriodQuery {
    period: Option<String>,
}

/// Units `p` may name, indented by depth: (id, label).
pub(crate) fn unit_options(
    page: &Page,
    tree: &OrgTree,
    may: &dyn Fn(i64) -> bool,
) -> Vec<(String, String)> {
    tree.walk()
        .into_iter()
        .filter(|(_, n)| may(n.id))
        .map(|(depth, n)| {
            let name = n
                .name
                .resolve(page.tr.lang())
                .map(|r| r.text.to_string())
                .unwrap_or_default();
            (
                n.id.to_string(),
                format!("{}{name}", "\u{2013} ".repeat(depth)),
            )
        })
        .collect()
}

pub(crate) fn select(
    b: &Builder,
    name: &str,
    label: String,
    none: Option<String>,
    options: Vec<(String, String)>,
) -> Field {
    let mut f = b.plain(name, InputKind::Select, none.is_none());
    f.label = label;
    f.options = none
        .map(|n| (String::new(), n))
        .into_iter()
        .chain(options)
        .collect();
    f
}

fn coded<T: Copy>(
    page: &Page,
    all: &[T],
    code: fn(T) -> &'static str,
    prefix: &str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|v| {
            (
                code(*v).to_string(),
                page.tr.t(&format!("{prefix}-{}", code(*v))),
            )
        })
        .collect()
}

async fn form_response(
    state: &AppState,
    page: &Page,
    p: &Principal,
    data: FormData,
    errors: &[FieldError],
    notice: String,
) -> UiResult {
    let tree = tree(state, page).await?;
    // Offered: the shared reasons and those of the ombudsperson's county.
    let mut reasons = state
        .store()
        .ombudsman_reasons()
        .await
        .map_err(|e| page.error(e))?;
    let view = crate::county_lists::view_county(p, &tree);
    crate::county_lists::keep_offered(&mut reasons, view.as_deref(), |r| r.county.as_deref());
    let reason_options: Vec<(String, String)> = reasons
        .iter()
        .filter(|r| r.active)
        .map(|r| {
            let name = text_plain(page, &r.name);
            let label = crate::county_lists::option_label(
                page,
                &tree,
                view.as_deref(),
                name,
                r.county.as_deref(),
            );
            (r.code.clone(), label)
        })
        .collect();
    let units = unit_options(page, &tree, &|id| p.can_record_contacts(&tree, id));
    let mut data = data;
    data.entry("contacted_on".into())
        .or_insert_with(|| time::OffsetDateTime::now_utc().date().to_string());
    let b = Builder::new(&page.tr, data, errors);
    let t = |k: &str| page.tr.t(k);
    let mut date = b.plain("contacted_on", InputKind::Text, true);
    date.input_type = "date";
    let mut note = b.plain("contact_note", InputKind::Textarea, false);
    note.hint = Some(t("ombudsman-intro"));
    let mut groups = vec![Group {
        legend: String::new(),
        fields: vec![
            date,
            select(
                &b,
                "channel",
                t("field-channel"),
                None,
                coded(page, &Channel::ALL, Channel::code, "channel"),
            ),
            select(
                &b,
                "contact_language",
                t("field-contact_language"),
                None,
                coded(
                    page,
                    &ContactLanguage::ALL,
                    ContactLanguage::code,
                    "contact-language",
                ),
            ),
            select(
                &b,
                "client_group",
                t("field-client_group"),
                None,
                coded(page, &ClientGroup::ALL, ClientGroup::code, "client-group"),
            ),
            select(
                &b,
                "measure",
                t("field-measure"),
                Some(t("ombudsman-choose")),
                coded(page, &Measure::ALL, Measure::code, "measure"),
            ),
            note,
        ],
    }];
    for i in 1..=FORM_ITEMS {
        let name = |f: &str| format!("item{i}_{f}");
        let mut fields = vec![
            select(
                &b,
                &name("org_unit"),
                t("field-item_org_unit"),
                Some(t("ombudsman-unit-none")),
                units.clone(),
            ),
            select(
                &b,
                &name("producer"),
                t("field-item_producer"),
                Some(t("ombudsman-choose")),
                coded(page, &Producer::ALL, Producer::code, "ombudsman-producer"),
            ),
            select(
                &b,
                &name("sector"),
                t("field-item_sector"),
                None,
                coded(page, &Sector::ALL, Sector::code, "ombudsman-sector"),
            ),
        ];
        for j in 1..=FORM_REASONS {
            fields.push(select(
                &b,
                &name(&format!("reason{j}")),
                page.tr
                    .t_args("field-item_reason", &[("n", arg_str(j.to_string()))]),
                Some(t("ombudsman-choose")),
                reason_options.clone(),
            ));
        }
        if i > 1 {
            // The whole item is optional: none of its fields is required on its own.
            for f in &mut fields {
                f.required = false;
            }
            if let Some(f) = fields.first_mut() {
                f.hint = Some(t("ombudsman-item-optional"));
            }
        }
        groups.push(Group {
            legend: page
                .tr
                .t_args("ombudsman-item", &[("n", arg_str(i.to_string()))]),
            fields,
        });
    }
    let form = b.form("/ombudsman".into(), "ombudsman-record", "/".into(), groups);
    let home = valvo_store::home_of(p, &tree);
    let mut links = Vec::new();
    if let Some(h) = home {
        links.push((format!("/org/{h}/ombudsman"), t("ombudsman-stats")));
    }
    // The latest contacts of this year and the last: the log as kept.
    let today = time::OffsetDateTime::now_utc().date();
    let mut recent = Vec::new();
    for y in [today.year(), today.year() - 1] {
        if let Ok(period) = valvo_core::Period::year(y) {
            let left = 50 - recent.len() as i64;
            if left > 0 {
                recent.extend(
                    state
                        .store()
                        .ombudsman_contacts(p, period, left)
                        .await
                        .map_err(|e| page.error(e))?,
                );
            }
        }
    }
    let name_of = |code: &str| text_plain(page, &valvo_core::ombudsman::name_in(&reasons, code));
    let unit_of = |id: i64| {
        tree.get(id)
            .map(|n| text_plain(page, &n.name))
            .unwrap_or_default()
    };
    let rows = recent
        .iter()
        .map(|c| {
            let items = c
                .items
                .iter()
                .map(|i| {
                    let place = if i.named_unit {
                        unit_of(i.org_unit_id)
                    } else {
                        t(&format!("ombudsman-producer-{}", i.producer))
                    };
                    let reasons: Vec<String> = i.reasons.iter().map(|r| name_of(r)).collect();
                    format!("{place}: {}", reasons.join(", "))
                })
                .collect::<Vec<_>>()
                .join("; ");
            let day = time::Date::parse(
                &c.contacted_on,
                &time::format_description::well_known::Iso8601::DATE,
            )
            .map(valvo_core::period::format_date)
            .unwrap_or_else(|_| c.contacted_on.clone());
            (
                vec![
                    day,
                    t(&format!("channel-{}", c.channel)),
                    items,
                    c.note.clone(),
                ],
                Vec::new(),
            )
        })
        .collect::<Vec<_>>();
    let log = Section {
        heading: t("ombudsman-recent"),
        empty: t("ombudsman-recent-none"),
        tables: if rows.is_empty() {
            Vec::new()
        } else {
            vec![plain_table(
                t("ombudsman-recent"),
                vec![
                    t("field-contacted_on"),
                    t("field-channel"),
                    t("ombudsman-items"),
                    t("field-contact_note"),
                ],
                4,
                rows,
            )]
        },
        ..Default::default()
    };
    Ok(show(
        page,
        t("ombudsman-title"),
        OversightPage {
            notice,
            intro: String::new(),
            links,
            sections: vec![log],
            form_heading: t("ombudsman-record"),
            form: Some(form),
            ..Default::default()
        },
    ))
}

/// `GET /ombudsman`: the form to record a contact.
pub async fn page(
    State(state): State<AppState>,
    page: Page,
    UiQuery(q): UiQuery<NoticeQuery>,
) -> UiResult {
    let p = recorder(&page)?;
    let notice = if q.recorded.is_some() {
        page.tr.t("ombudsman-recorded")
    } else {
        String::new()
    };
    form_response(&state, &page, &p, FormData::new(), &[], notice).await
}

/// The contact on the form, and which form field each item's parts came from.
fn contact_of(
    data: &FormData,
) -> (
    Option<NewContact>,
    Vec<(usize, Vec<usize>)>,
    Vec<FieldError>,
) {
    let mut errors = Vec::new();
    let get = |k: &str| {
        data.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let date = get("contacted_on");
    let contacted_on =
        time::Date::parse(&date, &time::format_description::well_known::Iso8601::DATE).ok();
    if contacted_on.is_none() {
        errors.push(FieldError::new(
            "contacted_on",
            if date.is_empty() {
                ErrorCode::Required
            } else {
                ErrorCode::Invalid
            },
        ));
    }
    let mut one = |name: &str, ok: bool| {
        if !ok {
            errors.push(FieldError::new(name, ErrorCode::Required));
        }
    };
    let channel = Channel::parse(&get("channel"));
    one("channel", channel.is_some());
    let language = ContactLanguage::parse(&get("contact_language"));
    one("contact_language", language.is_some());
    let group = ClientGroup::parse(&get("client_group"));
    one("client_group", group.is_some());
    let mut items = Vec::new();
    let mut origin = Vec::new();
    for i in 1..=FORM_ITEMS {
        let f = |k: &str| get(&format!("item{i}_{k}"));
        let reasons: Vec<(usize, String)> = (1..=FORM_REASONS)
            .map(|j| (j, f(&format!("reason{j}"))))
            .filter(|(_, r)| !r.is_empty())
            .collect();
        let org_unit = f("org_unit").parse::<i64>().ok();
        if i > 1 && reasons.is_empty() && org_unit.is_none() && f("producer").is_empty() {
            continue;
        }
        let Some(sector) = Sector::parse(&f("sector")) else {
            errors.push(FieldError::new(
                format!("item{i}_sector"),
                ErrorCode::Required,
            ));
            continue;
        };
        origin.push((i, reasons.iter().map(|(j, _)| *j).collect()));
        items.push(NewItem {
            org_unit,
            producer: Producer::parse(&f("producer")),
            sector,
            reasons: reasons.into_iter().map(|(_, r)| r).collect(),
        });
    }
    let note = get("contact_note");
    // A bad day still lets the rest be checked: every error is named at once.
    let today = time::OffsetDateTime::now_utc().date();
    let contact = match (channel, language, group) {
        (Some(channel), Some(language), Some(client_group)) => Some(NewContact {
            contacted_on: contacted_on.unwrap_or(today),
            channel,
            language,
            client_group,
            items,
            measures: Measure::parse(&get("measure")).into_iter().collect(),
            note: (!note.is_empty()).then_some(note),
        }),
        _ => None,
    };
    (contact, origin, errors)
}

/// A store's field (`items.0.reasons.1`) as the form's (`item1_reason2`).
fn form_field(e: FieldError, origin: &[(usize, Vec<usize>)]) -> FieldError {
    let parts: Vec<&str> = e.field.split('.').collect();
    let field = match parts.as_slice() {
        ["language"] => "contact_language".to_string(),
        ["note"] => "contact_note".to_string(),
        ["measures", ..] => "measure".to_string(),
        ["items"] => "item1_reason1".to_string(),
        ["items", k, rest @ ..] => {
            let k: usize = k.parse().unwrap_or(0);
            let (i, reasons) = origin.get(k).cloned().unwrap_or((1, Vec::new()));
            match rest {
                ["reasons", j] => {
                    let j: usize = j.parse().unwrap_or(0);
                    format!("item{i}_reason{}", reasons.get(j).copied().unwrap_or(1))
                }
                ["reasons"] => format!("item{i}_reason1"),
                [f] => format!("item{i}_{f}"),
                _ => format!("item{i}_reason1"),
            }
        }
        _ => e.field.clone(),
    };
    FieldError::new(field, e.code)
}

/// `POST /ombudsman`: records the contact on the form.
pub async fn record(
    State(state): State<AppState>,
    page: Page,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = recorder(&page)?;
    let (contact, origin, mut errors) = contact_of(&data);
    let today = time::OffsetDateTime::now_utc().date();
    if let (Some(contact), false) = (&contact, errors.is_empty()) {
        // Checked as the store would, so the form names every error at once.
        let tree = tree(&state, &page).await?;
        let active: Vec<valvo_core::ombudsman::Reason> = state
            .store()
            .ombudsman_reasons()
            .await
            .map_err(|e| page.error(e))?
            .into_iter()
            .filter(|r| r.active)
            .collect();
        let home = valvo_store::home_of(&p, &tree);
        // Shared, or the own reasons of the item's county.
        let county = |unit: Option<i64>| unit.and_then(|u| tree.county_code(u));
        if let Err(more) = contact.resolve(&tree, p.scope, home, today, &|r, unit| {
            active.iter().any(|a| {
                a.code == r
                    && (unit.is_none()
                        || valvo_core::access::offered_in(a.county.as_deref(), county(unit)))
            })
        }) {
            errors.extend(
                more.into_iter()
                    .map(|e| form_field(e, &origin))
                    .filter(|e| e.field != "contacted_on"),
            );
        }
    }
    if let (Some(contact), true) = (contact, errors.is_empty()) {
        match state.store().create_contact(&p, &contact, today).await {
            Ok(_) => return Ok(see_other("/ombudsman?recorded=1")),
            Err(StoreError::Invalid(fields)) => {
                errors = fields.into_iter().map(|e| form_field(e, &origin)).collect()
            }
            Err(e) => return Err(page.error(e)),
        }
    }
    form_response(&state, &page, &p, data, &errors, String::new()).await
}

fn num(n: u64, page: &Page) -> String {
    valvo_core::format_number(n as f64, page.tr.lang())
}

fn pct(v: Option<f64>, decimals: usize, page: &Page) -> String {
    v.map(|v| valvo_core::format_percent(v, decimals, page.tr.lang()))
        .unwrap_or_else(|| "\u{2013}".into())
}

/// A breakdown in full (count and share, now and before), for readers of the unit.
fn breakdown(
    page: &Page,
    heading: &str,
    list: &[Share],
    label: &dyn Fn(&Share) -> String,
) -> Section {
    let t = |k: &str| page.tr.t(k);
    // Every share of the table with the decimals the most precise needs.
    let decimals = list
        .iter()
        .flat_map(|s| [s.share, s.previous_share])
        .flatten()
        .map(valvo_core::decimals_needed)
        .max()
        .unwrap_or(0);
    let rows = list
        .iter()
        .filter(|s| s.count > 0 || s.previous_count > 0)
        .map(|s| {
            (
                vec![label(s)],
                vec![
                    num(s.count, page),
                    pct(s.share, decimals, page),
                    num(s.previous_count, page),
                    pct(s.previous_share, decimals, page),
                ],
            )
        })
        .collect::<Vec<_>>();
    let heading = t(heading);
    Section {
        heading: heading.clone(),
        empty: t("supervision-none"),
        tables: if rows.is_empty() {
            Vec::new()
        } else {
            vec![plain_table(
                heading,
                vec![
                    t("report-col-figure"),
                    t("report-col-count"),
                    t("report-col-share"),
                    t("report-col-previous"),
                    t("report-col-previous-share"),
                ],
                1,
                rows,
            )]
        },
        ..Default::default()
    }
}

/// The statistics page's sections.
pub(crate) fn stats_sections(
    page: &Page,
    s: &OmbudsmanStats,
    reason_name: &dyn Fn(&str) -> String,
) -> Vec<Section> {
    let t = |k: &str| page.tr.t(k);
    let prev = s.previous_period.map(|p| p.label()).unwrap_or_default();
    let summary = plain_table(
        t("ombudsman-summary"),
        vec![t("report-col-figure"), s.period.label(), prev],
        1,
        vec![
            (
                vec![t("ombudsman-contacts")],
                vec![num(s.contacts, page), num(s.previous_contacts, page)],
            ),
            (
                vec![t("ombudsman-items")],
                vec![num(s.items, page), num(s.previous_items, page)],
            ),
        ],
    );
    let code = |prefix: &'static str| move |s: &Share| page.tr.t(&format!("{prefix}-{}", s.code));
    let month_rows = s
        .by_month
        .iter()
        .map(|(m, n)| (vec![m.label()], vec![num(*n, page)]))
        .collect();
    vec![
        Section {
            heading: t("ombudsman-summary"),
            note: t("ombudsman-shares-note"),
            tables: vec![summary],
            ..Default::default()
        },
        breakdown(page, "ombudsman-reasons", &s.reasons, &|r| {
            reason_name(&r.code)
        }),
        breakdown(
            page,
            "ombudsman-producers",
            &s.producers,
            &code("ombudsman-producer"),
        ),
        breakdown(
            page,
            "ombudsman-sectors",
            &s.sectors,
            &code("ombudsman-sector"),
        ),
        breakdown(
            page,
            "ombudsman-languages",
            &s.languages,
            &code("contact-language"),
        ),
        breakdown(
            page,
            "ombudsman-client-groups",
            &s.client_groups,
            &code("client-group"),
        ),
        breakdown(page, "ombudsman-channels", &s.channels, &code("channel")),
        breakdown(page, "ombudsman-measures", &s.measures, &code("measure")),
        Section {
            heading: t("ombudsman-by-month"),
            tables: vec![plain_table(
                t("ombudsman-by-month"),
                vec![t("field-period"), t("ombudsman-contacts")],
                1,
                month_rows,
            )],
            ..Default::default()
        },
    ]
}

/// `GET /org/{id}/ombudsman?period=P`: the statistics of the unit and what is under it.
pub async fn stats_page(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
    UiQuery(q): UiQuery<PeriodQuery>,
) -> UiResult {
    let (p, tree) = can_read(&state, &page, org).await?;
    let period = period_param(&page, q.period.as_deref())?;
    let stats = state
        .store()
        .ombudsman_stats(org, period)
        .await
        .map_err(|e| page.error(e))?;
    let reasons = state
        .store()
        .ombudsman_reasons()
        .await
        .map_err(|e| page.error(e))?;
    let name = |code: &str| text_plain(&page, &valvo_core::ombudsman::name_in(&reasons, code));
    let node = tree
        .get(org)
        .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let title = page.tr.t_args(
        "ombudsman-stats-title",
        &[("org", arg_str(text_plain(&page, &node.name)))],
    );
    let mut crumbs = crumbs(&page.tr, &tree, &p, org);
    crumbs.push((
        format!("/org/{org}/ombudsman"),
        crate::html::escape(&page.tr.t("nav-ombudsman")),
    ));
    Ok(show(
        &page,
        title,
        OversightPage {
            crumbs,
            links: vec![(
                format!("/org/{org}/ombudsman/annual/{}", period.year_number()),
                format!("{} {}", page.tr.t("ombudsman-annual"), period.year_number()),
            )],
            base: format!("/org/{org}/ombudsman"),
            periods: period_choices(period),
            sections: stats_sections(&page, &stats, &name),
            ..Default::default()
        },
    ))
}

/// The year's statistics and the names of the reasons.
async fn annual_data(
    state: &AppState,
    page: &Page,
    org: i64,
    year: i32,
) -> Result<
    (
        valvo_core::Period,
        OmbudsmanStats,
        Vec<valvo_core::ombudsman::Reason>,
    ),
    UiError,
> {
    let period = valvo_core::Period::year(year).map_err(|_| page.error(ErrorKind::NotFound))?;
    let stats = state
        .store()
        .ombudsman_stats(org, period)
        .await
        .map_err(|e| page.error(e))?;
    let reasons = state
        .store()
        .ombudsman_reasons()
        .await
        .map_err(|e| page.error(e))?;
    Ok((period, stats, reasons))
}

async fn annual_response(
    state: &AppState,
    page: &Page,
    org: i64,
    year: i32,
    data: Option<FormData>,
    notice: String,
) -> UiResult {
    let (p, tree) = can_read(state, page, org).await?;
    let (_, stats, reasons) = annual_data(state, page, org, year).await?;
    let t = |k: &str| page.tr.t(k);
    let text = state
        .store()
        .ombudsman_annual_text(org, year)
        .await
        .map_err(|e| page.error(e))?;
    let node = tree
        .get(org)
        .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let title = format!(
        "{}: {}",
        page.tr.t_args(
            "ombudsman-annual-title",
            &[("year", arg_str(year.to_string()))]
        ),
        text_plain(page, &node.name)
    );
    let base = format!("/org/{org}/ombudsman/annual/{year}");
    let links = ["fi", "sv"]
        .iter()
        .map(|l| {
            (
                format!("{base}/report-{l}.pdf"),
                page.tr.t_args(
                    "ombudsman-annual-pdf",
                    &[("lang", arg_str(t(&format!("fallback-{l}"))))],
                ),
            )
        })
        .collect();
    let writes = p.can_record_contacts(&tree, org);
    // Who writes the review sees it in its form; others read it here.
    let mut sections = Vec::new();
    if !writes && !text.is_empty() {
        sections.push(Section {
            heading: t("ombudsman-annual-text"),
            html: crate::html::paragraphs_html(&page.tr, &text),
            ..Default::default()
        });
    }
    for table in valvo_core::ombudsman::annual_tables(&stats, &|c| {
        valvo_core::ombudsman::name_in(&reasons, c)
    }) {
        let mut s = crate::oversight_page::table_section(
            page,
            t(&format!("report-table-{}", table.key)),
            &table,
        );
        s.note = t("ombudsman-annual-note");
        sections.push(s);
    }
    let form = writes.then(|| {
        let data = data.unwrap_or_else(|| {
            [("fi", &text.fi), ("sv", &text.sv), ("en", &text.en)]
                .into_iter()
                .filter_map(|(l, v)| v.clone().map(|v| (format!("annual_text_{l}"), v)))
                .collect()
        });
        let b = Builder::new(&page.tr, data, &[]);
        let group = b.i18n("annual_text", InputKind::Textarea, false);
        b.form(
            base.clone(),
            "ombudsman-annual-save",
            format!("/org/{org}/ombudsman"),
            vec![group],
        )
    });
    let mut crumbs = crumbs(&page.tr, &tree, &p, org);
    crumbs.push((
        format!("/org/{org}/ombudsman"),
        crate::html::escape(&page.tr.t("nav-ombudsman")),
    ));
    Ok(show(
        page,
        title,
        OversightPage {
            crumbs,
            notice,
            links,
            sections,
            form_heading: t("ombudsman-annual-text"),
            form,
            ..Default::default()
        },
    ))
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /org/{id}/ombudsman/annual/{year}`: the ombudsperson's annual report.
pub async fn annual_page(
    State(state): State<AppState>,
    page: Page,
    UiPath((org, year)): UiPath<(i64, i32)>,
    UiQuery(q): UiQuery<SavedQuery>,
) -> UiResult {
    let notice = if q.saved.is_some() {
        page.tr.t("ombudsman-annual-saved")
    } else {
        String::new()
    };
    annual_response(&state, &page, org, year, None, notice).await
}

/// `POST /org/{id}/ombudsman/annual/{year}`: keeps the ombudsperson's review.
pub async fn annual_save(
    State(state): State<AppState>,
    page: Page,
    UiPath((org, year)): UiPath<(i64, i32)>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = page.principal()?;
    let get = |l: &str| data.get(&format!("annual_text_{l}")).cloned();
    let text = I18nText::new(get("fi"), get("sv"), get("en"));
    match state
        .store()
        .put_ombudsman_annual_text(&p, org, year, &text)
        .await
    {
        Ok(()) => Ok(see_other(&format!(
            "/org/{org}/ombudsman/annual/{year}?saved=1"
        ))),
        Err(e) => Err(page.error(e)),
    }
}

/// `GET /org/{id}/ombudsman/annual/{year}/report-{fi|sv|en}.pdf`.
pub async fn annual_pdf(
    State(state): State<AppState>,
    page: Page,
    UiPath((org, year, name)): UiPath<(i64, i32, String)>,
) -> UiResult {
    let lang = crate::oversight_page::pdf_lang(&page, &name)?;
    let (_, tree) = can_read(&state, &page, org).await?;
    let (_, stats, reasons) = annual_data(&state, &page, org, year).await?;
    let text = state
        .store()
        .ombudsman_annual_text(org, year)
        .await
        .map_err(|e| page.error(e))?;
    let tr = crate::i18n::Tr::new(lang);
    let t = |k: &str| tr.t(k);
    let plain = |x: &I18nText| {
        x.resolve(lang)
            .map(|r| r.text.to_string())
            .unwrap_or_default()
    };
    let node = tree
        .get(org)
        .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let county = tree
        .path(org)
        .first()
        .map(|n| plain(&n.name))
        .unwrap_or_default();
    // As the tables: a count under five is withheld.
    let num = |n: u64| {
        if valvo_core::ombudsman::small(n) {
            "\u{2013}".to_string()
        } else {
            valvo_core::format_number(n as f64, lang)
        }
    };
    let mut parts = Vec::new();
    if !text.is_empty() {
        parts.push(valvo_report::PlainPart {
            heading: t("ombudsman-annual-text"),
            paragraphs: vec![plain(&text)],
            ..Default::default()
        });
    }
    parts.push(valvo_report::PlainPart {
        heading: t("ombudsman-summary"),
        tables: valvo_core::ombudsman::annual_tables(&stats, &|c| {
            valvo_core::ombudsman::name_in(&reasons, c)
        }),
        note: format!(
            "{} {}",
            t("ombudsman-shares-note"),
            t("ombudsman-annual-note")
        ),
        ..Default::default()
    });
    let doc = valvo_report::PlainDocument {
        title: tr.t_args(
            "ombudsman-annual-title",
            &[("year", arg_str(year.to_string()))],
        ),
        org: plain(&node.name),
        county,
        meta: vec![
            (t("ombudsman-contacts"), num(stats.contacts)),
            (t("ombudsman-items"), num(stats.items)),
        ],
        parts,
        branding: Default::default(),
    };
    crate::oversight_page::plain_pdf(
        &state,
        &page,
        (&tree, org),
        doc,
        lang,
        &format!("ombudsman-{year}-{name}"),
    )
    .await
}

/// `GET /public/org/{code}/ombudsman?period=P`: the statistics for everyone,
/// counts under five withheld with what would reveal them.
pub async fn public_stats(
    State(state): State<AppState>,
    page: Page,
    UiPath(code): UiPath<String>,
    UiQuery(q): UiQuery<PeriodQuery>,
) -> UiResult {
    let tree = tree(&state, &page).await?;
    // Only a whole county's figures are public: a county less its areas
    // would tell what no single page shows.
    let node = crate::incidents::unit_by_code(&tree, &code)
        .filter(|n| n.parent_id.is_none())
        .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let period = period_param(&page, q.period.as_deref())?;
    let stats = state
        .store()
        .ombudsman_stats(node.id, period)
        .await
        .map_err(|e| page.error(e))?;
    let reasons = state
        .store()
        .ombudsman_reasons()
        .await
        .map_err(|e| page.error(e))?;
    let t = |k: &str| page.tr.t(k);
    let small = valvo_core::ombudsman::small;
    let count = |n: u64| {
        if small(n) {
            "\u{2013}".to_string()
        } else {
            valvo_core::format_number(n as f64, page.tr.lang())
        }
    };
    let prev = stats.previous_period.map(|p| p.label()).unwrap_or_default();
    let mut sections = vec![Section {
        heading: t("ombudsman-summary"),
        note: t("ombudsman-annual-note"),
        tables: vec![plain_table(
            t("ombudsman-summary"),
            vec![t("report-col-figure"), period.label(), prev],
            1,
            vec![
                (
                    vec![t("ombudsman-contacts")],
                    vec![count(stats.contacts), count(stats.previous_contacts)],
                ),
                (
                    vec![t("ombudsman-items")],
                    vec![count(stats.items), count(stats.previous_items)],
                ),
            ],
        )],
        ..Default::default()
    }];
    for table in valvo_core::ombudsman::annual_tables(&stats, &|c| {
        valvo_core::ombudsman::name_in(&reasons, c)
    }) {
        sections.push(crate::oversight_page::table_section(
            &page,
            t(&format!("report-table-{}", table.key)),
            &table,
        ));
    }
    let mut crumbs = vec![(
        "/public".to_string(),
        crate::html::escape(&t("public-title")),
    )];
    crumbs.extend(tree.path(node.id).into_iter().map(|n| {
        (
            format!("/public/org/{}", n.code),
            crate::html::text_html(&page.tr, &n.name),
        )
    }));
    let title = page.tr.t_args(
        "ombudsman-stats-title",
        &[("org", arg_str(text_plain(&page, &node.name)))],
    );
    Ok(show(
        &page,
        title,
        OversightPage {
            crumbs,
            base: format!("/public/org/{code}/ombudsman"),
            periods: period_choices(period),
            intro: t("ombudsman-shares-note-public"),
            sections,
            // Headed by the county, as its other public pages are.
            brand: crate::branding::head(&state, &page, &tree, node.id).await,
            ..Default::default()
        },
    ))
}

//! The ombudsperson's contacts in the API.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use valvo_core::ombudsman::{
    ClientGroup, ContactLanguage, Measure, NewContact, NewItem, OmbudsmanStats, Producer, Reason,
    Sector, Share,
};
use valvo_core::plan::{ErrorCode, FieldError};

use crate::api::{
    as_int, iso_date, json_body, json_enum, json_str, parse_period, readable, text_field, today,
    ApiBody, ApiError, ApiPath, ApiQuery, ApiResult, Caller, StatsQuery,
};
use crate::county_lists::{asked_county, body_county, keep_offered, own_county, CountyQuery};
use crate::AppState;

/// A list of codes under `name`; each bad one named (`measures.1`).
fn code_list<T>(
    body: &Value,
    name: &str,
    parse: fn(&str) -> Option<T>,
    errors: &mut Vec<FieldError>,
) -> Vec<T> {
    match body.get(name) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let p = v.as_str().and_then(parse);
                if p.is_none() {
                    errors.push(FieldError::new(format!("{name}.{i}"), ErrorCode::Invalid));
                }
                p
            })
            .collect(),
        Some(_) => {
            errors.push(FieldError::new(name, ErrorCode::Invalid));
            Vec::new()
        }
    }
}

/// A contact from a JSON body; errors name the field (`items.0.sector`).
pub(crate) fn parse_contact(body: &Value, errors: &mut Vec<FieldError>) -> Option<NewContact> {
    let contacted_on = match json_str(body, "contacted_on") {
        None => {
            errors.push(FieldError::new("contacted_on", ErrorCode::Required));
            None
        }
        Some(s) => {
            let d = iso_date(&s);
            if d.is_none() {
                errors.push(FieldError::new("contacted_on", ErrorCode::Invalid));
            }
            d
        }
    };
    let channel = json_enum(
        body,
        "channel",
        valvo_core::ombudsman::Channel::parse,
        errors,
    );
    let language = json_enum(body, "language", ContactLanguage::parse, errors);
    let client_group = json_enum(body, "client_group", ClientGroup::parse, errors);
    let measures = code_list(body, "measures", Measure::parse, errors);
    let note = match body.get("note") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(FieldError::new("note", ErrorCode::Invalid));
            None
        }
    };
    let mut items = Vec::new();
    match body.get("items") {
        Some(Value::Array(list)) => {
            for (i, item) in list.iter().enumerate() {
                let field = |f: &str| format!("items.{i}.{f}");
                if !item.is_object() {
                    errors.push(FieldError::new(format!("items.{i}"), ErrorCode::Invalid));
                    continue;
                }
                let org_unit = match item.get("org_unit") {
                    None | Some(Value::Null) => None,
                    Some(v) => {
                        let id = as_int(v);
                        if id.is_none() {
                            errors.push(FieldError::new(field("org_unit"), ErrorCode::NotANumber));
                        }
                        id
                    }
                };
                let producer = match item.get("producer") {
                    None | Some(Value::Null) => None,
                    Some(v) => {
                        let p = v.as_str().and_then(Producer::parse);
                        if p.is_none() {
                            errors.push(FieldError::new(field("producer"), ErrorCode::Invalid));
                        }
                        p
                    }
                };
                let mut sub = Vec::new();
                let sector = json_enum(item, "sector", Sector::parse, &mut sub);
                let reasons: Vec<String> = match item.get("reasons") {
                    Some(Value::Array(r)) => r
                        .iter()
                        .enumerate()
                        .filter_map(|(j, v)| {
                            let s = v.as_str().map(str::to_string);
                            if s.is_none() {
                                errors.push(FieldError::new(
                                    format!("items.{i}.reasons.{j}"),
                                    ErrorCode::Invalid,
                                ));
                            }
                            s
                        })
                        .collect(),
                    None | Some(Value::Null) => Vec::new(),
                    Some(_) => {
                        errors.push(FieldError::new(field("reasons"), ErrorCode::Invalid));
                        Vec::new()
                    }
                };
                errors.extend(
                    sub.into_iter()
                        .map(|e| FieldError::new(field(&e.field), e.code)),
                );
                if let Some(sector) = sector {
                    items.push(NewItem {
                        org_unit,
                        producer,
                        sector,
                        reasons,
                    });
                }
            }
        }
        None | Some(Value::Null) => errors.push(FieldError::new("items", ErrorCode::Required)),
        Some(_) => errors.push(FieldError::new("items", ErrorCode::Invalid)),
    }
    Some(NewContact {
        contacted_on: contacted_on?,
        channel: channel?,
        language: language?,
        client_group: client_group?,
        items,
        measures,
        note,
    })
}

/// `POST /api/v1/ombudsman/contacts`: records a contact (ombudspersons,
/// administrators). 201 with its id.
pub async fn create_contact(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiBody(body): ApiBody,
) -> ApiResult<Response> {
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let contact = parse_contact(&body, &mut errors);
    let Some(contact) = contact.filter(|_| errors.is_empty()) else {
        return Err(ApiError::invalid(errors));
    };
    let id = state.store().create_contact(&p, &contact, today()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

fn shares_json(list: &[Share], hidden: Option<&[bool]>) -> Vec<Value> {
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            if hidden.is_some_and(|h| h.get(i).copied().unwrap_or(false)) {
                json!({ "code": s.code, "count": null, "share": null, "previous_count": null, "previous_share": null })
            } else {
                json!(s)
            }
        })
        .collect()
}

/// The statistics as JSON; `public` withholds small cells in every breakdown.
pub(crate) fn stats_json(stats: &OmbudsmanStats, public: bool) -> Value {
    let items = (stats.items, stats.previous_items);
    let contacts = (stats.contacts, stats.previous_contacts);
    let mentions = (
        stats.reason_mentions,
        stats.reasons.iter().map(|r| r.previous_count).sum(),
    );
    let list = |l: &[Share], base: (u64, u64)| {
        let hidden = public.then(|| valvo_core::ombudsman::withheld(l, base.0, base.1));
        shares_json(l, hidden.as_deref())
    };
    let small = |n: u64| public && valvo_core::ombudsman::small(n);
    // Months beside a shown total: a small one withheld with a complement.
    let month_hidden = if public {
        valvo_core::ombudsman::withheld_counts(
            &stats.by_month.iter().map(|m| m.1).collect::<Vec<_>>(),
            stats.contacts,
        )
    } else {
        vec![false; stats.by_month.len()]
    };
    json!({
        "period": stats.period,
        "previous_period": stats.previous_period,
        "public": public,
        "contacts": (!small(stats.contacts)).then_some(stats.contacts),
        "items": (!small(stats.items)).then_some(stats.items),
        "reason_mentions": (!small(stats.reason_mentions)).then_some(stats.reason_mentions),
        "previous_contacts": (!small(stats.previous_contacts)).then_some(stats.previous_contacts),
        "previous_items": (!small(stats.previous_items)).then_some(stats.previous_items),
        "reasons": list(&stats.reasons, mentions),
        "producers": list(&stats.producers, items),
        "sectors": list(&stats.sectors, items),
        "languages": list(&stats.languages, items),
        "client_groups": list(&stats.client_groups, items),
        "channels": list(&stats.channels, contacts),
        "measures": list(&stats.measures, contacts),
        "by_month": stats.by_month.iter().zip(&month_hidden).map(|((m, n), h)| json!({ "month": m, "contacts": (!h).then_some(*n) })).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/ombudsman/stats?org_unit=ID&period=P`: with a bearer token,
/// the caller's units in full; without one, public, with small cells withheld.
pub async fn stats(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Value>> {
    let org = crate::feedback_api::org_param(q.org_unit.as_deref())?;
    let period = parse_period(q.period.as_deref().unwrap_or(""))?;
    let caller =
        crate::feedback_api::optional_caller(&state, &headers, &axum::http::Method::GET).await?;
    // The caller may read the unit (or, without a token, it exists).
    match &caller {
        Some(p) => {
            readable(&state, p, org).await?;
        }
        // In public only a whole county's: a county less its areas would
        // tell what no single page shows.
        None => match state.store().org_tree().await?.get(org) {
            None => return Err(valvo_store::StoreError::NotFound.into()),
            Some(n) if n.parent_id.is_some() => {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "public ombudsperson statistics are for a whole county; a part of it needs a bearer token",
                ))
            }
            Some(_) => {}
        },
    }
    let stats = state.store().ombudsman_stats(org, period).await?;
    let mut out = stats_json(&stats, caller.is_none());
    out["org_unit"] = json!(org);
    Ok(Json(out))
}

/// `GET /api/v1/ombudsman/contacts?period=P`: the caller's own log
/// (ombudspersons, administrators), newest first, at most 1 000.
pub async fn contacts(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Value>> {
    let period = parse_period(q.period.as_deref().unwrap_or(""))?;
    let list = state.store().ombudsman_contacts(&p, period, 1000).await?;
    Ok(Json(json!({ "period": period, "contacts": list })))
}

/// `GET /api/v1/ombudsman/reasons[?county=CODE]`: the classification,
/// active and retired (public): every county's, or those offered in one.
pub async fn reasons(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CountyQuery>,
) -> ApiResult<Json<Value>> {
    let tree = state.store().org_tree().await?;
    let county = asked_county(&tree, &q)?;
    let mut list = state.store().ombudsman_reasons().await?;
    keep_offered(&mut list, county.as_deref(), |r| r.county.as_deref());
    Ok(Json(json!({ "reasons": list })))
}

/// An entry of a classification from a PUT body: `name` (fi and sv),
/// `active` (default true), `sort_order` (default: as it is, or last),
/// `county` (default: as it is, or the caller's county; see
/// [`body_county`]).
pub(crate) async fn classified_entry(
    state: &AppState,
    p: &valvo_core::access::Principal,
    code: String,
    body: &[u8],
    existing: &[Reason],
) -> ApiResult<Reason> {
    let body = json_body(body)?;
    let mut errors = Vec::new();
    let tree = state.store().org_tree().await?;
    let before = existing.iter().find(|r| r.code == code);
    let county = body_county(
        &body,
        before.map(|r| r.county.as_deref()),
        own_county(p, &tree),
        &mut errors,
    );
    let name = text_field(&body, "name", &mut errors);
    let active = match body.get("active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(FieldError::new("active", ErrorCode::Invalid));
            true
        }
    };
    let sort_order = match body.get("sort_order") {
        None | Some(Value::Null) => existing
            .iter()
            .find(|r| r.code == code)
            .map(|r| r.sort_order)
            .unwrap_or_else(|| existing.iter().map(|r| r.sort_order).max().unwrap_or(0) + 10),
        Some(v) => match as_int(v).filter(|n| (0..=1_000_000).contains(n)) {
            Some(n) => n,
            None => {
                errors.push(FieldError::new("sort_order", ErrorCode::OutOfRange));
                0
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    Ok(Reason {
        code,
        name,
        active,
        sort_order,
        county,
    })
}

/// `PUT /api/v1/ombudsman/reasons/{code}` with `name` (fi and sv), and
/// optionally `active` and `sort_order`: adds or changes a reason
/// (county-wide quality coordinators and administrators).
pub async fn put_reason(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(code): ApiPath<String>,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<Reason>> {
    let existing = state.store().ombudsman_reasons().await?;
    let reason = classified_entry(&state, &p, code, &body, &existing).await?;
    Ok(Json(state.store().put_ombudsman_reason(&p, &reason).await?))
}

//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/openapi.json`, and
//! the contract it states enforced at run time: every JSON request body is
//! validated against the document's schema of its operation before a
//! handler reads it (422 with the fields named), so the documented types,
//! required fields and limits are the real ones. The statements a feedback
//! answer may score come from the current survey. schemathesis checks the
//! rest against the running server in CI (`scripts/schemathesis.toml`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};
use valvo_core::feedback::SurveyDef;
use valvo_core::plan::{ErrorCode, FieldError};

use crate::AppState;

const ID_MAX: i64 = i64::MAX;

fn id() -> Value {
    json!({ "type": "integer", "format": "int64", "minimum": 1, "maximum": ID_MAX })
}

/// A period as the server parses it (years 1900–2999): a code, or the
/// label Valvo prints (`3/2024`, `9–12/2023`, `1-6/2024`).
const PERIOD_PATTERN: &str = "^((19[0-9]{2}|2[0-9]{3})(-(0[1-9]|1[0-2])|[Qq][1-4]|[Tt][1-3]|[Hh][12])?\
     |(0?[1-9]|1[0-2]|(1[-\u{2013}](3|4|6|12)|4[-\u{2013}]6|5[-\u{2013}]8|7[-\u{2013}](9|12)|9[-\u{2013}]12|10[-\u{2013}]12))/(19[0-9]{2}|2[0-9]{3}))$";

/// A calendar date of the years the server takes in bodies (1990–2999;
/// whether it may lie in the future is the operation's rule, a 422).
const DATE_PATTERN: &str = "^(199[0-9]|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";

fn period() -> Value {
    json!({ "type": "string", "pattern": PERIOD_PATTERN,
            "description": "Period: month 2024-03, quarter 2024Q1, tertial 2024T1, half year 2024H1, year 2024; or as Valvo prints it: 3/2024, 9–12/2023, 1–6/2024 (in a path the slash as %2F)" })
}

fn date() -> Value {
    json!({ "type": "string", "format": "date", "pattern": DATE_PATTERN })
}

/// A character the server does not trim away: not white space to
/// ECMAScript's `\s`, nor U+0085 (NEXT LINE), which Rust's `trim` takes as
/// white space and ECMAScript does not.
const NONBLANK: &str = "[^\\s\\u0085]";

/// A text the server trims: it must hold something besides spaces.
fn text(max: usize) -> Value {
    json!({ "type": "string", "pattern": NONBLANK, "maxLength": max })
}

fn opt_text(max: usize) -> Value {
    json!({ "type": "string", "maxLength": max })
}

fn i18n(max: usize) -> Value {
    json!({
        "type": "object",
        "description": "A text per language; Finnish or Swedish required where the text is required, English optional.",
        "properties": { "fi": opt_text(max), "sv": opt_text(max), "en": opt_text(max) },
        "additionalProperties": false
    })
}

/// An I18nText with Finnish or Swedish given.
fn i18n_national(max: usize) -> Value {
    let mut v = i18n(max);
    v["anyOf"] = json!([
        { "required": ["fi"], "properties": { "fi": { "pattern": NONBLANK } } },
        { "required": ["sv"], "properties": { "sv": { "pattern": NONBLANK } } }
    ]);
    v
}

fn err(desc: &str) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn ok(desc: &str, schema: Value) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": schema } } })
}

fn id_param(name: &str, desc: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": desc, "schema": id() })
}

fn period_param(place: &str) -> Value {
    json!({ "name": "period", "in": place, "required": true, "schema": period() })
}

fn query(name: &str, required: bool, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": required, "schema": schema })
}

fn body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

/// The document, with the statements of `survey`.
pub fn spec(survey: &SurveyDef) -> Value {
    let status_enum = json!({ "type": "string", "enum": ["met", "on_the_way", "off_track", "no_data", "no_target"] });
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Valvo API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Self-monitoring plans and their follow-up, incident reports and customer feedback. Authenticate with `Authorization: Bearer <token>` (`valvo token create --email E`). Request bodies are JSON (`application/json`) unless an operation says otherwise. Errors are JSON: {\"error\": {\"code\", \"message\", \"fields\": [{\"field\", \"code\"}]}}: 400 a malformed request (parameter or JSON), 404 a resource that does not exist (the path's), 409 a request the resource's state does not allow, 413 a body over 2 MB, 415 a body of another media type, 422 fields that break a rule or name something that does not exist (named in fields, code not_found for the latter), 503 the database does not answer for now (try again after Retry-After)."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": {},
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas()
        }
    });
    let mut paths = Map::new();
    for part in [
        plan_paths(&status_enum),
        plan_write_paths(),
        incident_paths(),
        feedback_paths(survey),
        oversight_paths(),
        account_paths(),
    ] {
        if let Value::Object(p) = part {
            // Operations of one path from several parts are merged.
            for (path, ops) in p {
                match (paths.get_mut(&path), ops) {
                    (Some(Value::Object(have)), Value::Object(more)) => have.extend(more),
                    (_, ops) => {
                        paths.insert(path, ops);
                    }
                }
            }
        }
    }
    doc["paths"] = Value::Object(paths);
    complete(&mut doc);
    doc
}

fn schemas() -> Value {
    let status_enum = json!({ "type": "string", "enum": ["met", "on_the_way", "off_track", "no_data", "no_target"] });
    json!({
        "I18nText": i18n(10_000),
        "User": { "type": "object", "properties": {
            "id": { "type": "integer" }, "email": { "type": "string" }, "name": { "type": "string" },
            "role": { "type": "string" }, "scope": { "type": ["integer", "null"] }, "active": { "type": "boolean" },
            "sso": { "type": "boolean", "description": "Linked to an account at the county's identity provider" },
            "has_password": { "type": "boolean" },
            "last_sign_in_at": { "type": ["string", "null"], "format": "date-time" },
            "created_at": { "type": "string", "format": "date-time" },
            "password_link": { "type": ["string", "null"] } } },
        "Token": { "type": "object", "properties": {
            "id": { "type": "integer" }, "user_id": { "type": "integer" }, "label": { "type": "string" },
            "state": { "type": "string", "enum": ["live", "revoked", "expired"] },
            "created_at": { "type": "string", "format": "date-time" },
            "expires_at": { "type": ["string", "null"], "format": "date-time" },
            "revoked_at": { "type": ["string", "null"], "format": "date-time" },
            "last_used_at": { "type": ["string", "null"], "format": "date-time" },
            "read_only": { "type": "boolean" }, "scope": { "type": ["integer", "null"] },
            "token": { "type": "string", "description": "The secret, only in the answer that made it" } } },
        "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "required": ["code", "message", "fields"], "properties": {
            "code": { "type": "string" }, "message": { "type": "string" },
            "fields": { "type": "array", "items": { "type": "object", "required": ["field", "code"], "properties": { "field": { "type": "string" }, "code": { "type": "string" } } } } } } } },
        "OrgUnit": { "type": "object", "properties": {
            "id": { "type": "integer" }, "parent_id": { "type": ["integer", "null"] }, "code": { "type": "string" },
            "name": { "$ref": "#/components/schemas/I18nText" },
            "producer": { "type": "string", "enum": ["own", "purchased", "service_voucher", "private"] },
            "service_type": { "oneOf": [codes(&valvo_core::ServiceType::ALL, valvo_core::ServiceType::code), { "type": "null" }],
                              "description": "The kind of service, when set on the unit itself (null: that of the unit above)" } } },
        "Indicator": { "type": "object", "properties": {
            "id": { "type": "integer" }, "goal_id": { "type": "integer" }, "org_unit_id": { "type": "integer" }, "year": { "type": "integer" },
            "code": { "type": ["string", "null"], "description": "Unique within the county; imports name the indicator by it" },
            "name": { "$ref": "#/components/schemas/I18nText" }, "unit": { "$ref": "#/components/schemas/I18nText" },
            "value_kind": value_kind(),
            "direction": { "type": "string", "enum": ["higher", "lower", "band"] },
            "baseline": { "type": ["number", "null"] }, "target": { "type": ["number", "null"] }, "target_max": { "type": ["number", "null"] },
            "period_kind": { "type": "string", "enum": ["month", "quarter", "tertial", "half", "year"] },
            "until_year": { "type": ["integer", "null"] },
            "min_value": { "type": ["number", "null"] }, "max_value": { "type": ["number", "null"] },
            "retired_at": { "type": ["string", "null"], "format": "date-time" },
            "note": { "$ref": "#/components/schemas/I18nText" }, "sort_order": { "type": "integer" } } },
        "NewIndicator": indicator_body(true),
        "IndicatorPatch": indicator_body(false),
        "Goal": { "type": "object", "properties": {
            "id": { "type": "integer" }, "org_unit_id": { "type": "integer" }, "year": { "type": "integer" },
            "area": area_enum(), "title": { "$ref": "#/components/schemas/I18nText" }, "sort_order": { "type": "integer" } } },
        "Action": { "type": "object", "properties": {
            "id": { "type": "integer" }, "goal_id": { "type": "integer" }, "text": { "$ref": "#/components/schemas/I18nText" },
            "status": action_status(), "sort_order": { "type": "integer" } } },
        "FollowUp": { "type": "object", "properties": {
            "indicator_id": { "type": "integer" }, "period": { "type": "string" },
            "value": { "type": ["number", "null"], "description": "The raw number: seconds for a duration, 90 for 90 %, a ratio's first part's share in per cent" },
            "parts": { "type": ["array", "null"], "items": { "type": "number" }, "description": "A ratio's two parts" },
            "text": { "type": ["string", "null"], "description": "A text indicator's observation" },
            "value_kind": value_kind(),
            "formatted": { "type": ["object", "null"], "description": "The figure as printed in fi, sv and en (0:13:25, 90 %, 192/469 (29 %))" },
            "flagged": { "type": "boolean", "description": "Far outside the indicator's earlier figures (or its min–max) when entered" },
            "assessment": { "$ref": "#/components/schemas/I18nText" }, "corrective": { "$ref": "#/components/schemas/I18nText" },
            "updated_at": { "type": "string", "format": "date-time" }, "updated_by": { "type": "string" },
            "status": status_enum, "previous_value": { "type": ["number", "null"] } } },
        "FollowUpInput": {
            "type": "object", "additionalProperties": false,
            "description": "A value, or an assessment in some language, or both. The value as the indicator's kind takes it: a number (the raw number), or a string as people type it (\"13,4\", \"1 025\", \"90 %\", \"0:13:25\", \"192/469\", a text), or a ratio's two parts [192, 469].",
            "properties": {
                "value": { "anyOf": [
                    { "type": "number", "minimum": -1e12, "maximum": 1e12 },
                    { "type": "string", "maxLength": 10_000, "pattern": NONBLANK },
                    { "type": "array", "items": { "type": "number", "minimum": 0, "maximum": 1e12 }, "minItems": 2, "maxItems": 2 },
                    { "type": "null" } ] },
                "assessment": i18n(10_000), "corrective": i18n(10_000) },
            "anyOf": [
                { "required": ["value"], "properties": { "value": { "not": { "type": "null" } } } },
                { "required": ["assessment"], "properties": { "assessment": { "anyOf": [
                    { "required": ["fi"], "properties": { "fi": { "pattern": NONBLANK } } },
                    { "required": ["sv"], "properties": { "sv": { "pattern": NONBLANK } } },
                    { "required": ["en"], "properties": { "en": { "pattern": NONBLANK } } } ] } } }
            ] },
        "NewIncident": object(&["org_unit", "occurred_on", "kind", "event_type", "description", "consequence", "reporter_role"], json!({
            "org_unit": id(), "occurred_on": date(),
            "occurred_time": { "type": "string", "pattern": "^([01]?[0-9]|2[0-3]):[0-5][0-9]$" },
            "place": opt_text(500),
            "kind": { "type": "string", "enum": ["client_safety", "work_safety", "data_protection", "misconduct"] },
            "event_type": { "type": "string", "pattern": "^[a-z][a-z0-9_]{1,39}$", "description": "The code of an active event type (GET /api/v1/incidents/event-types); the default taxonomy: medication, fall_accident, information_flow, laboratory_imaging, other_care_procedure, identification, diagnosis, violence_threat, equipment, indoor_air, other" },
            "description": text(10_000),
            "consequence": { "type": "string", "enum": ["no_harm", "near_miss", "mild", "moderate", "severe", "death"] },
            "never_event": { "type": "boolean" }, "contributing_factors": opt_text(10_000), "immediate_actions": opt_text(10_000),
            "reporter_role": { "type": "string", "enum": ["staff", "student", "client", "relative", "other"] },
            "anonymous": { "type": "boolean" }, "reporter_name": opt_text(500), "reporter_contact": opt_text(500) })),
        "EventType": { "type": "object", "properties": {
            "code": { "type": "string" }, "name": { "$ref": "#/components/schemas/I18nText" },
            "active": { "type": "boolean", "description": "Offered on report forms" }, "sort_order": { "type": "integer" },
            "county": { "type": ["string", "null"], "description": "The county whose own type this is (its code): offered only for its units; null: shared by every county" },
            "reports": { "type": "integer", "description": "Reports of this type (in the list only; with county, that county's)" } } },
        "IncidentHandler": { "type": "object", "properties": {
            "user_id": { "type": "integer" }, "email": { "type": "string" }, "name": { "type": "string" } } },
        "AuditEntry": { "type": "object", "properties": {
            "id": { "type": "integer" }, "at": { "type": "string", "format": "date-time" }, "actor": { "type": "string" },
            "action": { "type": "string" }, "entity": { "type": "string" }, "entity_id": { "type": "string" },
            "org_unit_id": { "type": ["integer", "null"] }, "before": {}, "after": {} } }
    })
}

fn value_kind() -> Value {
    json!({ "type": "string", "enum": ["number", "count", "percent", "duration", "ratio", "money", "text"] })
}

fn area_enum() -> Value {
    json!({ "type": "string", "enum": ["access", "continuity", "equality", "safety", "quality", "customer_experience", "participation", "personnel", "economy"] })
}

fn action_status() -> Value {
    json!({ "type": "string", "enum": ["planned", "ongoing", "done", "dropped"] })
}

/// A number of an indicator's kind: a number, or a string as typed for it.
fn kind_number() -> Value {
    json!({ "anyOf": [
        { "type": "number", "minimum": -1e12, "maximum": 1e12 },
        { "type": "string", "maxLength": 40 },
        { "type": "null" } ],
        "description": "A number, or as typed for the kind: \"0:10:00\", \"90 %\", \"1 025\"" })
}

fn indicator_body(new: bool) -> Value {
    let mut props = json!({
        "code": { "type": ["string", "null"], "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$" },
        "name": i18n_national(500), "unit": i18n(40), "note": i18n(10_000),
        "value_kind": value_kind(),
        "direction": { "type": "string", "enum": ["higher", "lower", "band"] },
        "baseline": kind_number(), "target": kind_number(), "target_max": kind_number(),
        "min_value": kind_number(), "max_value": kind_number(),
        "period_kind": { "type": "string", "enum": ["month", "quarter", "tertial", "half", "year"] },
        "until_year": { "type": ["integer", "null"], "minimum": 2000, "maximum": 2110 },
        "reference": { "description": "A reference series from THL's Sotkanet shown beside the figures (POST /api/v1/reference/sotkanet loads its values)",
            "anyOf": [ { "type": "null" }, { "type": "object", "additionalProperties": false, "required": ["series", "region"], "properties": {
                "series": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$" },
                "region": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$" },
                "gender": { "type": "string", "enum": ["total", "male", "female"] },
                "label": i18n(40) } } ] }
    });
    if new {
        props["goal"] = id();
        json!({ "type": "object", "additionalProperties": false,
            "required": ["goal", "name", "direction", "period_kind"], "properties": props })
    } else {
        props["retired"] = json!({ "type": "boolean", "description": "true retires it (deletes it when it has no follow-ups), false takes it back" });
        json!({ "type": "object", "additionalProperties": false, "minProperties": 1, "properties": props })
    }
}

fn plan_paths(status_enum: &Value) -> Value {
    json!({
        "/api/v1/org-units": { "get": {
            "summary": "Org units the caller may read, in tree order",
            "operationId": "listOrgUnits",
            "responses": {
                "200": ok("Org units", json!({ "type": "object", "properties": { "org_units": { "type": "array", "items": { "$ref": "#/components/schemas/OrgUnit" } } } }))
            }
        }},
        "/api/v1/org-units/{id}/plan/{year}": { "get": {
            "summary": "An org unit's plan for a year: goals, indicators with follow-ups, actions, reviews",
            "operationId": "getPlan",
            "parameters": [id_param("id", "Org unit id"), { "name": "year", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1900, "maximum": 2999 } }],
            "responses": { "200": ok("The plan", json!({ "type": "object" })) }
        }},
        "/api/v1/indicators": { "get": {
            "summary": "Indicators of an org unit's plans",
            "operationId": "listIndicators",
            "parameters": [query("org_unit", true, id()), query("year", false, json!({ "type": "integer", "minimum": 1900, "maximum": 2999 }))],
            "responses": {
                "200": ok("Indicators", json!({ "type": "object", "properties": { "indicators": { "type": "array", "items": { "$ref": "#/components/schemas/Indicator" } } } }))
            }
        }},
        "/api/v1/indicators/{id}": { "get": {
            "summary": "One indicator", "operationId": "getIndicator",
            "parameters": [id_param("id", "Indicator id")],
            "responses": { "200": ok("Indicator", json!({ "$ref": "#/components/schemas/Indicator" })) }
        }},
        "/api/v1/indicators/{id}/follow-ups": { "get": {
            "summary": "An indicator's follow-ups, oldest period first, each with its status and the previous period's value",
            "operationId": "listFollowUps",
            "parameters": [id_param("id", "Indicator id")],
            "responses": {
                "200": ok("Follow-ups", json!({ "type": "object", "properties": { "indicator_id": { "type": "integer" }, "follow_ups": { "type": "array", "items": { "$ref": "#/components/schemas/FollowUp" } } } }))
            }
        }},
        "/api/v1/indicators/{id}/follow-ups/{period}": {
            "get": {
                "summary": "One follow-up", "operationId": "getFollowUp",
                "parameters": [id_param("id", "Indicator id"), period_param("path")],
                "responses": { "200": ok("Follow-up", json!({ "$ref": "#/components/schemas/FollowUp" })) }
            },
            "put": {
                "summary": "Create or replace the follow-up of a period (value, assessment, corrective actions)",
                "operationId": "putFollowUp",
                "parameters": [id_param("id", "Indicator id"), period_param("path")],
                "requestBody": body(json!({ "$ref": "#/components/schemas/FollowUpInput" })),
                "responses": {
                    "200": ok("Replaced", json!({ "type": "object", "properties": { "follow_up": { "$ref": "#/components/schemas/FollowUp" }, "status": status_enum } })),
                    "201": ok("Created", json!({ "type": "object", "properties": { "follow_up": { "$ref": "#/components/schemas/FollowUp" }, "status": status_enum } }))
                }
            }
        },
        "/api/v1/audit": { "get": {
            "summary": "The audit log, newest first (administrators; one with a scope reads the entries of its units)",
            "operationId": "listAudit",
            "parameters": [
                query("limit", false, json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 })),
                { "name": "before", "in": "query", "description": "Only entries with a smaller id (paging)", "schema": id() },
                query("entity", false, json!({ "type": "string", "maxLength": 100, "pattern": "^[^\\u0000]*$" }))
            ],
            "responses": {
                "200": ok("Entries", json!({ "type": "object", "properties": { "entries": { "type": "array", "items": { "$ref": "#/components/schemas/AuditEntry" } } } }))
            }
        }}
    })
}

/// Creating, changing and removing the plan: org units, goals, indicators, actions.
fn plan_write_paths() -> Value {
    let org_unit = json!({ "type": "object", "properties": { "org_unit": { "$ref": "#/components/schemas/OrgUnit" } } });
    let goal = json!({ "type": "object", "properties": { "goal": { "$ref": "#/components/schemas/Goal" } } });
    let action = json!({ "type": "object", "properties": { "action": { "$ref": "#/components/schemas/Action" } } });
    let indicator = json!({ "type": "object", "properties": { "indicator": { "$ref": "#/components/schemas/Indicator" } } });
    let producer =
        json!({ "type": "string", "enum": ["own", "purchased", "service_voucher", "private"] });
    let service_type = json!({ "oneOf": [codes(&valvo_core::ServiceType::ALL, valvo_core::ServiceType::code), { "type": "null" }],
        "description": "The kind of service it gives, from the national list (null: that of the unit above); the fair comparison per service type reads it" });
    let gone = json!({ "description": "Removed" });
    json!({
        "/api/v1/org-units": { "post": {
            "summary": "Add an org unit (administrators, below a unit of their scope)",
            "operationId": "createOrgUnit",
            "requestBody": body(json!({ "type": "object", "additionalProperties": false, "required": ["code", "name"], "properties": {
                "parent_id": { "type": ["integer", "null"], "minimum": 1, "maximum": ID_MAX },
                "code": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" },
                "name": i18n_national(500), "producer": producer, "sort_order": { "type": "integer", "minimum": -1000000, "maximum": 1000000 },
                "service_type": service_type.clone() } })),
            "responses": { "201": ok("Added", org_unit.clone()), "409": err("The code is taken") }
        }},
        "/api/v1/org-units/{id}": {
            "get": { "summary": "One org unit", "operationId": "getOrgUnit", "parameters": [id_param("id", "Org unit id")],
                "responses": { "200": ok("Org unit", org_unit.clone()) } },
            "patch": { "summary": "Change an org unit's name, producer type or service type (administrators)", "operationId": "patchOrgUnit",
                "parameters": [id_param("id", "Org unit id")],
                "requestBody": body(json!({ "type": "object", "additionalProperties": false, "minProperties": 1, "properties": {
                    "name": i18n_national(500), "producer": producer, "service_type": service_type } })),
                "responses": { "200": ok("Changed", org_unit) } },
            "delete": { "summary": "Remove an org unit that nothing refers to (administrators)", "operationId": "deleteOrgUnit",
                "parameters": [id_param("id", "Org unit id")],
                "responses": { "204": gone.clone(), "409": err("Units, plans, reports, incident reports, feedback or users still refer to it") } }
        },
        "/api/v1/goals": { "post": {
            "summary": "Add a goal to an org unit's plan for a year",
            "operationId": "createGoal",
            "requestBody": body(json!({ "type": "object", "additionalProperties": false, "required": ["org_unit", "year", "area", "title"], "properties": {
                "org_unit": id(), "year": { "type": "integer", "minimum": 2000, "maximum": 2100 }, "area": area_enum(), "title": i18n_national(500) } })),
            "responses": { "201": ok("Added", goal.clone()) }
        }},
        "/api/v1/goals/{id}": {
            "get": { "summary": "One goal", "operationId": "getGoal", "parameters": [id_param("id", "Goal id")],
                "responses": { "200": ok("Goal", goal.clone()) } },
            "patch": { "summary": "Change a goal's year, area or title", "operationId": "patchGoal",
                "parameters": [id_param("id", "Goal id")],
                "requestBody": body(json!({ "type": "object", "additionalProperties": false, "minProperties": 1, "properties": {
                    "year": { "type": "integer", "minimum": 2000, "maximum": 2100 }, "area": area_enum(), "title": i18n_national(500) } })),
                "responses": { "200": ok("Changed", goal) } },
            "delete": { "summary": "Remove a goal with nothing under it", "operationId": "deleteGoal",
                "parameters": [id_param("id", "Goal id")],
                "responses": { "204": gone.clone(), "409": err("It still has indicators, actions or reviews") } }
        },
        "/api/v1/indicators": { "post": {
            "summary": "Add an indicator to a goal: its code, value kind (number, count, percent, duration, ratio, money, text), direction, baseline and target (numbers or as typed for the kind), period kind",
            "operationId": "createIndicator",
            "requestBody": body(json!({ "$ref": "#/components/schemas/NewIndicator" })),
            "responses": { "201": ok("Added", indicator.clone()), "409": err("The code is taken in the county") }
        }},
        "/api/v1/indicators/{id}": {
            "patch": { "summary": "Change the fields named; \"retired\": true retires it (its history kept), false takes it back; retiring one without figures deletes it (indicator null, result deleted). Its value kind and period kind stay once it has figures.",
                "operationId": "patchIndicator", "parameters": [id_param("id", "Indicator id")],
                "requestBody": body(json!({ "$ref": "#/components/schemas/IndicatorPatch" })),
                "responses": { "200": ok("Changed", json!({ "type": "object", "properties": {
                    "indicator": { "oneOf": [{ "$ref": "#/components/schemas/Indicator" }, { "type": "null" }] },
                    "result": { "type": "string", "enum": ["deleted"] } } })), "409": err("The code is taken, or the kinds cannot change once it has figures") } },
            "delete": { "summary": "Delete an indicator without follow-ups, or retire one with them (its history kept)",
                "operationId": "deleteIndicator", "parameters": [id_param("id", "Indicator id")],
                "responses": { "200": ok("Deleted or retired", json!({ "type": "object", "properties": { "result": { "type": "string", "enum": ["deleted", "retired"] } } })) } }
        },
        "/api/v1/actions": { "post": {
            "summary": "Add an action to a goal",
            "operationId": "createAction",
            "requestBody": body(json!({ "type": "object", "additionalProperties": false, "required": ["goal", "text"], "properties": {
                "goal": id(), "text": i18n_national(10_000), "status": action_status() } })),
            "responses": { "201": ok("Added", action.clone()) }
        }},
        "/api/v1/actions/{id}": {
            "get": { "summary": "One action", "operationId": "getAction", "parameters": [id_param("id", "Action id")],
                "responses": { "200": ok("Action", action.clone()) } },
            "patch": { "summary": "Change an action's text or status", "operationId": "patchAction",
                "parameters": [id_param("id", "Action id")],
                "requestBody": body(json!({ "type": "object", "additionalProperties": false, "minProperties": 1, "properties": {
                    "text": i18n_national(10_000), "status": action_status() } })),
                "responses": { "200": ok("Changed", action) } },
            "delete": { "summary": "Remove an action", "operationId": "deleteAction",
                "parameters": [id_param("id", "Action id")],
                "responses": { "204": gone } }
        }
    })
}

fn county_prop() -> Value {
    json!({ "type": ["string", "null"], "pattern": "^[A-Za-z0-9_-]{1,64}$",
        "description": "The county (its code) whose own entry this is, offered only for its units; null: shared by every county. Default: as it is, or the caller's county (a caller scoped to one), or shared. Fixed once the entry exists (another: 409); no county with the code: 422 naming county. Shared entries are kept by callers without a scope; a county's by them and the county's own administrators and quality coordinators." })
}

fn county_param() -> Value {
    query(
        "county",
        false,
        json!({ "type": "string", "pattern": "^[A-Za-z0-9_-]{0,64}$",
        "description": "A county's code: only the entries offered in it (shared and its own); empty: every county's; no county with the code: 404" }),
    )
}

fn incident_paths() -> Value {
    let handling = json!({
        "type": "object", "required": ["state"],
        "properties": {
            "state": { "type": "string", "enum": ["new", "in_handling", "handled", "forwarded"] },
            "analysis": opt_text(10_000), "outcome": opt_text(10_000),
            "forward_to": { "type": ["integer", "null"], "minimum": 1, "maximum": ID_MAX }
        },
        "if": { "properties": { "state": { "const": "forwarded" } } },
        "then": { "required": ["forward_to"], "properties": { "forward_to": { "type": "integer" } } },
        "else": { "properties": { "forward_to": { "type": "null" } } }
    });
    let event_type_in = |required: &[&str]| {
        let mut props = json!({
            "name": i18n_national(200),
            "sort_order": { "type": "integer", "minimum": -1_000_000, "maximum": 1_000_000, "description": "Default: after the last type" },
            "active": { "type": "boolean", "default": true },
            "county": county_prop()
        });
        if required.contains(&"code") {
            props["code"] = json!({ "type": "string", "pattern": "^[a-z][a-z0-9_]{1,39}$" });
        }
        object(required, props)
    };
    json!({
        "/api/v1/incidents": { "post": {
            "summary": "Report an incident or misconduct; with \"anonymous\": true nothing about the caller is stored. Returns the receipt code (shown once). 422 also for an event type not active in the taxonomy and for a day of the event in the future.",
            "operationId": "createIncident",
            "requestBody": body(json!({ "$ref": "#/components/schemas/NewIncident" })),
            "responses": {
                "201": ok("Created", json!({ "type": "object", "properties": { "id": { "type": "integer" }, "receipt": { "type": "string" } } }))
            }
        }},
        "/api/v1/incidents/stats": { "get": {
            "summary": "Incident statistics of an org subtree and period, with the previous period (public: no free text). A report counts in the period it was received in; unhandled over two months and overdue are as they stood at the end of the period (as_of), today while it runs.",
            "operationId": "incidentStats",
            "security": [],
            "parameters": [query("org_unit", true, id()), period_param("query")],
            "responses": { "200": ok("Statistics; event_type_names names the event types in them ({code: I18nText})", json!({ "type": "object" })) }
        }},
        "/api/v1/incidents/event-types": {
            "get": {
                "summary": "The event-type taxonomy, active and inactive, in list order, with the number of reports of each type (public): every county's, or with county the types offered in that county and its reports",
                "operationId": "listEventTypes",
                "security": [],
                "parameters": [county_param()],
                "responses": { "200": ok("Event types", json!({ "type": "object", "properties": { "event_types": { "type": "array", "items": { "$ref": "#/components/schemas/EventType" } } } })) }
            },
            "post": {
                "summary": "Add an event type, shared by every county or one county's own (administrators and quality coordinators; see county). The code never changes and is unique across the service; name in Finnish or Swedish required. 409 when the code is in the taxonomy already.",
                "operationId": "createEventType",
                "requestBody": body(event_type_in(&["code", "name"])),
                "responses": { "201": ok("Created", json!({ "$ref": "#/components/schemas/EventType" })), "409": err("The code is in the taxonomy already") }
            }
        },
        "/api/v1/incidents/event-types/{code}": { "put": {
            "summary": "Rename, reorder, deactivate or reactivate an event type (fields left out stay as they are). An inactive type is refused on report forms; old reports and statistics keep its name.",
            "operationId": "updateEventType",
            "parameters": [{ "name": "code", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[a-z][a-z0-9_]{1,39}$" } }],
            "requestBody": body(event_type_in(&[])),
            "responses": { "200": ok("Updated", json!({ "$ref": "#/components/schemas/EventType" })), "409": err("county names another county than the type's (a type's county is fixed)") }
        }},
        "/api/v1/org-units/{id}/incident-handlers": {
            "get": {
                "summary": "The org unit's named incident handlers: they see and handle the reports of exactly this unit",
                "operationId": "listIncidentHandlers",
                "parameters": [id_param("id", "Org unit id")],
                "responses": {
                    "200": ok("Handlers", json!({ "type": "object", "properties": { "org_unit": { "type": "integer" }, "handlers": { "type": "array", "items": { "$ref": "#/components/schemas/IncidentHandler" } } } }))
                }
            },
            "put": {
                "summary": "Name the org unit's incident handlers, replacing the previous ones (administrators and quality coordinators, within their scope); [] names none. A user who does not exist or is outside the caller's scope: 422 naming users (not_found).",
                "operationId": "setIncidentHandlers",
                "parameters": [id_param("id", "Org unit id")],
                "requestBody": body(object(&["users"], json!({
                    "users": { "type": "array", "maxItems": 1000, "items": { "oneOf": [
                        { "type": "integer", "minimum": 1, "maximum": ID_MAX, "description": "User id" },
                        { "type": "string", "format": "email", "maxLength": 320 }] } } }))),
                "responses": {
                    "200": ok("Handlers", json!({ "type": "object", "properties": { "org_unit": { "type": "integer" }, "handlers": { "type": "array", "items": { "$ref": "#/components/schemas/IncidentHandler" } } } }))
                }
            }
        },
        "/api/v1/incidents/{id}": { "get": {
            "summary": "One report (the unit's handlers: whoever may write the unit, and its named handlers)", "operationId": "getIncident",
            "parameters": [id_param("id", "Report id")],
            "responses": { "200": ok("Report", json!({ "type": "object" })) }
        }},
        "/api/v1/incidents/{id}/handling": { "post": {
            "summary": "Record handling: state (new, in_handling, handled, forwarded), analysis, outcome for the reporter, forward_to (with forwarded only). Forwarding to a unit that does not exist: 422 naming forward_to; to the unit that holds the report: 409.",
            "operationId": "handleIncident",
            "parameters": [id_param("id", "Report id")],
            "requestBody": body(handling),
            "responses": { "200": ok("Updated report", json!({ "type": "object" })), "409": err("The report is at that unit already") }
        }},
        "/api/v1/incidents/{id}/actions": { "post": {
            "summary": "Add a decided action with owner and due date",
            "operationId": "addIncidentAction",
            "parameters": [id_param("id", "Report id")],
            "requestBody": body(object(&["text", "owner", "due_on"], json!({
                "text": text(10_000), "owner": text(500), "due_on": date() }))),
            "responses": { "201": ok("Action", json!({ "type": "object" })) }
        }}
    })
}

/// Users (administrators, within their scope) and one's own API tokens.
fn account_paths() -> Value {
    let roles: Vec<&str> = valvo_core::access::Role::ALL
        .iter()
        .map(|r| r.code())
        .collect();
    let role = json!({ "type": "string", "enum": roles });
    let scope = json!({ "type": ["integer", "null"], "minimum": 1, "maximum": ID_MAX,
        "description": "The org unit the user is limited to; null: the whole county (not for an area manager)" });
    let user = json!({ "$ref": "#/components/schemas/User" });
    let token = json!({ "$ref": "#/components/schemas/Token" });
    let branding = json!({ "type": "object", "properties": {
        "org_unit": { "type": "integer" },
        "colour": { "type": ["string", "null"], "description": "#rrggbb; null: Valvo's own" },
        "contact": { "type": "object", "properties": {
            "fi": { "type": ["string", "null"] }, "sv": { "type": ["string", "null"] }, "en": { "type": ["string", "null"] } } },
        "logo": { "type": ["object", "null"], "properties": {
            "sha256": { "type": "string" }, "media_type": { "type": "string" },
            "url": { "type": "string", "description": "Where the image is served (cached for good: the address names the image)" } } } } });
    json!({
        "/api/v1/users": {
            "get": {
                "summary": "The users the administrator manages (one with a scope: those within it), by e-mail; q filters by e-mail or name, in any case",
                "operationId": "listUsers",
                "parameters": [query("q", false, json!({ "type": "string", "maxLength": 200 }))],
                "responses": { "200": ok("Users", json!({ "type": "object", "properties": { "users": { "type": "array", "items": user.clone() } } })) }
            },
            "post": {
                "summary": "Invite a user (administrators; within their scope). With passwords on, the answer has a one-time link (7 days) that sets the password; a user of the county's identity provider signs in with it. An address in use: 409 naming email (state_conflict); a unit that does not exist or lies outside the caller's scope: 422 naming scope (not_found); an area manager without a scope: 422 naming scope.",
                "operationId": "createUser",
                "requestBody": body(object(&["email", "name", "role"], json!({
                    "email": { "type": "string", "format": "email", "maxLength": 254 },
                    "name": text(200), "role": role, "scope": scope }))),
                "responses": { "201": ok("The user, and password_link", user.clone()), "409": err("The e-mail address is in use") }
            }
        },
        "/api/v1/users/{id}": {
            "get": {
                "summary": "One user (administrators, within their scope)",
                "operationId": "getUser",
                "parameters": [id_param("id", "User id")],
                "responses": { "200": ok("User", user.clone()) }
            },
            "patch": {
                "summary": "Change a user's role, scope or activity (what is given). Deactivated: their sessions end and their tokens stop at once. One's own role and activity cannot be changed (409); a scope outside the caller's: 422 naming scope.",
                "operationId": "patchUser",
                "parameters": [id_param("id", "User id")],
                "requestBody": body(json!({ "type": "object", "additionalProperties": false, "properties": {
                    "role": role, "scope": scope, "active": { "type": "boolean" } } })),
                "responses": { "200": ok("User", user), "409": err("One's own role or activity") }
            }
        },
        "/api/v1/users/{id}/password-reset": { "post": {
            "summary": "Remove the user's password, end their sessions, and answer a one-time link that sets a new one (409 when passwords are off, or the user is deactivated)",
            "operationId": "resetPassword",
            "parameters": [id_param("id", "User id")],
            "responses": { "200": ok("The link", json!({ "type": "object", "properties": { "password_link": { "type": "string" } } })),
                           "409": err("Passwords are off, or the user is deactivated") }
        }},
        "/api/v1/branding/{root}": {
            "get": {
                "summary": "A county's branding: its colour, contact details and logo (what its report, its clients' pages and its public pages show; any caller may read it). root is a root of the organisation tree; another unit: 404.",
                "operationId": "getBranding",
                "parameters": [id_param("root", "The county: a root of the organisation tree")],
                "responses": { "200": ok("Branding", branding.clone()) }
            },
            "put": {
                "summary": "Set a county's branding (administrators whose scope holds the county), as its settings page does; reports approved before keep theirs. colour and contact are replaced as given (absent or null: none). colour: #rrggbb or #rgb with a contrast of at least 4.5:1 against white and the page head's #f2f2f2 (422 naming colour, out_of_range). logo: absent keeps the logo, null removes it, data_base64 sets a PNG, JPEG or SVG image of at most 512 kB that the report can set (422 naming logo).",
                "operationId": "putBranding",
                "parameters": [id_param("root", "The county: a root of the organisation tree")],
                "requestBody": body(json!({ "type": "object", "additionalProperties": false, "properties": {
                    "colour": { "type": ["string", "null"], "pattern": "^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6})?$" },
                    "contact": { "type": ["object", "null"], "additionalProperties": false, "properties": {
                        "fi": { "type": ["string", "null"], "maxLength": valvo_core::branding::CONTACT_MAX_CHARS },
                        "sv": { "type": ["string", "null"], "maxLength": valvo_core::branding::CONTACT_MAX_CHARS },
                        "en": { "type": ["string", "null"], "maxLength": valvo_core::branding::CONTACT_MAX_CHARS } } },
                    "logo": { "type": ["object", "null"], "required": ["data_base64"], "additionalProperties": false,
                        "properties": { "data_base64": { "type": "string", "minLength": 1, "contentEncoding": "base64",
                            "description": "The image file, base64 (standard alphabet)" } } } } })),
                "responses": { "200": ok("The branding saved", branding) }
            }
        },
        "/api/v1/tokens": {
            "get": {
                "summary": "The caller's own API tokens (never their secrets)",
                "operationId": "listTokens",
                "responses": { "200": ok("Tokens", json!({ "type": "object", "properties": { "tokens": { "type": "array", "items": token.clone() } } })) }
            },
            "post": {
                "summary": "A new token of the caller's: a name, days until it expires (none: until revoked), read-only (GET only), a narrower scope. The secret is in the answer (token), once. A scope that does not exist or lies outside the caller's: 422 naming scope.",
                "operationId": "createToken",
                "requestBody": body(object(&["label"], json!({
                    "label": text(100),
                    "expires_in_days": { "type": ["integer", "null"], "minimum": 1, "maximum": 3650 },
                    "read_only": { "type": "boolean" },
                    "scope": { "type": ["integer", "null"], "minimum": 1, "maximum": ID_MAX,
                        "description": "An org unit within the caller's scope: the token reaches only its subtree" } }))),
                "responses": { "201": ok("The token, and its secret", token) }
            }
        },
        "/api/v1/tokens/{id}": { "delete": {
            "summary": "Revoke a token (its owner; an administrator anyone's): it answers 401 at once on every instance. The token making the request cannot revoke itself (409).",
            "operationId": "revokeToken",
            "parameters": [id_param("id", "Token id")],
            "responses": { "204": { "description": "Revoked" }, "409": err("The token making the request") }
        }}
    })
}

/// A string from a fixed list of codes.
fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> Value {
    json!({ "type": "string", "enum": all.iter().map(|v| code(*v)).collect::<Vec<_>>() })
}

/// The ombudsperson's contacts and the supervision visits.
fn oversight_paths() -> Value {
    use valvo_core::ombudsman::{Channel, ClientGroup, ContactLanguage, Measure, Producer, Sector};
    use valvo_core::supervision::{Severity, VisitKind};
    let code = json!({ "type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$" });
    let nullable_id = json!({ "type": ["integer", "null"], "minimum": 1, "maximum": ID_MAX });
    let item = object(
        &["sector", "reasons"],
        json!({
            "org_unit": nullable_id.clone(),
            "producer": { "oneOf": [codes(&Producer::ALL, Producer::code), { "type": "null" }],
                          "description": "Needed when no org_unit is named; a named unit's own producer type wins" },
            "sector": codes(&Sector::ALL, Sector::code),
            "reasons": { "type": "array", "maxItems": 10, "items": code.clone(),
                         "description": "Codes of active reasons (GET /api/v1/ombudsman/reasons); at least one" }
        }),
    );
    let contact = object(
        &[
            "contacted_on",
            "channel",
            "language",
            "client_group",
            "items",
        ],
        json!({
            "contacted_on": date(),
            "channel": codes(&Channel::ALL, Channel::code),
            "language": codes(&ContactLanguage::ALL, ContactLanguage::code),
            "client_group": codes(&ClientGroup::ALL, ClientGroup::code),
            "items": { "type": "array", "maxItems": 20, "items": item },
            "measures": { "type": "array", "maxItems": 5, "items": codes(&Measure::ALL, Measure::code) },
            "note": { "type": ["string", "null"], "maxLength": 4000, "description": "Redacted (identity codes, phone numbers, e-mail addresses, names) before it is kept" }
        }),
    );
    let finding = object(
        &["topic", "severity", "text"],
        json!({
            "topic": code.clone(),
            "severity": codes(&Severity::ALL, Severity::code),
            "text": i18n(4000),
            "correction_due": { "oneOf": [date(), { "type": "null" }], "description": "A correction requested of the producer, by this day (not for an observation)" }
        }),
    );
    let visit = object(
        &["org_unit", "visited_on", "kind"],
        json!({
            "org_unit": id(),
            "visited_on": date(),
            "kind": codes(&VisitKind::ALL, VisitKind::code),
            "topics": { "type": "array", "maxItems": 20, "items": code.clone() },
            "findings": { "type": "array", "maxItems": 50, "items": finding },
            "follows": nullable_id
        }),
    );
    let stats_params = json!([query("org_unit", true, id()), period_param("query")]);
    json!({
        "/api/v1/ombudsman/contacts": { "get": {
            "summary": "The caller's own log of contacts in a period (ombudspersons in their scope; administrators), newest first, at most 1 000; the note as kept, personal data replaced by markers",
            "operationId": "listOmbudsmanContacts",
            "parameters": [period_param("query")],
            "responses": { "200": ok("Contacts", json!({ "type": "object" })) }
        }, "post": {
            "summary": "Record a contact to the patient or social ombudsperson (ombudspersons; administrators). No name, identity code or contact detail of the client is kept. An item names a unit (in the caller's scope) or only its producer type (counted at the caller's county). 201 with the id; an unknown unit or reason: 422 naming it (items.N.org_unit, items.N.reasons.M).",
            "operationId": "createOmbudsmanContact",
            "requestBody": body(contact),
            "responses": { "201": ok("Created", object(&["id"], json!({ "id": { "type": "integer" } }))) }
        }},
        "/api/v1/ombudsman/stats": { "get": {
            "summary": "Contacts, items and their breakdowns ({code, count, share, previous_count, previous_share}; reason shares over reason mentions, channels and measures over contacts, the others over items) of an org subtree and period. A contact counts in the smallest part of the organisation that holds all its items. With a token: the caller's units in full; without: public, counts under 5 and what would reveal them withheld (null).",
            "operationId": "ombudsmanStats",
            "security": [{}, { "bearer": [] }],
            "parameters": stats_params.clone(),
            "responses": { "200": ok("Statistics", json!({ "type": "object" })) }
        }},
        "/api/v1/ombudsman/reasons": { "get": {
            "summary": "The reason classification, active and retired, in list order (public): every county's, or with county the reasons offered in that county",
            "operationId": "listOmbudsmanReasons",
            "security": [],
            "parameters": [county_param()],
            "responses": { "200": ok("Reasons", json!({ "type": "object" })) }
        }},
        "/api/v1/ombudsman/reasons/{code}": { "put": {
            "summary": "Add a reason or rename, reorder, retire (active: false) one: quality coordinators and administrators (a county's own reasons also its own; see county). Finnish and Swedish names are required; a code once used stays.",
            "operationId": "putOmbudsmanReason",
            "parameters": [{ "name": "code", "in": "path", "required": true, "schema": code.clone() }],
            "requestBody": body(object(&["name"], json!({
                "name": i18n_national(200),
                "active": { "type": "boolean", "default": true },
                "sort_order": { "type": "integer", "minimum": 0, "maximum": 1_000_000 },
                "county": county_prop()
            }))),
            "responses": { "200": ok("The reason", json!({ "type": "object" })), "409": err("county names another county than the reason's (an entry's county is fixed)") }
        }},
        "/api/v1/supervision/visits": { "post": {
            "summary": "Record a supervision visit with its topics and findings (supervisors, quality coordinators, administrators, in their scope). The producer type comes from the unit. A follow-up names the visit it follows (of the same unit). 201 with the visit.",
            "operationId": "createSupervisionVisit",
            "requestBody": body(visit),
            "responses": { "201": ok("The visit", json!({ "type": "object" })) }
        }},
        "/api/v1/supervision/visits/{id}": { "get": {
            "summary": "A visit with its findings and their corrections (whoever reads its unit)",
            "operationId": "getSupervisionVisit",
            "parameters": [id_param("id", "Visit id")],
            "responses": { "200": ok("The visit", json!({ "type": "object" })) }
        }},
        "/api/v1/supervision/visits/{id}/avi": { "post": {
            "summary": "The day the inspection report went to the regional state administrative agency (not before the visit, not in the future)",
            "operationId": "setSupervisionAviSent",
            "parameters": [id_param("id", "Visit id")],
            "requestBody": body(object(&["sent_on"], json!({ "sent_on": date() }))),
            "responses": { "200": ok("The visit", json!({ "type": "object" })) }
        }},
        "/api/v1/supervision/findings/{id}/correction": { "post": {
            "summary": "The producer's reply to a requested correction, and whether it is done. A finding with no correction requested: 409.",
            "operationId": "updateSupervisionCorrection",
            "parameters": [id_param("id", "Finding id")],
            "requestBody": body(object(&["done"], json!({ "done": { "type": "boolean" }, "reply": opt_text(4000) }))),
            "responses": { "200": ok("The finding", json!({ "type": "object" })), "409": err("No correction was requested") }
        }},
        "/api/v1/supervision/stats": { "get": {
            "summary": "Visits of an org subtree and period: the table by producer × kind × month with row and column totals, findings by topic and severity, corrections requested, and those open and overdue now",
            "operationId": "supervisionStats",
            "parameters": stats_params,
            "responses": { "200": ok("Statistics", json!({ "type": "object" })) }
        }},
        "/api/v1/supervision/topics": { "get": {
            "summary": "The checklist of topics, active and retired, in list order (public): every county's, or with county the topics offered in that county",
            "operationId": "listSupervisionTopics",
            "security": [],
            "parameters": [county_param()],
            "responses": { "200": ok("Topics", json!({ "type": "object" })) }
        }},
        "/api/v1/supervision/topics/{code}": { "put": {
            "summary": "Add a topic to the checklist or rename, reorder, retire (active: false) one: quality coordinators and administrators (a county's own topics also its own; see county). Finnish and Swedish names are required; a code once used stays.",
            "operationId": "putSupervisionTopic",
            "parameters": [{ "name": "code", "in": "path", "required": true, "schema": code.clone() }],
            "requestBody": body(object(&["name"], json!({
                "name": i18n_national(200),
                "active": { "type": "boolean", "default": true },
                "sort_order": { "type": "integer", "minimum": 0, "maximum": 1_000_000 },
                "county": county_prop()
            }))),
            "responses": { "200": ok("The topic", json!({ "type": "object" })), "409": err("county names another county than the topic's (an entry's county is fixed)") }
        }}
    })
}

fn feedback_paths(survey: &SurveyDef) -> Value {
    let stats_params = json!([
        { "name": "org_unit", "in": "query", "required": true, "description": "Org unit id (its whole subtree)", "schema": id() },
        period_param("query"),
        // An empty value is no filter, as a form's "all" sends it.
        query("service_lang", false, json!({ "type": "string", "enum": ["fi", "sv", "other", ""] })),
        query("channel", false, json!({ "type": "string", "enum": ["web", "qr", "invitation", "import", ""] })),
        query("respondent", false, json!({ "type": "string", "enum": ["client", "relative", ""] }))
    ]);
    let point = json!({ "oneOf": [
        { "type": "integer", "minimum": survey.scale.min, "maximum": survey.scale.max },
        { "type": "string", "enum": ["cannot_say"] }] });
    let scores: Map<String, Value> = survey
        .statements
        .iter()
        .map(|s| (s.key.clone(), point.clone()))
        .collect();
    let answer = json!({
        "type": "object",
        "properties": {
            "invitation": { "type": "string", "minLength": 1, "maxLength": 200 }, "org_unit": id(),
            "nps": { "type": "integer", "minimum": 0, "maximum": 10 },
            "scores": { "type": "object", "description": "Statement key (of GET /api/v1/feedback/survey) → a scale point or \"cannot_say\". A county's own statement only for that county's units (else 422 naming scores.KEY; GET /api/v1/feedback/survey?county=CODE lists those asked in a county)", "properties": scores, "additionalProperties": false },
            "text": opt_text(10_000),
            "service_lang": { "type": "string", "enum": ["fi", "sv", "other"] },
            "age_group": { "type": "string", "enum": ["0-17", "18-34", "35-49", "50-64", "65-74", "75+"] },
            "respondent": { "type": "string", "enum": ["client", "relative"] },
            "service_date": date(),
            "contact": opt_text(500) },
        "oneOf": [{ "required": ["invitation"] }, { "required": ["org_unit"], "not": { "required": ["invitation"] } }],
        "anyOf": [
            { "required": ["nps"] },
            { "required": ["scores"], "properties": { "scores": { "minProperties": 1 } } },
            { "required": ["text"], "properties": { "text": { "pattern": NONBLANK } } }]
    });
    let obj = json!({ "type": "object" });
    let import_params = json!([
        query(
            "dry_run",
            false,
            json!({ "type": "boolean", "default": false })
        ),
        query(
            "file_name",
            false,
            json!({ "type": "string", "maxLength": 200, "pattern": "^[^\\x00]*$" })
        ),
    ]);
    json!({
        "/api/v1/feedback/answers": { "post": {
            "summary": "One answer. With \"invitation\" (a one-time token) no bearer token is needed and the token is used up (422 naming invitation when unknown, 409 on a replay, 410 expired); with \"org_unit\" a bearer token that may write the unit (422 naming org_unit when there is no such unit). 201 once the answer is on disk. 422 also for a service date in the future.",
            "operationId": "submitFeedback",
            "security": [{}, { "bearer": [] }],
            "requestBody": body(answer),
            "responses": { "201": ok("Stored", obj.clone()), "409": err("Invitation already used"), "410": err("Invitation expired"), "429": err("Too many answers without a bearer token from this address") }
        }},
        "/api/v1/feedback/invitations": { "post": {
            "summary": "One-time invitations for a unit and service date (for SMS after a visit): tokens and links. 422 also for a service date in the future.",
            "operationId": "createInvitations",
            "requestBody": body(object(&["org_unit", "service_date"], json!({
                "org_unit": id(), "service_date": date(),
                "count": { "type": "integer", "minimum": 1, "maximum": 10000, "default": 1 },
                "valid_days": { "type": "integer", "minimum": 1, "maximum": 365, "default": 30 } }))),
            "responses": { "201": ok("Tokens and links", obj.clone()) }
        }},
        "/api/v1/feedback/import": { "post": {
            "summary": "Import answers from CSV (header: unit, service_date, nps, statement keys, text, service_lang, age_group, respondent, contact; `;` or `,`, UTF-8 with or without BOM), read as it arrives: all lines or none. 422 `invalid_lines` names every line with errors (the first 100: line, field, code, expected) and counts them all; `dry_run=true` checks without writing.",
            "operationId": "importFeedback",
            "parameters": import_params.clone(),
            "requestBody": { "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } },
            "responses": { "200": ok("Imported (or checked): `imported`, `checked` and the import", obj.clone()) }
        }},
        "/api/v1/incidents/import": { "post": {
            "summary": "Import incident report history from a HaiPro- or SPro-style CSV export (header: unit, reported_on, occurred_on, kind, event_type (code or name), consequence, reporter_role, state, handled_on, never_event, place, description, contributing_factors, immediate_actions): all lines or none, as the answer import. Administrators and quality coordinators.",
            "operationId": "importIncidents",
            "parameters": import_params.clone(),
            "requestBody": { "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } },
            "responses": { "200": ok("Imported (or checked): `imported`, `checked` and the import", obj.clone()) }
        }},
        "/api/v1/ombudsman/import": { "post": {
            "summary": "Import an ombudsperson's log of contacts from CSV or XLSX, one line per item (header: contact (the log's own number; lines with the same number one after another make one contact; without it every line is a contact), contacted_on, channel, language, client_group, measures, unit (a unit's code, or empty), producer (when no unit), sector, reasons (codes separated by , or |)): all lines or none, every bad line named. Ombudspersons and administrators.",
            "operationId": "importOmbudsmanContacts",
            "parameters": import_params.clone(),
            "requestBody": { "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } },
            "responses": { "200": ok("Imported (or checked): `imported`, `checked` and the import", obj.clone()) }
        }},
        "/api/v1/follow-ups/import": { "post": {
            "summary": "Import follow-up figures from CSV or XLSX (header: indicator (its code), period (2023T3 or 9–12/2023), value as people type it for the indicator's kind, and optionally assessment_fi, assessment_sv, assessment_en, corrective_fi, corrective_sv, corrective_en): all lines or none, every bad line named by sheet, line and column. With dry_run=true nothing is written and import.summary previews what is new, changed and unchanged; POST /api/v1/imports/{id}/apply then applies it. The same file twice changes nothing.",
            "operationId": "importFigures",
            "parameters": import_params.clone(),
            "requestBody": { "required": true, "content": {
                "text/csv": { "schema": { "type": "string" } },
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": { "schema": { "type": "string", "format": "binary" } } } },
            "responses": { "200": ok("Imported (or checked): `imported`, `checked` and the import with its summary", obj.clone()) }
        }},
        "/api/v1/reference/sotkanet": { "post": {
            "summary": "Load national and regional reference values from a Sotkanet CSV export (columns indicator, region, year, gender, value or primary value; ; or , separated; decimal comma or point): all lines or none, each bad line named. Administrators and quality coordinators.",
            "operationId": "importSotkanet",
            "parameters": [query("file_name", false, json!({ "type": "string", "maxLength": 200, "pattern": "^[^\\x00]*$" }))],
            "requestBody": { "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } },
            "responses": { "200": ok("Stored: `values`, `missing`", obj.clone()) }
        }},
        "/api/v1/imports/{id}/apply": { "post": {
            "summary": "Apply a checked figures import (its preview confirmed): its starter or an administrator, once.",
            "operationId": "applyImport",
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": id() }],
            "responses": { "200": ok("Applied: `imported` and the import", obj.clone()), "409": err("Not a checked figures import, or applied already") }
        }},
        "/api/v1/imports/{id}": { "get": {
            "summary": "An import's progress and result (its starter, or an administrator): state (running, done, checked, failed), bytes and lines read, rows written, errors.",
            "operationId": "getImport",
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": id() }],
            "responses": { "200": ok("The import", obj.clone()) }
        }},
        "/api/v1/feedback/stats": { "get": {
            "summary": "Feedback statistics of an org subtree and period with the previous period, breakdowns and yearly trend. Without a token: public figures, cells under 5 answers withheld with whatever would let them be computed, and no background filter (401 with one).",
            "operationId": "feedbackStats",
            "security": [{}, { "bearer": [] }],
            "parameters": stats_params,
            "responses": { "200": ok("Statistics", obj.clone()) }
        }},
        "/api/v1/feedback/comparison": { "get": {
            "summary": "Every county's NPS and national statements beside the country's, raw and directly standardised to the national mix of respondent, age group and language of service, with 95 % intervals; figures of fewer than 30 answers withheld, a standardised one also where the county's strata cover less than 90 % of the mix. Without a token: tertials only.",
            "operationId": "feedbackComparison",
            "security": [{}, { "bearer": [] }],
            "parameters": [period_param("query")],
            "responses": { "200": ok("Comparison", obj.clone()) }
        }},
        "/api/v1/feedback/comparison/{service_type}": { "get": {
            "summary": "The same comparison of the answers of the units giving one service (a unit's own service type, or else that of the nearest unit above it with one), in every county that has such units, standardised to that service's national mix; by tertial, half year or year. Without a token: tertials only.",
            "operationId": "feedbackComparisonOfService",
            "security": [{}, { "bearer": [] }],
            "parameters": [
                { "name": "service_type", "in": "path", "required": true,
                  "schema": codes(&valvo_core::ServiceType::ALL, valvo_core::ServiceType::code) },
                { "name": "period", "in": "query", "required": true,
                  "description": "Tertial 2024T1, half year 2024H1 or year 2024",
                  "schema": { "type": "string", "pattern": "^(19[0-9]{2}|2[0-9]{3})([Tt][1-3]|[Hh][12])?$" } }],
            "responses": { "200": ok("Comparison", obj.clone()) }
        }},
        "/api/v1/feedback/export": { "get": {
            "summary": "The national export (CSV, see docs/feedback-export.md)",
            "operationId": "feedbackExport",
            "parameters": [{ "name": "org_unit", "in": "query", "required": true, "schema": id() }, period_param("query")],
            "responses": { "200": { "description": "CSV", "content": { "text/csv": { "schema": { "type": "string" } } } } }
        }},
        "/api/v1/feedback/survey": { "get": {
            "summary": "The current survey (public); a county's own statement names its county (`county`) and is answered only for that county's units", "operationId": "getSurvey", "security": [],
            "parameters": [county_param()],
            "responses": { "200": ok("Survey", obj.clone()) }
        }},
        "/api/v1/feedback/cases": {
            "get": { "summary": "The caller's handling queue, most urgent first", "operationId": "feedbackQueue",
                "responses": { "200": ok("Cases", obj.clone()) } },
            "post": { "summary": "Record a remark (muistutus) or complaint (kantelu), or feedback received otherwise. 422 also for dates in the future or a due date before the day received.", "operationId": "createFeedbackCase",
                "requestBody": body(object(&["org_unit", "kind", "text"], json!({
                    "org_unit": id(), "kind": { "type": "string", "enum": ["remark", "complaint", "feedback"] },
                    "received_on": date(), "due_on": date(),
                    "text": text(10_000), "contact": opt_text(500) }))),
                "responses": { "201": ok("Created", obj.clone()) } }
        },
        "/api/v1/feedback/cases/{id}": {
            "get": { "summary": "A case (the unit's handlers)", "operationId": "getFeedbackCase",
                "parameters": [id_param("id", "Case id")],
                "responses": { "200": ok("Case", obj.clone()) } },
            "post": { "summary": "Handle a case: state, tags, note, reply (only where the sender left contact details: 409 otherwise), route_to (another unit: 422 unknown, 409 the case's own)", "operationId": "updateFeedbackCase",
                "parameters": [id_param("id", "Case id")],
                "requestBody": body(json!({ "type": "object", "properties": {
                    "state": { "type": "string", "enum": ["new", "in_handling", "handled"] }, "tags": opt_text(500),
                    "note": opt_text(10_000), "reply": opt_text(10_000), "route_to": { "type": ["integer", "null"], "minimum": 1, "maximum": ID_MAX } } })),
                "responses": { "200": ok("Case", obj), "409": err("No contact to reply to, or the case is at that unit already") } }
        }
    })
}

/// Adds the answers every operation can give: 400 (a malformed parameter or
/// body), 404 (the path names what does not exist), 401 and 403 when it needs a
/// token, and 413, 415 and 422 when it takes a body.
fn complete(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (_, ops) in paths.iter_mut() {
        let Some(ops) = ops.as_object_mut() else {
            continue;
        };
        for (_, op) in ops.iter_mut() {
            let public = op
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|s| {
                    s.iter()
                        .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
                });
            let has_body = op.get("requestBody").is_some();
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            let mut add = |code: &str, desc: &str| {
                responses
                    .entry(code.to_string())
                    .or_insert_with(|| err(desc));
            };
            add("400", "A malformed parameter or body");
            add(
                "503",
                "The database does not answer for now; try again after Retry-After seconds",
            );
            add("404", "No such resource (the one the path names)");
            if !public {
                add("401", "No or unknown bearer token");
                add("403", "Not allowed for this user (role or scope)");
            } else {
                add("401", "A bearer token that is unknown or revoked");
                add("403", "Not allowed for this user (role or scope)");
            }
            if has_body {
                add("413", "The body is over 2 MB");
                add("415", "The body is not of the operation's media type");
                add(
                    "422",
                    "Fields that break a rule or name what does not exist, named in error.fields",
                );
            }
        }
    }
}

/// `GET /api/openapi.json`
pub async fn document(State(state): State<AppState>) -> Json<Value> {
    let survey = state
        .store()
        .current_survey()
        .await
        .map(|s| s.def)
        .unwrap_or_else(|_| SurveyDef::national_default());
    Json(spec(&survey))
}

/// The compiled request schemas of one survey version, by (method, route).
struct Validators {
    survey: i64,
    by_route: HashMap<(String, String), jsonschema::Validator>,
}

/// The compiled request schemas of a server, compiled once for each survey
/// version (by one request; the others arriving meanwhile wait for it).
#[derive(Default)]
pub(crate) struct Schemas {
    current: Mutex<Option<Arc<Validators>>>,
    compiling: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Schemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Schemas")
    }
}

impl Schemas {
    fn cached(&self) -> Option<Arc<Validators>> {
        self.current.lock().ok().and_then(|g| g.clone())
    }

    /// The schemas compiled last; `stale`: those of that survey version
    /// are not to be returned unless the survey is still that version.
    async fn get(&self, state: &AppState, stale: Option<i64>) -> Option<Arc<Validators>> {
        let fresh_enough = |v: &Arc<Validators>| stale.is_none_or(|s| v.survey != s);
        if let Some(v) = self.cached().filter(fresh_enough) {
            return Some(v);
        }
        let _one = self.compiling.lock().await;
        if let Some(v) = self.cached().filter(fresh_enough) {
            return Some(v);
        }
        let survey = match state.store().current_survey().await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "survey unavailable for the request schema");
                return None;
            }
        };
        if let Some(v) = self.cached().filter(|v| v.survey == survey.id) {
            return Some(v);
        }
        let v = Arc::new(compile(survey.id, &survey.def));
        if let Ok(mut g) = self.current.lock() {
            *g = Some(v.clone());
        }
        Some(v)
    }
}

fn compile(survey_version: i64, survey: &SurveyDef) -> Validators {
    let doc = spec(survey);
    let components = doc.get("components").cloned().unwrap_or(Value::Null);
    let mut by_route = HashMap::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, ops) in paths {
            let Some(ops) = ops.as_object() else { continue };
            for (method, op) in ops {
                let Some(schema) = op.pointer("/requestBody/content/application~1json/schema")
                else {
                    continue;
                };
                let root = json!({ "allOf": [schema], "components": components });
                match jsonschema::options()
                    .should_validate_formats(true)
                    .build(&root)
                {
                    Ok(v) => {
                        by_route.insert((method.to_uppercase(), path.clone()), v);
                    }
                    Err(e) => tracing::error!(error = %e, %path, "request schema does not compile"),
                }
            }
        }
    }
    Validators {
        survey: survey_version,
        by_route,
    }
}

/// The fields a schema error is about. Of alternatives (`anyOf`, `oneOf`)
/// none of which holds, what the first would need.
fn fields_of(e: &jsonschema::ValidationError<'_>) -> Vec<(String, ErrorCode)> {
    use jsonschema::error::ValidationErrorKind as K;
    let path = e.instance_path().to_string();
    let base = path.trim_start_matches('/').replace('/', ".");
    let join = |p: &str| {
        if base.is_empty() {
            p.to_string()
        } else {
            format!("{base}.{p}")
        }
    };
    match e.kind() {
        K::Required { property } => {
            vec![(join(property.as_str().unwrap_or("")), ErrorCode::Required)]
        }
        // Each property the operation does not take, by its name.
        K::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|p| (join(p), ErrorCode::Invalid))
            .collect(),
        K::AnyOf { context } | K::OneOfNotValid { context } => {
            // A text with neither Finnish nor Swedish in it.
            let all: Vec<(String, ErrorCode)> = context
                .iter()
                .flat_map(|errs| errs.iter().flat_map(fields_of))
                .collect();
            let lang = |f: &str| [".fi", ".sv", ".en"].iter().any(|l| f.ends_with(l));
            if !all.is_empty() && !base.is_empty() && all.iter().all(|(f, _)| lang(f)) {
                return vec![(base, ErrorCode::NationalLanguageRequired)];
            }
            let first: Vec<(String, ErrorCode)> = context
                .first()
                .map(|errs| errs.iter().flat_map(fields_of).collect())
                .unwrap_or_default();
            if first.is_empty() {
                vec![(base, ErrorCode::Invalid)]
            } else {
                first
            }
        }
        K::MaxLength { .. } => vec![(base, ErrorCode::TooLong)],
        K::Minimum { .. }
        | K::Maximum { .. }
        | K::ExclusiveMinimum { .. }
        | K::ExclusiveMaximum { .. } => vec![(base, ErrorCode::OutOfRange)],
        _ => vec![(base, ErrorCode::Invalid)],
    }
}

/// `assessment.fi` is the field `assessment_fi`, as the forms and the
/// other errors name it; `users.0` stays as it is.
fn form_field(field: String) -> String {
    for lang in ["fi", "sv", "en"] {
        if let Some(stem) = field.strip_suffix(&format!(".{lang}")) {
            return format!("{stem}_{lang}");
        }
    }
    field
}

/// Checks a JSON body against the documented schema of `method` on `route`
/// (the matched route pattern, `/api/v1/incidents/{id}/handling`): the
/// fields that break it, or nothing.
pub(crate) async fn check_body(
    state: &AppState,
    method: &str,
    route: &str,
    body: &Value,
) -> Vec<FieldError> {
    let schemas = state.schemas();
    let Some(compiled) = schemas.get(state, None).await else {
        return Vec::new();
    };
    let errors = errors_of(&compiled, method, route, body);
    // Only the answers' schema depends on the survey (its statements). An
    // answer the compiled schema refuses is checked again if the survey
    // has changed since (perhaps through another instance); one it accepts
    // is still read against the survey in its own write transaction.
    if errors.is_empty() || route != "/api/v1/feedback/answers" {
        return errors;
    }
    match schemas.get(state, Some(compiled.survey)).await {
        Some(fresh) if fresh.survey != compiled.survey => errors_of(&fresh, method, route, body),
        _ => errors,
    }
}

/// The fields of `body` that break the schema of `method` on `route`.
fn errors_of(compiled: &Validators, method: &str, route: &str, body: &Value) -> Vec<FieldError> {
    let Some(validator) = compiled
        .by_route
        .get(&(method.to_uppercase(), route.to_string()))
    else {
        return Vec::new();
    };
    let mut out: Vec<FieldError> = Vec::new();
    for e in validator.iter_errors(body) {
        for (field, code) in fields_of(&e) {
            let field = if field.is_empty() {
                "body".to_string()
            } else {
                form_field(field)
            };
            if !out.iter().any(|f| f.field == field) {
                out.push(FieldError { field, code });
            }
        }
    }
    out
}

//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/openapi.json`.
//! Written by hand next to the handlers; a test checks that every API route is in it.

use axum::Json;
use serde_json::{json, Value};

fn i18n_schema() -> Value {
    json!({
        "type": "object",
        "description": "A text per language; Finnish or Swedish required where the text is required, English optional.",
        "properties": { "fi": { "type": "string" }, "sv": { "type": "string" }, "en": { "type": "string" } },
        "additionalProperties": false
    })
}

fn err(desc: &str) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn ok(desc: &str, schema: Value) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": schema } } })
}

fn id_param(name: &str, desc: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": desc, "schema": { "type": "integer", "format": "int64" } })
}

fn period_param() -> Value {
    json!({ "name": "period", "in": "path", "required": true,
            "description": "Period: month 2024-03, quarter 2024Q1, tertial 2024T1, half year 2024H1, year 2024",
            "schema": { "type": "string", "pattern": "^[0-9]{4}(-[0-9]{2}|[QqTtHh][1-4])?$" } })
}

/// The document.
pub fn spec() -> Value {
    let status_enum = json!({ "type": "string", "enum": ["met", "on_the_way", "off_track", "no_data", "no_target"] });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Valvo API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Self-monitoring plans and their follow-up. Authenticate with `Authorization: Bearer <token>` (`valvo token create --email E`). Errors are JSON: {\"error\": {\"code\", \"message\", \"fields\"}}."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": {
            "/api/v1/org-units": { "get": {
                "summary": "Org units the caller may read, in tree order",
                "operationId": "listOrgUnits",
                "responses": {
                    "200": ok("Org units", json!({ "type": "object", "properties": { "org_units": { "type": "array", "items": { "$ref": "#/components/schemas/OrgUnit" } } } })),
                    "401": err("No or unknown token")
                }
            }},
            "/api/v1/org-units/{id}/plan/{year}": { "get": {
                "summary": "An org unit's plan for a year: goals, indicators with follow-ups, actions, reviews",
                "operationId": "getPlan",
                "parameters": [id_param("id", "Org unit id"), { "name": "year", "in": "path", "required": true, "schema": { "type": "integer" } }],
                "responses": { "200": ok("The plan", json!({ "type": "object" })), "401": err("No token"), "403": err("Outside the caller's scope"), "404": err("No such org unit") }
            }},
            "/api/v1/indicators": { "get": {
                "summary": "Indicators of an org unit's plans",
                "operationId": "listIndicators",
                "parameters": [
                    { "name": "org_unit", "in": "query", "required": true, "schema": { "type": "integer" } },
                    { "name": "year", "in": "query", "required": false, "schema": { "type": "integer" } }
                ],
                "responses": {
                    "200": ok("Indicators", json!({ "type": "object", "properties": { "indicators": { "type": "array", "items": { "$ref": "#/components/schemas/Indicator" } } } })),
                    "400": err("Missing or malformed org_unit or year"), "401": err("No token"), "403": err("Outside the caller's scope"), "404": err("No such org unit")
                }
            }},
            "/api/v1/indicators/{id}": { "get": {
                "summary": "One indicator", "operationId": "getIndicator",
                "parameters": [id_param("id", "Indicator id")],
                "responses": { "200": ok("Indicator", json!({ "$ref": "#/components/schemas/Indicator" })), "401": err("No token"), "403": err("Outside scope"), "404": err("Not found") }
            }},
            "/api/v1/indicators/{id}/follow-ups": { "get": {
                "summary": "An indicator's follow-ups, oldest period first, each with its status and the previous period's value",
                "operationId": "listFollowUps",
                "parameters": [id_param("id", "Indicator id")],
                "responses": {
                    "200": ok("Follow-ups", json!({ "type": "object", "properties": { "indicator_id": { "type": "integer" }, "follow_ups": { "type": "array", "items": { "$ref": "#/components/schemas/FollowUp" } } } })),
                    "401": err("No token"), "403": err("Outside scope"), "404": err("Not found")
                }
            }},
            "/api/v1/indicators/{id}/follow-ups/{period}": {
                "get": {
                    "summary": "One follow-up", "operationId": "getFollowUp",
                    "parameters": [id_param("id", "Indicator id"), period_param()],
                    "responses": { "200": ok("Follow-up", json!({ "$ref": "#/components/schemas/FollowUp" })), "400": err("Unknown period"), "401": err("No token"), "403": err("Outside scope"), "404": err("Not found") }
                },
                "put": {
                    "summary": "Create or replace the follow-up of a period (value, assessment, corrective actions)",
                    "operationId": "putFollowUp",
                    "parameters": [id_param("id", "Indicator id"), period_param()],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/FollowUpInput" } } } },
                    "responses": {
                        "200": ok("Replaced", json!({ "type": "object", "properties": { "follow_up": { "$ref": "#/components/schemas/FollowUp" }, "status": status_enum } })),
                        "201": ok("Created", json!({ "type": "object", "properties": { "follow_up": { "$ref": "#/components/schemas/FollowUp" }, "status": status_enum } })),
                        "400": err("Unknown period or malformed JSON"), "401": err("No token"), "403": err("Outside scope or read-only role"),
                        "404": err("No such indicator"), "422": err("Invalid fields (named in error.fields)")
                    }
                }
            },
            "/api/v1/incidents": { "post": {
                "summary": "Report an incident or misconduct; with \"anonymous\": true nothing about the caller is stored. Returns the receipt code (shown once).",
                "operationId": "createIncident",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewIncident" } } } },
                "responses": {
                    "201": ok("Created", json!({ "type": "object", "properties": { "id": { "type": "integer" }, "receipt": { "type": "string" } } })),
                    "400": err("Malformed JSON"), "401": err("No token"), "422": err("Invalid fields (named in error.fields)")
                }
            }},
            "/api/v1/incidents/stats": { "get": {
                "summary": "Incident statistics of an org subtree and period, with the previous period (public: no free text)",
                "operationId": "incidentStats",
                "security": [],
                "parameters": [
                    { "name": "org_unit", "in": "query", "required": true, "schema": { "type": "integer" } },
                    { "name": "period", "in": "query", "required": true, "schema": { "type": "string" } }
                ],
                "responses": { "200": ok("Statistics; event_type_names names the event types in them ({code: I18nText})", json!({ "type": "object" })), "400": err("Bad parameters"), "404": err("No such org unit") }
            }},
            "/api/v1/incidents/event-types": {
                "get": {
                    "summary": "The event-type taxonomy, active and inactive, in list order, with the number of reports of each type (public)",
                    "operationId": "listEventTypes",
                    "security": [],
                    "responses": { "200": ok("Event types", json!({ "type": "object", "properties": { "event_types": { "type": "array", "items": { "$ref": "#/components/schemas/EventType" } } } })) }
                },
                "post": {
                    "summary": "Add an event type (administrators and quality coordinators). The code never changes; name in Finnish or Swedish required.",
                    "operationId": "createEventType",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["code", "name"], "properties": {
                        "code": { "type": "string", "pattern": "^[a-z][a-z0-9_]{1,39}$" }, "name": { "$ref": "#/components/schemas/I18nText" },
                        "sort_order": { "type": "integer", "description": "Default: after the last type" }, "active": { "type": "boolean", "default": true } } } } } },
                    "responses": {
                        "201": ok("Created", json!({ "$ref": "#/components/schemas/EventType" })),
                        "400": err("Malformed JSON"), "401": err("No token"), "403": err("Not an administrator or quality coordinator"),
                        "422": err("Invalid fields (code malformed or already in use, name, name_fi, name_sv, name_en, sort_order)")
                    }
                }
            },
            "/api/v1/incidents/event-types/{code}": { "put": {
                "summary": "Rename, reorder, deactivate or reactivate an event type (fields left out stay as they are). An inactive type is refused on report forms; old reports and statistics keep its name.",
                "operationId": "updateEventType",
                "parameters": [{ "name": "code", "in": "path", "required": true, "schema": { "type": "string" } }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "properties": {
                    "name": { "$ref": "#/components/schemas/I18nText" }, "sort_order": { "type": "integer" }, "active": { "type": "boolean" } } } } } },
                "responses": {
                    "200": ok("Updated", json!({ "$ref": "#/components/schemas/EventType" })),
                    "400": err("Malformed JSON"), "401": err("No token"), "403": err("Not an administrator or quality coordinator"),
                    "404": err("No such event type"), "422": err("Invalid fields")
                }
            }},
            "/api/v1/org-units/{id}/incident-handlers": {
                "get": {
                    "summary": "The org unit's named incident handlers: they see and handle the reports of exactly this unit",
                    "operationId": "listIncidentHandlers",
                    "parameters": [id_param("id", "Org unit id")],
                    "responses": {
                        "200": ok("Handlers", json!({ "type": "object", "properties": { "org_unit": { "type": "integer" }, "handlers": { "type": "array", "items": { "$ref": "#/components/schemas/IncidentHandler" } } } })),
                        "401": err("No token"), "403": err("Outside the caller's scope"), "404": err("No such org unit")
                    }
                },
                "put": {
                    "summary": "Name the org unit's incident handlers, replacing the previous ones (administrators and quality coordinators); [] names none",
                    "operationId": "setIncidentHandlers",
                    "parameters": [id_param("id", "Org unit id")],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["users"], "properties": {
                        "users": { "type": "array", "items": { "oneOf": [{ "type": "integer", "description": "User id" }, { "type": "string", "format": "email" }] } } } } } } },
                    "responses": {
                        "200": ok("Handlers", json!({ "type": "object", "properties": { "org_unit": { "type": "integer" }, "handlers": { "type": "array", "items": { "$ref": "#/components/schemas/IncidentHandler" } } } })),
                        "400": err("Malformed JSON"), "401": err("No token"), "403": err("Not an administrator or quality coordinator"),
                        "404": err("No such org unit"), "422": err("Unknown user (users.N)")
                    }
                }
            },
            "/api/v1/incidents/{id}": { "get": {
                "summary": "One report (the unit's handlers: whoever may write the unit, and its named handlers)", "operationId": "getIncident",
                "parameters": [id_param("id", "Report id")],
                "responses": { "200": ok("Report", json!({ "type": "object" })), "401": err("No token"), "403": err("Not a handler of the unit"), "404": err("Not found") }
            }},
            "/api/v1/incidents/{id}/handling": { "post": {
                "summary": "Record handling: state (new, in_handling, handled, forwarded), analysis, outcome for the reporter, forward_to",
                "operationId": "handleIncident",
                "parameters": [id_param("id", "Report id")],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "properties": {
                    "state": { "type": "string", "enum": ["new", "in_handling", "handled", "forwarded"] }, "analysis": { "type": "string" },
                    "outcome": { "type": "string" }, "forward_to": { "type": ["integer", "null"] } } } } } },
                "responses": { "200": ok("Updated report", json!({ "type": "object" })), "401": err("No token"), "403": err("Not a handler"), "404": err("Not found"), "422": err("Invalid fields") }
            }},
            "/api/v1/incidents/{id}/actions": { "post": {
                "summary": "Add a decided action with owner and due date",
                "operationId": "addIncidentAction",
                "parameters": [id_param("id", "Report id")],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "properties": {
                    "text": { "type": "string" }, "owner": { "type": "string" }, "due_on": { "type": "string", "format": "date" } } } } } },
                "responses": { "201": ok("Action", json!({ "type": "object" })), "401": err("No token"), "403": err("Not a handler"), "422": err("Invalid fields") }
            }},
            "/api/v1/audit": { "get": {
                "summary": "The audit log, newest first (administrators)",
                "operationId": "listAudit",
                "parameters": [
                    { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } },
                    { "name": "before", "in": "query", "description": "Only entries with a smaller id (paging)", "schema": { "type": "integer" } },
                    { "name": "entity", "in": "query", "schema": { "type": "string" } }
                ],
                "responses": {
                    "200": ok("Entries", json!({ "type": "object", "properties": { "entries": { "type": "array", "items": { "$ref": "#/components/schemas/AuditEntry" } } } })),
                    "401": err("No token"), "403": err("Not an administrator")
                }
            }}
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "I18nText": i18n_schema(),
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                    "code": { "type": "string" }, "message": { "type": "string" },
                    "fields": { "type": "array", "items": { "type": "object", "properties": { "field": { "type": "string" }, "code": { "type": "string" } } } } } } } },
                "OrgUnit": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "parent_id": { "type": ["integer", "null"] }, "code": { "type": "string" },
                    "name": { "$ref": "#/components/schemas/I18nText" },
                    "producer": { "type": "string", "enum": ["own", "purchased", "service_voucher", "private"] } } },
                "Indicator": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "goal_id": { "type": "integer" }, "org_unit_id": { "type": "integer" }, "year": { "type": "integer" },
                    "name": { "$ref": "#/components/schemas/I18nText" }, "unit": { "$ref": "#/components/schemas/I18nText" },
                    "direction": { "type": "string", "enum": ["higher", "lower", "band"] },
                    "baseline": { "type": ["number", "null"] }, "target": { "type": ["number", "null"] }, "target_max": { "type": ["number", "null"] },
                    "period_kind": { "type": "string", "enum": ["month", "quarter", "tertial", "half", "year"] },
                    "note": { "$ref": "#/components/schemas/I18nText" }, "sort_order": { "type": "integer" } } },
                "FollowUp": { "type": "object", "properties": {
                    "indicator_id": { "type": "integer" }, "period": { "type": "string" }, "value": { "type": ["number", "null"] },
                    "assessment": { "$ref": "#/components/schemas/I18nText" }, "corrective": { "$ref": "#/components/schemas/I18nText" },
                    "updated_at": { "type": "string", "format": "date-time" }, "updated_by": { "type": "string" },
                    "status": status_enum, "previous_value": { "type": ["number", "null"] } } },
                "FollowUpInput": { "type": "object", "additionalProperties": false, "properties": {
                    "value": { "type": ["number", "null"] },
                    "assessment": { "$ref": "#/components/schemas/I18nText" }, "corrective": { "$ref": "#/components/schemas/I18nText" } } },
                "NewIncident": { "type": "object", "required": ["org_unit", "occurred_on", "kind", "event_type", "description", "consequence", "reporter_role"], "properties": {
                    "org_unit": { "type": "integer" }, "occurred_on": { "type": "string", "format": "date" }, "occurred_time": { "type": "string", "pattern": "^[0-9]{1,2}:[0-9]{2}$" },
                    "place": { "type": "string", "maxLength": 500 },
                    "kind": { "type": "string", "enum": ["client_safety", "work_safety", "data_protection", "misconduct"] },
                    "event_type": { "type": "string", "description": "The code of an active event type (GET /api/v1/incidents/event-types); the default taxonomy: medication, fall_accident, information_flow, laboratory_imaging, other_care_procedure, identification, diagnosis, violence_threat, equipment, indoor_air, other" },
                    "description": { "type": "string", "maxLength": 10000 },
                    "consequence": { "type": "string", "enum": ["no_harm", "near_miss", "mild", "moderate", "severe", "death"] },
                    "never_event": { "type": "boolean" }, "contributing_factors": { "type": "string" }, "immediate_actions": { "type": "string" },
                    "reporter_role": { "type": "string", "enum": ["staff", "student", "client", "relative", "other"] },
                    "anonymous": { "type": "boolean" }, "reporter_name": { "type": "string" }, "reporter_contact": { "type": "string" } } },
                "EventType": { "type": "object", "properties": {
                    "code": { "type": "string" }, "name": { "$ref": "#/components/schemas/I18nText" },
                    "active": { "type": "boolean", "description": "Offered on report forms" }, "sort_order": { "type": "integer" },
                    "reports": { "type": "integer", "description": "Reports of this type (in the list only)" } } },
                "IncidentHandler": { "type": "object", "properties": {
                    "user_id": { "type": "integer" }, "email": { "type": "string" }, "name": { "type": "string" } } },
                "AuditEntry": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "at": { "type": "string", "format": "date-time" }, "actor": { "type": "string" },
                    "action": { "type": "string" }, "entity": { "type": "string" }, "entity_id": { "type": "string" },
                    "org_unit_id": { "type": ["integer", "null"] }, "before": {}, "after": {} } }
            }
        }
    })
}

/// The feedback operations (kept apart: one `json!` of the whole document
/// would outgrow the macro's recursion limit).
fn feedback_paths() -> Value {
    let q = |name: &str, required: bool, desc: &str| json!({ "name": name, "in": "query", "required": required, "description": desc, "schema": { "type": "string" } });
    let stats_params = json!([
        q("org_unit", true, "Org unit id (its whole subtree)"),
        q(
            "period",
            true,
            "Period: 2024-03, 2024Q1, 2024T1, 2024H1 or 2024"
        ),
        q("service_lang", false, "Language of service: fi, sv, other"),
        q("channel", false, "web, qr, invitation, import"),
        q("respondent", false, "client, relative")
    ]);
    let obj = json!({ "type": "object" });
    json!({
        "/api/v1/feedback/answers": { "post": {
            "summary": "One answer. With \"invitation\" (a one-time token) no bearer token is needed and the token is used up (409 on a replay); with \"org_unit\" a bearer token that may write the unit. 201 once the answer is on disk.",
            "operationId": "submitFeedback",
            "security": [],
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "properties": {
                "invitation": { "type": "string" }, "org_unit": { "type": "integer" },
                "channel": { "type": "string", "enum": ["web", "qr", "import"] },
                "nps": { "type": "integer", "minimum": 0, "maximum": 10 },
                "scores": { "type": "object", "description": "Statement key → a scale point or \"cannot_say\"", "additionalProperties": { "type": ["integer", "string"] } },
                "text": { "type": "string", "maxLength": 10000 },
                "service_lang": { "type": "string", "enum": ["fi", "sv", "other"] },
                "age_group": { "type": "string", "enum": ["0-17", "18-34", "35-49", "50-64", "65-74", "75+"] },
                "respondent": { "type": "string", "enum": ["client", "relative"] },
                "service_date": { "type": "string", "format": "date" },
                "contact": { "type": "string", "maxLength": 500 } } } } } },
            "responses": { "201": ok("Stored", obj.clone()), "401": err("A bearer token is needed without an invitation"), "409": err("Invitation already used"), "410": err("Invitation expired"), "422": err("Invalid fields"), "429": err("Too many answers without a bearer token from this address") }
        }},
        "/api/v1/feedback/invitations": { "post": {
            "summary": "One-time invitations for a unit and service date (for SMS after a visit): tokens and links",
            "operationId": "createInvitations",
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["org_unit", "service_date"], "properties": {
                "org_unit": { "type": "integer" }, "service_date": { "type": "string", "format": "date" },
                "count": { "type": "integer", "minimum": 1, "maximum": 10000, "default": 1 },
                "valid_days": { "type": "integer", "minimum": 1, "maximum": 365, "default": 30 } } } } } },
            "responses": { "201": ok("Tokens and links", obj.clone()), "401": err("No token"), "403": err("Outside your scope"), "422": err("Invalid fields") }
        }},
        "/api/v1/feedback/import": { "post": {
            "summary": "Import answers from CSV (header: unit, service_date, nps, statement keys, text, service_lang, age_group, respondent, contact); all lines or none",
            "operationId": "importFeedback",
            "requestBody": { "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } },
            "responses": { "200": ok("Imported", obj.clone()), "401": err("No token"), "403": err("A unit outside your scope"), "422": err("Lines with errors (line, field, code)") }
        }},
        "/api/v1/feedback/stats": { "get": {
            "summary": "Feedback statistics of an org subtree and period with the previous period, breakdowns and yearly trend. Without a token: public figures, cells under 5 answers withheld.",
            "operationId": "feedbackStats",
            "security": [],
            "parameters": stats_params.clone(),
            "responses": { "200": ok("Statistics", obj.clone()), "400": err("Bad parameters"), "404": err("No such org unit") }
        }},
        "/api/v1/feedback/export": { "get": {
            "summary": "The national export (CSV, see docs/feedback-export.md)",
            "operationId": "feedbackExport",
            "parameters": [q("org_unit", true, "Org unit id"), q("period", true, "Period")],
            "responses": { "200": { "description": "CSV", "content": { "text/csv": { "schema": { "type": "string" } } } }, "401": err("No token"), "403": err("Outside your scope") }
        }},
        "/api/v1/feedback/survey": { "get": {
            "summary": "The current survey (public)", "operationId": "getSurvey", "security": [],
            "responses": { "200": ok("Survey", obj.clone()) }
        }},
        "/api/v1/feedback/cases": {
            "get": { "summary": "The caller's handling queue, most urgent first", "operationId": "feedbackQueue",
                "responses": { "200": ok("Cases", obj.clone()), "401": err("No token") } },
            "post": { "summary": "Record a remark (muistutus) or complaint (kantelu)", "operationId": "createFeedbackCase",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["org_unit", "kind", "text"], "properties": {
                    "org_unit": { "type": "integer" }, "kind": { "type": "string", "enum": ["remark", "complaint", "feedback"] },
                    "received_on": { "type": "string", "format": "date" }, "due_on": { "type": "string", "format": "date" },
                    "text": { "type": "string" }, "contact": { "type": "string" } } } } } },
                "responses": { "201": ok("Created", obj.clone()), "401": err("No token"), "403": err("Outside your scope"), "422": err("Invalid fields") } }
        },
        "/api/v1/feedback/cases/{id}": {
            "get": { "summary": "A case (the unit's handlers)", "operationId": "getFeedbackCase",
                "parameters": [id_param("id", "Case id")],
                "responses": { "200": ok("Case", obj.clone()), "401": err("No token"), "404": err("Not found") } },
            "post": { "summary": "Handle a case: state, tags, note, reply, route_to (another unit)", "operationId": "updateFeedbackCase",
                "parameters": [id_param("id", "Case id")],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "properties": {
                    "state": { "type": "string", "enum": ["new", "in_handling", "handled"] }, "tags": { "type": "string" },
                    "note": { "type": "string" }, "reply": { "type": "string" }, "route_to": { "type": "integer" } } } } } },
                "responses": { "200": ok("Case", obj), "401": err("No token"), "404": err("Not found"), "422": err("Invalid fields") } }
        }
    })
}

/// `GET /api/openapi.json`
pub async fn document() -> Json<Value> {
    let mut doc = spec();
    if let (Some(paths), Value::Object(more)) = (
        doc.get_mut("paths").and_then(Value::as_object_mut),
        feedback_paths(),
    ) {
        paths.extend(more);
    }
    Json(doc)
}

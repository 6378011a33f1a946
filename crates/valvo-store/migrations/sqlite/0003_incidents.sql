-- Incident and misconduct reports (SQLite). Keep in step with ../postgres/0003_incidents.sql.
-- An anonymous reporter is stored nowhere: reporter_user_id, reporter_name and
-- reporter_contact stay NULL and the audit log names no actor.
CREATE TABLE incidents (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    org_unit_id           INTEGER NOT NULL REFERENCES org_units(id),
    reported_at           TEXT NOT NULL,
    reported_on           TEXT NOT NULL,
    month                 TEXT NOT NULL,
    occurred_on           TEXT NOT NULL,
    occurred_time         TEXT,
    place                 TEXT NOT NULL,
    kind                  TEXT NOT NULL,
    event_type            TEXT NOT NULL,
    description           TEXT NOT NULL,
    consequence           TEXT NOT NULL,
    never_event           INTEGER NOT NULL,
    contributing_factors  TEXT NOT NULL,
    immediate_actions     TEXT NOT NULL,
    reporter_role         TEXT NOT NULL,
    reporter_user_id      INTEGER REFERENCES users(id),
    reporter_name         TEXT,
    reporter_contact      TEXT,
    receipt_hash          TEXT NOT NULL UNIQUE,
    state                 TEXT NOT NULL,
    analysis              TEXT NOT NULL DEFAULT '',
    outcome               TEXT NOT NULL DEFAULT '',
    forwarded_from        INTEGER,
    handled_at            TEXT,
    handled_on            TEXT
);
CREATE INDEX incidents_open ON incidents(state, org_unit_id, reported_on);
CREATE INDEX incidents_unit ON incidents(org_unit_id, reported_on);

CREATE TABLE incident_actions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    text         TEXT NOT NULL,
    owner        TEXT NOT NULL,
    due_on       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX incident_actions_incident ON incident_actions(incident_id);

-- Aggregates kept up to date on every write, so statistics never scan reports.
CREATE TABLE incident_counts (
    org_unit_id      INTEGER NOT NULL,
    month            TEXT NOT NULL,
    kind             TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    consequence      TEXT NOT NULL,
    client_reported  INTEGER NOT NULL,
    never_event      INTEGER NOT NULL,
    n                INTEGER NOT NULL,
    PRIMARY KEY (org_unit_id, month, kind, event_type, consequence, client_reported, never_event)
);

CREATE TABLE incident_handling_days (
    org_unit_id  INTEGER NOT NULL,
    month        TEXT NOT NULL,
    days         INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (org_unit_id, month, days)
);

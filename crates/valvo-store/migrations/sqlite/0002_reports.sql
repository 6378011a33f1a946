-- Periodic reports (SQLite). Keep in step with ../postgres/0002_reports.sql.
CREATE TABLE report_texts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_unit_id  INTEGER NOT NULL REFERENCES org_units(id),
    period       TEXT NOT NULL,
    section      TEXT NOT NULL,
    key          TEXT NOT NULL,
    text_fi      TEXT,
    text_sv      TEXT,
    text_en      TEXT,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    UNIQUE (org_unit_id, period, section, key)
);

CREATE TABLE report_figures (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_unit_id  INTEGER NOT NULL REFERENCES org_units(id),
    period       TEXT NOT NULL,
    section      TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        REAL NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    UNIQUE (org_unit_id, period, section, key)
);

CREATE TABLE reports (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    org_unit_id    INTEGER NOT NULL REFERENCES org_units(id),
    period         TEXT NOT NULL,
    version        INTEGER NOT NULL,
    state          TEXT NOT NULL,
    with_children  INTEGER NOT NULL DEFAULT 1,
    snapshot       TEXT,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    approved_at    TEXT,
    approved_by    TEXT,
    published_at   TEXT,
    published_by   TEXT,
    UNIQUE (org_unit_id, period, version)
);
CREATE INDEX reports_state ON reports(state);

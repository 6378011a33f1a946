-- Periodic reports (PostgreSQL). Keep in step with ../sqlite/0002_reports.sql.
CREATE TABLE report_texts (
    id           BIGSERIAL PRIMARY KEY,
    org_unit_id  BIGINT NOT NULL REFERENCES org_units(id),
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
    id           BIGSERIAL PRIMARY KEY,
    org_unit_id  BIGINT NOT NULL REFERENCES org_units(id),
    period       TEXT NOT NULL,
    section      TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        DOUBLE PRECISION NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    UNIQUE (org_unit_id, period, section, key)
);

CREATE TABLE reports (
    id             BIGSERIAL PRIMARY KEY,
    org_unit_id    BIGINT NOT NULL REFERENCES org_units(id),
    period         TEXT NOT NULL,
    version        BIGINT NOT NULL,
    state          TEXT NOT NULL,
    with_children  BIGINT NOT NULL DEFAULT 1,
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

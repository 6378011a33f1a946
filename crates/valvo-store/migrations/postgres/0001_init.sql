-- Valvo core schema (PostgreSQL). Keep in step with ../sqlite/0001_init.sql.
CREATE TABLE org_units (
    id          BIGSERIAL PRIMARY KEY,
    parent_id   BIGINT REFERENCES org_units(id),
    code        TEXT NOT NULL UNIQUE,
    name_fi     TEXT,
    name_sv     TEXT,
    name_en     TEXT,
    producer    TEXT NOT NULL,
    sort_order  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    scope_org_id  BIGINT REFERENCES org_units(id),
    password_hash TEXT,
    active        BIGINT NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE goals (
    id           BIGSERIAL PRIMARY KEY,
    org_unit_id  BIGINT NOT NULL REFERENCES org_units(id),
    year         BIGINT NOT NULL,
    area         TEXT NOT NULL,
    title_fi     TEXT,
    title_sv     TEXT,
    title_en     TEXT,
    sort_order   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX goals_org_year ON goals(org_unit_id, year);

CREATE TABLE indicators (
    id           BIGSERIAL PRIMARY KEY,
    goal_id      BIGINT NOT NULL REFERENCES goals(id),
    name_fi      TEXT,
    name_sv      TEXT,
    name_en      TEXT,
    unit_fi      TEXT,
    unit_sv      TEXT,
    unit_en      TEXT,
    direction    TEXT NOT NULL,
    baseline     DOUBLE PRECISION,
    target       DOUBLE PRECISION,
    target_max   DOUBLE PRECISION,
    period_kind  TEXT NOT NULL,
    note_fi      TEXT,
    note_sv      TEXT,
    note_en      TEXT,
    sort_order   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX indicators_goal ON indicators(goal_id);

CREATE TABLE actions (
    id          BIGSERIAL PRIMARY KEY,
    goal_id     BIGINT NOT NULL REFERENCES goals(id),
    text_fi     TEXT,
    text_sv     TEXT,
    text_en     TEXT,
    status      TEXT NOT NULL,
    sort_order  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX actions_goal ON actions(goal_id);

CREATE TABLE follow_ups (
    id             BIGSERIAL PRIMARY KEY,
    indicator_id   BIGINT NOT NULL REFERENCES indicators(id),
    period         TEXT NOT NULL,
    period_start   TEXT NOT NULL,
    value          DOUBLE PRECISION,
    assessment_fi  TEXT,
    assessment_sv  TEXT,
    assessment_en  TEXT,
    corrective_fi  TEXT,
    corrective_sv  TEXT,
    corrective_en  TEXT,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT NOT NULL,
    UNIQUE (indicator_id, period)
);

CREATE TABLE goal_reviews (
    id          BIGSERIAL PRIMARY KEY,
    goal_id     BIGINT NOT NULL REFERENCES goals(id),
    period      TEXT NOT NULL,
    text_fi     TEXT,
    text_sv     TEXT,
    text_en     TEXT,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    UNIQUE (goal_id, period)
);

CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
    at           TEXT NOT NULL,
    actor_id     BIGINT,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    entity       TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    org_unit_id  BIGINT,
    before_json  TEXT,
    after_json   TEXT
);

CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

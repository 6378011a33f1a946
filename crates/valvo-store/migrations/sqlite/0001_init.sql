-- Valvo core schema (SQLite). Keep in step with ../postgres/0001_init.sql.
CREATE TABLE org_units (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id   INTEGER REFERENCES org_units(id),
    code        TEXT NOT NULL UNIQUE,
    name_fi     TEXT,
    name_sv     TEXT,
    name_en     TEXT,
    producer    TEXT NOT NULL,
    sort_order  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    scope_org_id  INTEGER REFERENCES org_units(id),
    password_hash TEXT,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE goals (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_unit_id  INTEGER NOT NULL REFERENCES org_units(id),
    year         INTEGER NOT NULL,
    area         TEXT NOT NULL,
    title_fi     TEXT,
    title_sv     TEXT,
    title_en     TEXT,
    sort_order   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX goals_org_year ON goals(org_unit_id, year);

CREATE TABLE indicators (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    goal_id      INTEGER NOT NULL REFERENCES goals(id),
    name_fi      TEXT,
    name_sv      TEXT,
    name_en      TEXT,
    unit_fi      TEXT,
    unit_sv      TEXT,
    unit_en      TEXT,
    direction    TEXT NOT NULL,
    baseline     REAL,
    target       REAL,
    target_max   REAL,
    period_kind  TEXT NOT NULL,
    note_fi      TEXT,
    note_sv      TEXT,
    note_en      TEXT,
    sort_order   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX indicators_goal ON indicators(goal_id);

CREATE TABLE actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    goal_id     INTEGER NOT NULL REFERENCES goals(id),
    text_fi     TEXT,
    text_sv     TEXT,
    text_en     TEXT,
    status      TEXT NOT NULL,
    sort_order  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX actions_goal ON actions(goal_id);

CREATE TABLE follow_ups (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    indicator_id   INTEGER NOT NULL REFERENCES indicators(id),
    period         TEXT NOT NULL,
    period_start   TEXT NOT NULL,
    value          REAL,
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
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    goal_id     INTEGER NOT NULL REFERENCES goals(id),
    period      TEXT NOT NULL,
    text_fi     TEXT,
    text_sv     TEXT,
    text_en     TEXT,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    UNIQUE (goal_id, period)
);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    actor_id     INTEGER,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    entity       TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    org_unit_id  INTEGER,
    before_json  TEXT,
    after_json   TEXT
);

CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

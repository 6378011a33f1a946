-- Imports that stream (feedback answers, incident history, and those to
-- come). Keep in step with ../sqlite/0013_imports.sql.
--
-- A file is read once; its rows are written in chunks, each in its own short
-- transaction, tagged with the import's id. Rows of an import count nowhere
-- until the import is `done` (every read of these tables keeps to
-- `import_id IS NULL` or a done import), and the statistics' aggregates are
-- brought up to date in the one short transaction that marks it done. An
-- import that fails, or whose process dies, is marked `failed` and its rows
-- are removed: nothing of it is ever half visible.
CREATE TABLE imports (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    state         TEXT NOT NULL,
    dry_run       BIGINT NOT NULL DEFAULT 0,
    -- The process running it (host and process id), and when it last wrote.
    owner         TEXT NOT NULL,
    heartbeat_at  TEXT NOT NULL,
    user_id       BIGINT,
    actor         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    finished_at   TEXT,
    bytes_total   BIGINT NOT NULL DEFAULT 0,
    bytes_read    BIGINT NOT NULL DEFAULT 0,
    rows_read     BIGINT NOT NULL DEFAULT 0,
    rows_written  BIGINT NOT NULL DEFAULT 0,
    error_count   BIGINT NOT NULL DEFAULT 0,
    -- The first 100 line errors (JSON).
    errors        TEXT NOT NULL DEFAULT '[]',
    message       TEXT,
    -- The rows of a failed import have been removed.
    purged        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX imports_state ON imports(state);

ALTER TABLE feedback_answers ADD COLUMN import_id BIGINT;
ALTER TABLE feedback_cases ADD COLUMN import_id BIGINT;
ALTER TABLE incidents ADD COLUMN import_id BIGINT;
ALTER TABLE incident_spans ADD COLUMN import_id BIGINT;
CREATE INDEX feedback_answers_import ON feedback_answers(import_id) WHERE import_id IS NOT NULL;
CREATE INDEX feedback_cases_import ON feedback_cases(import_id) WHERE import_id IS NOT NULL;
-- Removing answers checks their cases by this (the foreign key).
CREATE INDEX feedback_cases_answer ON feedback_cases(answer_id);
CREATE INDEX incidents_import ON incidents(import_id) WHERE import_id IS NOT NULL;
CREATE INDEX incident_spans_import ON incident_spans(import_id) WHERE import_id IS NOT NULL;

-- The feedback aggregate rows an import adds, gathered while it runs and
-- added to feedback_agg when it is done.
CREATE TABLE import_feedback_agg (
    import_id   BIGINT NOT NULL,
    scope_id    BIGINT NOT NULL,
    month       TEXT NOT NULL,
    lang        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    respondent  TEXT NOT NULL,
    item        TEXT NOT NULL,
    b0 BIGINT NOT NULL DEFAULT 0, b1 BIGINT NOT NULL DEFAULT 0, b2 BIGINT NOT NULL DEFAULT 0,
    b3 BIGINT NOT NULL DEFAULT 0, b4 BIGINT NOT NULL DEFAULT 0, b5 BIGINT NOT NULL DEFAULT 0,
    b6 BIGINT NOT NULL DEFAULT 0, b7 BIGINT NOT NULL DEFAULT 0, b8 BIGINT NOT NULL DEFAULT 0,
    b9 BIGINT NOT NULL DEFAULT 0, b10 BIGINT NOT NULL DEFAULT 0, cs BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (import_id, scope_id, month, lang, channel, respondent, item)
);

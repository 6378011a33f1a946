-- Customer feedback (PostgreSQL). Keep in step with ../sqlite/0008_feedback.sql.

-- Survey versions: a version is never changed, a change makes a new one.
CREATE TABLE surveys (
    id          BIGSERIAL PRIMARY KEY,
    version     BIGINT NOT NULL UNIQUE,
    definition  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);

-- One-time invitations (e.g. an SMS link after a visit); only the token's hash is kept.
CREATE TABLE feedback_invitations (
    id            BIGSERIAL PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    org_unit_id   BIGINT NOT NULL REFERENCES org_units(id),
    service_date  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_on    TEXT NOT NULL,
    used_at       TEXT
);

-- Answers: no free text or contact details here (those go to feedback_cases).
CREATE TABLE feedback_answers (
    id             BIGSERIAL PRIMARY KEY,
    survey_id      BIGINT NOT NULL REFERENCES surveys(id),
    org_unit_id    BIGINT NOT NULL REFERENCES org_units(id),
    received_at    TEXT NOT NULL,
    month          TEXT NOT NULL,
    service_date   TEXT,
    channel        TEXT NOT NULL,
    service_lang   TEXT,
    age_group      TEXT,
    respondent     TEXT,
    nps            BIGINT,
    scores         TEXT NOT NULL,
    invitation_id  BIGINT REFERENCES feedback_invitations(id)
);
CREATE INDEX feedback_answers_unit ON feedback_answers(org_unit_id, month);

-- Feedback with text, remarks (muistutus) and complaints (kantelu).
CREATE TABLE feedback_cases (
    id            BIGSERIAL PRIMARY KEY,
    org_unit_id   BIGINT NOT NULL REFERENCES org_units(id),
    answer_id     BIGINT REFERENCES feedback_answers(id),
    kind          TEXT NOT NULL,
    state         TEXT NOT NULL,
    received_on   TEXT NOT NULL,
    due_on        TEXT NOT NULL,
    text          TEXT NOT NULL,
    contact       TEXT,
    tags          TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    reply         TEXT NOT NULL DEFAULT '',
    replied_on    TEXT,
    routed_from   BIGINT,
    handled_on    TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX feedback_cases_queue ON feedback_cases(state, org_unit_id, due_on);

-- Aggregates kept up to date as answers arrive, for the unit and each of its
-- ancestors (scope_id), month and background combination ('' = not given);
-- item is '_answers' (b0 answers, b1 with text), 'nps' or a statement key;
-- bN counts value N, cs "cannot say".
CREATE TABLE feedback_agg (
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
    PRIMARY KEY (scope_id, month, lang, channel, respondent, item)
);

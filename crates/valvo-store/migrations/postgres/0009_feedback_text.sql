-- What the free text of feedback is about (PostgreSQL). Keep in step with ../sqlite/0009_feedback_text.sql.
-- The analysis runs inside Valvo when the text arrives; `redacted` is the
-- text with personal data replaced by markers, for analysis and exports;
-- the original stays in `text`, read only by the unit's handlers.
ALTER TABLE feedback_cases ADD COLUMN text_lang TEXT;
ALTER TABLE feedback_cases ADD COLUMN sentiment TEXT;
ALTER TABLE feedback_cases ADD COLUMN topics TEXT NOT NULL DEFAULT '';
ALTER TABLE feedback_cases ADD COLUMN redacted TEXT NOT NULL DEFAULT '';

-- Comments per unit and ancestor (scope_id), month, topic ('' = every
-- comment) and sentiment, kept up to date as answers arrive.
CREATE TABLE feedback_text_agg (
    scope_id   BIGINT NOT NULL,
    month      TEXT NOT NULL,
    topic      TEXT NOT NULL,
    sentiment  TEXT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (scope_id, month, topic, sentiment)
);

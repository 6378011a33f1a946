-- Answers taken in over HTTP are committed at once and added to the
-- aggregates shortly after, many at a time (SQLite). Keep in step with
-- ../postgres/0010_feedback_pending.sql.
ALTER TABLE feedback_answers ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feedback_answers ADD COLUMN has_text INTEGER NOT NULL DEFAULT 0;
CREATE INDEX feedback_answers_pending ON feedback_answers(id) WHERE pending = 1;

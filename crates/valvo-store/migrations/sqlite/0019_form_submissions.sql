-- One-time keys of public forms (the incident report, a feedback answer): a
-- form page carries a random key, and the write that saves what it sent
-- claims the key in the same transaction. A reload, a double click or the
-- back button sends the key again and saves nothing new. Only the key's
-- SHA-256 is kept, for a week. Keep in step with ../postgres/0019_form_submissions.sql.
CREATE TABLE form_submissions (
    key_hash    TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX form_submissions_created ON form_submissions (created_at);

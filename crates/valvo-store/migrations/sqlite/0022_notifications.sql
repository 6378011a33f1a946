-- Notifications by e-mail (sqlite). Keep in step with ../postgres/0022_notifications.sql.

-- How a user wants to hear of new reports and deadlines: at once
-- (immediate), in a daily or weekly digest, or not at all (off); and in
-- which language: the one they chose (lang_chosen), else the one they last
-- signed in with.
ALTER TABLE users ADD COLUMN notify TEXT NOT NULL DEFAULT 'immediate';
ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT 'fi';
ALTER TABLE users ADD COLUMN lang_chosen BIGINT NOT NULL DEFAULT 0;

-- Messages to send, written in the same transaction as the event they tell
-- of, so none is lost: a mail server that is down only delays them. The
-- key names the event and recipient, so an event (a deadline seen by two
-- instances, by every scan) is queued once. A sender claims a row until a
-- time (claimed_by, claimed_until) with a conditional update, so two
-- instances do not both send it; after a failure it is due again later.
-- The message text is made when it is sent, from the kind and link; only a
-- reply to a feedback sender keeps its text (body). Never a report's text.
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key     TEXT NOT NULL UNIQUE,
    recipient      TEXT NOT NULL,
    user_id        BIGINT REFERENCES users(id) ON DELETE CASCADE,
    lang           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    link           TEXT NOT NULL,
    body           TEXT NOT NULL DEFAULT '',
    digest         BIGINT NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    due_at         TEXT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT,
    claimed_by     TEXT,
    claimed_until  TEXT,
    sent_at        TEXT
);
CREATE INDEX outbox_due ON outbox (sent_at, due_at);

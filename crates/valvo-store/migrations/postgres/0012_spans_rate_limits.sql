-- The handling history of incident reports, and rate limits shared by every
-- instance (PostgreSQL). Keep in step with ../sqlite/0012_spans_rate_limits.sql.

-- One row per span of time a report was open: from the day it was received
-- (or reopened) to the day it was handled (NULL while open). Figures "as they
-- stood at the end of a period" (unhandled over two months, overdue) are
-- counted from these, never from today's state. `span_days` is the day the
-- span closed counted from the day the report was received (1000000000 while
-- open): a span can only count as waiting longer than N days when
-- span_days > N, so the index finds the few long-open spans at once.
CREATE TABLE incident_spans (
    id           BIGSERIAL PRIMARY KEY,
    incident_id  BIGINT NOT NULL REFERENCES incidents(id),
    org_unit_id  BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    reported_on  TEXT NOT NULL,
    opened_on    TEXT NOT NULL,
    closed_on    TEXT,
    span_days    BIGINT NOT NULL
);
CREATE INDEX incident_spans_incident ON incident_spans(incident_id);
CREATE INDEX incident_spans_long ON incident_spans(span_days, org_unit_id);
INSERT INTO incident_spans (incident_id, org_unit_id, kind, reported_on, opened_on, closed_on, span_days)
    SELECT id, org_unit_id, kind, reported_on, reported_on,
           CASE WHEN state = 'handled' THEN COALESCE(handled_on, reported_on) END,
           CASE WHEN state = 'handled' THEN GREATEST(COALESCE(handled_on, reported_on)::date - reported_on::date, 0)
                ELSE 1000000000 END
    FROM incidents;
DROP TABLE incident_open_counts;

-- Events per client address (or account) in fixed windows: failed logins and
-- public writes, counted by whichever instance receives them.
CREATE TABLE rate_limits (
    bucket        TEXT NOT NULL,
    key           TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (bucket, key, window_start)
);

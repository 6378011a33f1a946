-- Incident statistics read as one subtree's rows, like the feedback
-- aggregates: every count is kept in the unit and in each unit above it
-- (its scopes), so a county's year is a few hundred rows whatever its size.
-- Keep in step with ../sqlite/0026_incident_scopes.sql.

-- The marginals (kind, event type, consequence, never event,
-- client-reported) and handling times, by scope and month.
CREATE TABLE incident_scope_marginals (
    scope_id     BIGINT NOT NULL,
    month        TEXT NOT NULL,
    dim          TEXT NOT NULL,
    key          TEXT NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (scope_id, month, dim, key)
);
CREATE TABLE incident_scope_days (
    scope_id     BIGINT NOT NULL,
    month        TEXT NOT NULL,
    days         BIGINT NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (scope_id, month, days)
);
-- The handling history counted for "waiting at the end of a period": the
-- spans open now, by the day the report was received and the day the span
-- began; and the closed spans that covered the last day of a month
-- (opened_on <= that day < closed_on). Every period ends on a month's last
-- day, so the reports waiting at a period's end are the open spans begun by
-- then and the closed ones kept for that month.
CREATE TABLE incident_open_spans (
    scope_id     BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    reported_on  TEXT NOT NULL,
    opened_on    TEXT NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (scope_id, kind, reported_on, opened_on)
);
CREATE TABLE incident_month_ends (
    scope_id     BIGINT NOT NULL,
    month        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    reported_on  TEXT NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (scope_id, month, kind, reported_on)
);
-- Spans closed after a day that is not a month's last (today): normally none.
CREATE INDEX incident_spans_closed ON incident_spans(closed_on);

WITH RECURSIVE up(unit, scope) AS (
    SELECT id, id FROM org_units
    UNION ALL
    SELECT up.unit, o.parent_id FROM up JOIN org_units o ON o.id = up.scope WHERE o.parent_id IS NOT NULL
)
INSERT INTO incident_scope_marginals (scope_id, month, dim, key, n)
    SELECT up.scope, m.month, m.dim, m.key, SUM(m.n) FROM incident_marginals m JOIN up ON up.unit = m.org_unit_id
    GROUP BY up.scope, m.month, m.dim, m.key HAVING SUM(m.n) <> 0;

WITH RECURSIVE up(unit, scope) AS (
    SELECT id, id FROM org_units
    UNION ALL
    SELECT up.unit, o.parent_id FROM up JOIN org_units o ON o.id = up.scope WHERE o.parent_id IS NOT NULL
)
INSERT INTO incident_scope_days (scope_id, month, days, n)
    SELECT up.scope, d.month, d.days, SUM(d.n) FROM incident_handling_days d JOIN up ON up.unit = d.org_unit_id
    GROUP BY up.scope, d.month, d.days HAVING SUM(d.n) <> 0;

WITH RECURSIVE up(unit, scope) AS (
    SELECT id, id FROM org_units
    UNION ALL
    SELECT up.unit, o.parent_id FROM up JOIN org_units o ON o.id = up.scope WHERE o.parent_id IS NOT NULL
)
INSERT INTO incident_open_spans (scope_id, kind, reported_on, opened_on, n)
    SELECT up.scope, s.kind, s.reported_on, s.opened_on, COUNT(*) FROM incident_spans s JOIN up ON up.unit = s.org_unit_id
    WHERE s.closed_on IS NULL
      AND (s.import_id IS NULL OR s.import_id IN (SELECT id FROM imports WHERE state = 'done'))
    GROUP BY up.scope, s.kind, s.reported_on, s.opened_on;

WITH RECURSIVE up(unit, scope) AS (
    SELECT id, id FROM org_units
    UNION ALL
    SELECT up.unit, o.parent_id FROM up JOIN org_units o ON o.id = up.scope WHERE o.parent_id IS NOT NULL
),
ends(d) AS (
    SELECT to_char(m + interval '1 month' - interval '1 day', 'YYYY-MM-DD')
    FROM generate_series(
        date_trunc('month', (SELECT MIN(opened_on)::date FROM incident_spans WHERE closed_on IS NOT NULL)),
        (SELECT MAX(closed_on)::date FROM incident_spans),
        interval '1 month') m
)
INSERT INTO incident_month_ends (scope_id, month, kind, reported_on, n)
    SELECT up.scope, substr(e.d, 1, 7), s.kind, s.reported_on, COUNT(*)
    FROM incident_spans s JOIN ends e ON s.opened_on <= e.d AND e.d < s.closed_on
    JOIN up ON up.unit = s.org_unit_id
    WHERE s.closed_on IS NOT NULL
      AND (s.import_id IS NULL OR s.import_id IN (SELECT id FROM imports WHERE state = 'done'))
    GROUP BY up.scope, substr(e.d, 1, 7), s.kind, s.reported_on;

DROP TABLE incident_marginals;
DROP TABLE incident_handling_days;

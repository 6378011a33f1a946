-- Incident aggregates as marginal counts: one row per unit, month and
-- marginal (kind, event type, consequence, never event, client-reported),
-- 23 a month, instead of one per combination of all of them (PostgreSQL).
-- Keep in step with ../sqlite/0006_incident_marginals.sql.
CREATE TABLE incident_marginals (
    org_unit_id  BIGINT NOT NULL,
    month        TEXT NOT NULL,
    dim          TEXT NOT NULL,
    key          TEXT NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (org_unit_id, month, dim, key)
);
INSERT INTO incident_marginals (org_unit_id, month, dim, key, n)
    SELECT org_unit_id, month, 'kind', kind, SUM(n) FROM incident_counts GROUP BY org_unit_id, month, kind;
INSERT INTO incident_marginals (org_unit_id, month, dim, key, n)
    SELECT org_unit_id, month, 'event_type', event_type, SUM(n) FROM incident_counts GROUP BY org_unit_id, month, event_type;
INSERT INTO incident_marginals (org_unit_id, month, dim, key, n)
    SELECT org_unit_id, month, 'consequence', consequence, SUM(n) FROM incident_counts GROUP BY org_unit_id, month, consequence;
INSERT INTO incident_marginals (org_unit_id, month, dim, key, n)
    SELECT org_unit_id, month, 'never_event', 'yes', SUM(n) FROM incident_counts WHERE never_event = 1 GROUP BY org_unit_id, month;
INSERT INTO incident_marginals (org_unit_id, month, dim, key, n)
    SELECT org_unit_id, month, 'client_reported', 'yes', SUM(n) FROM incident_counts WHERE client_reported = 1 GROUP BY org_unit_id, month;
DROP TABLE incident_counts;

-- Open (unhandled) reports per unit and reporting month, kept up to date on
-- every write, so "unhandled over two months" needs no scan (SQLite).
-- Keep in step with ../postgres/0005_incident_open_counts.sql.
CREATE TABLE incident_open_counts (
    org_unit_id  INTEGER NOT NULL,
    month        TEXT NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (org_unit_id, month)
);
INSERT INTO incident_open_counts (org_unit_id, month, n)
    SELECT org_unit_id, month, COUNT(*) FROM incidents WHERE state <> 'handled' GROUP BY org_unit_id, month;

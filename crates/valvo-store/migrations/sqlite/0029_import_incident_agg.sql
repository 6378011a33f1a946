-- The aggregate changes of an incident import (SQLite). Keep in step with
-- ../postgres/0029_import_incident_agg.sql.
--
-- Gathered while the import runs, in short transactions, and added to the
-- live aggregates in the one transaction that marks it done, by the
-- database in key order: that transaction held the write lock for every
-- row before (150 ms beside a million reports, live answers waiting).
-- Which aggregate a row is of (`target`) decides what its keys are:
--   marginals   incident_scope_marginals (month, dim, key)
--   days        incident_scope_days (month, days, '')
--   open        incident_open_spans (kind, reported_on, opened_on)
--   month_ends  incident_month_ends (month, kind, reported_on)
CREATE TABLE import_incident_agg (
    import_id INTEGER NOT NULL,
    target    TEXT NOT NULL,
    scope_id  INTEGER NOT NULL,
    k1        TEXT NOT NULL,
    k2        TEXT NOT NULL,
    k3        TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (import_id, target, scope_id, k1, k2, k3)
);

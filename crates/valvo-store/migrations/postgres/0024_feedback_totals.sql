-- The feedback aggregates summed over the background (PostgreSQL). Keep in step
-- with ../sqlite/0024_feedback_totals.sql.
--
-- One row per scope, period key and item, whatever the language of
-- service, channel and respondent: a dashboard without a filter reads a
-- subtree's totals here (a few rows a scope) instead of summing every
-- background combination of feedback_agg. Changed in the same transaction
-- as feedback_agg by every writer, after its rows (locks in one order).
CREATE TABLE feedback_totals (
    scope_id  BIGINT NOT NULL,
    month     TEXT NOT NULL,
    item      TEXT NOT NULL,
    b0 BIGINT NOT NULL DEFAULT 0, b1 BIGINT NOT NULL DEFAULT 0, b2 BIGINT NOT NULL DEFAULT 0,
    b3 BIGINT NOT NULL DEFAULT 0, b4 BIGINT NOT NULL DEFAULT 0, b5 BIGINT NOT NULL DEFAULT 0,
    b6 BIGINT NOT NULL DEFAULT 0, b7 BIGINT NOT NULL DEFAULT 0, b8 BIGINT NOT NULL DEFAULT 0,
    b9 BIGINT NOT NULL DEFAULT 0, b10 BIGINT NOT NULL DEFAULT 0, cs BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope_id, month, item)
);
INSERT INTO feedback_totals (scope_id, month, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs)
    SELECT scope_id, month, item, SUM(b0), SUM(b1), SUM(b2), SUM(b3), SUM(b4), SUM(b5), SUM(b6), SUM(b7), SUM(b8), SUM(b9), SUM(b10), SUM(cs)
    FROM feedback_agg GROUP BY scope_id, month, item;

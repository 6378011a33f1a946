-- Feedback aggregates also per quarter, tertial, half year and year (month =
-- '2025Q2', '2025T2', '2025H1', '2025') besides per month ('2025-05'): the
-- statistics of any period read one row per scope, background and item
-- (PostgreSQL). Keep in step with ../sqlite/0011_feedback_period_rows.sql.
INSERT INTO feedback_agg (scope_id, month, lang, channel, respondent, item,
                          b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs)
SELECT scope_id, period, lang, channel, respondent, item,
       SUM(b0), SUM(b1), SUM(b2), SUM(b3), SUM(b4), SUM(b5), SUM(b6), SUM(b7), SUM(b8), SUM(b9), SUM(b10), SUM(cs)
FROM (
    SELECT a.*, SUBSTR(month, 1, 4) || 'Q' || CAST((CAST(SUBSTR(month, 6, 2) AS INTEGER) + 2) / 3 AS TEXT) AS period
        FROM feedback_agg a WHERE LENGTH(month) = 7
    UNION ALL
    SELECT a.*, SUBSTR(month, 1, 4) || 'T' || CAST((CAST(SUBSTR(month, 6, 2) AS INTEGER) + 3) / 4 AS TEXT)
        FROM feedback_agg a WHERE LENGTH(month) = 7
    UNION ALL
    SELECT a.*, SUBSTR(month, 1, 4) || 'H' || CAST((CAST(SUBSTR(month, 6, 2) AS INTEGER) + 5) / 6 AS TEXT)
        FROM feedback_agg a WHERE LENGTH(month) = 7
    UNION ALL
    SELECT a.*, SUBSTR(month, 1, 4) FROM feedback_agg a WHERE LENGTH(month) = 7
) p
GROUP BY scope_id, period, lang, channel, respondent, item;

-- Feedback aggregates also per year (month = 'YYYY') besides per month
-- ('YYYY-MM'): a year's statistics read twelve times fewer rows (PostgreSQL).
-- Keep in step with ../sqlite/0011_feedback_year_rows.sql.
INSERT INTO feedback_agg (scope_id, month, lang, channel, respondent, item,
                          b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs)
SELECT scope_id, SUBSTR(month, 1, 4), lang, channel, respondent, item,
       SUM(b0), SUM(b1), SUM(b2), SUM(b3), SUM(b4), SUM(b5), SUM(b6), SUM(b7), SUM(b8), SUM(b9), SUM(b10), SUM(cs)
FROM feedback_agg WHERE LENGTH(month) = 7
GROUP BY scope_id, SUBSTR(month, 1, 4), lang, channel, respondent, item;

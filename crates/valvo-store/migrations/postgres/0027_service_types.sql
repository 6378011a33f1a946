-- Service types, and the counts by stratum of every subtree (PostgreSQL). Keep
-- in step with ../sqlite/0027_service_types.sql.
--
-- A unit may name the kind of service it gives (`health_station`,
-- `oral_health`, …: one national list, valvo_core::ServiceType); a unit
-- without one gives that of the nearest unit above it with one.
--
-- feedback_strata, kept until now for the counties only, is kept for every
-- scope (a unit and everything below it), as feedback_agg is: a county's
-- under every period key, the others' under the tertial, half year and year
-- (what a service is compared by; months and quarters would be most of the
-- rows). A service type's figures per county are then a few subtrees added
-- and taken away (OrgTree::service_type_parts), read from the rows of those
-- scopes; a unit's type can change at any time without a row to rewrite,
-- and no writer needs to know the types.
ALTER TABLE org_units ADD COLUMN service_type TEXT;

-- Backfill: the answers counted so far, per unit and month, then under every
-- scope above the unit and every period key containing the month. An import
-- that had not finished is not running while the service upgrades: its rows
-- are removed when the service starts (it failed), so its staged rows go.
DELETE FROM feedback_strata;
CREATE TABLE migration_unit_strata AS
WITH answers AS (
    SELECT a.org_unit_id AS unit, a.month, COALESCE(a.respondent, '') AS respondent,
           COALESCE(a.age_group, '') AS age_group, COALESCE(a.service_lang, '') AS lang,
           a.nps, a.scores
    FROM feedback_answers a LEFT JOIN imports i ON i.id = a.import_id
    WHERE a.pending = 0 AND (a.import_id IS NULL OR i.state = 'done')
),
items AS (
    SELECT unit, month, respondent, age_group, lang, 'nps' AS item, CAST(nps AS TEXT) AS v
    FROM answers WHERE nps IS NOT NULL
    UNION ALL
    SELECT unit, month, respondent, age_group, lang, j.key, j.value
    FROM answers CROSS JOIN LATERAL jsonb_each_text(answers.scores::jsonb) AS j(key, value)
)
SELECT unit, month, respondent, age_group, lang, item,
    SUM(CASE WHEN v = '0' THEN 1 ELSE 0 END) AS b0, SUM(CASE WHEN v = '1' THEN 1 ELSE 0 END) AS b1, SUM(CASE WHEN v = '2' THEN 1 ELSE 0 END) AS b2, SUM(CASE WHEN v = '3' THEN 1 ELSE 0 END) AS b3,
    SUM(CASE WHEN v = '4' THEN 1 ELSE 0 END) AS b4, SUM(CASE WHEN v = '5' THEN 1 ELSE 0 END) AS b5, SUM(CASE WHEN v = '6' THEN 1 ELSE 0 END) AS b6, SUM(CASE WHEN v = '7' THEN 1 ELSE 0 END) AS b7,
    SUM(CASE WHEN v = '8' THEN 1 ELSE 0 END) AS b8, SUM(CASE WHEN v = '9' THEN 1 ELSE 0 END) AS b9, SUM(CASE WHEN v = '10' THEN 1 ELSE 0 END) AS b10, SUM(CASE WHEN v = 'x' THEN 1 ELSE 0 END) AS cs
FROM items GROUP BY unit, month, respondent, age_group, lang, item;
DELETE FROM import_feedback_strata;
INSERT INTO feedback_strata (scope_id, month, respondent, age_group, lang, item,
                             b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs)
WITH RECURSIVE up(unit, scope) AS (
    SELECT id, id FROM org_units
    UNION ALL
    SELECT up.unit, o.parent_id FROM up JOIN org_units o ON o.id = up.scope WHERE o.parent_id IS NOT NULL
),
keyed AS (
    SELECT up.scope AS scope_id, o.parent_id IS NULL AS county, s.*,
           CAST(SUBSTR(s.month, 6, 2) AS INTEGER) AS m, SUBSTR(s.month, 1, 4) AS y
    FROM migration_unit_strata s JOIN up ON up.unit = s.unit JOIN org_units o ON o.id = up.scope
),
every AS (
    SELECT scope_id, month AS k, respondent, age_group, lang, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs FROM keyed WHERE county
    UNION ALL SELECT scope_id, y || 'Q' || CAST((m + 2) / 3 AS TEXT), respondent, age_group, lang, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs FROM keyed WHERE county
    UNION ALL SELECT scope_id, y || 'T' || CAST((m + 3) / 4 AS TEXT), respondent, age_group, lang, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs FROM keyed
    UNION ALL SELECT scope_id, y || 'H' || CAST((m + 5) / 6 AS TEXT), respondent, age_group, lang, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs FROM keyed
    UNION ALL SELECT scope_id, y, respondent, age_group, lang, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs FROM keyed
)
SELECT scope_id, k, respondent, age_group, lang, item,
       SUM(b0), SUM(b1), SUM(b2), SUM(b3), SUM(b4), SUM(b5), SUM(b6), SUM(b7), SUM(b8), SUM(b9), SUM(b10), SUM(cs)
FROM every GROUP BY scope_id, k, respondent, age_group, lang, item;
DROP TABLE migration_unit_strata;

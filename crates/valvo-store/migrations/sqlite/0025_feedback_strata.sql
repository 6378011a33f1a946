-- The counts a fair comparison of counties reads (SQLite). Keep in step with
-- ../postgres/0025_feedback_strata.sql.
--
-- One row per county (a root of the organisation tree), period key (the
-- month and the quarter, tertial, half year and year containing it, as in
-- feedback_agg), stratum (respondent, age group, language of service; ''
-- when not told) and item (nps and each statement). Changed in the same
-- transaction as feedback_agg by every writer, after feedback_agg and
-- feedback_totals (locks in one order); an import stages its rows in
-- import_feedback_strata and adds them when it finishes.
CREATE TABLE feedback_strata (
    scope_id    INTEGER NOT NULL,
    month       TEXT NOT NULL,
    respondent  TEXT NOT NULL,
    age_group   TEXT NOT NULL,
    lang        TEXT NOT NULL,
    item        TEXT NOT NULL,
    b0 INTEGER NOT NULL DEFAULT 0, b1 INTEGER NOT NULL DEFAULT 0, b2 INTEGER NOT NULL DEFAULT 0,
    b3 INTEGER NOT NULL DEFAULT 0, b4 INTEGER NOT NULL DEFAULT 0, b5 INTEGER NOT NULL DEFAULT 0,
    b6 INTEGER NOT NULL DEFAULT 0, b7 INTEGER NOT NULL DEFAULT 0, b8 INTEGER NOT NULL DEFAULT 0,
    b9 INTEGER NOT NULL DEFAULT 0, b10 INTEGER NOT NULL DEFAULT 0, cs INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scope_id, month, respondent, age_group, lang, item)
) WITHOUT ROWID;
CREATE TABLE import_feedback_strata (
    import_id   INTEGER NOT NULL,
    scope_id    INTEGER NOT NULL,
    month       TEXT NOT NULL,
    respondent  TEXT NOT NULL,
    age_group   TEXT NOT NULL,
    lang        TEXT NOT NULL,
    item        TEXT NOT NULL,
    b0 INTEGER NOT NULL DEFAULT 0, b1 INTEGER NOT NULL DEFAULT 0, b2 INTEGER NOT NULL DEFAULT 0,
    b3 INTEGER NOT NULL DEFAULT 0, b4 INTEGER NOT NULL DEFAULT 0, b5 INTEGER NOT NULL DEFAULT 0,
    b6 INTEGER NOT NULL DEFAULT 0, b7 INTEGER NOT NULL DEFAULT 0, b8 INTEGER NOT NULL DEFAULT 0,
    b9 INTEGER NOT NULL DEFAULT 0, b10 INTEGER NOT NULL DEFAULT 0, cs INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (import_id, scope_id, month, respondent, age_group, lang, item)
) WITHOUT ROWID;
-- The answers counted so far (not those the aggregator has still to add,
-- nor those of an import that has not finished).
INSERT INTO feedback_strata (scope_id, month, respondent, age_group, lang, item,
                             b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs)
WITH RECURSIVE roots(id, root) AS (
    SELECT id, id FROM org_units WHERE parent_id IS NULL
    UNION ALL
    SELECT o.id, r.root FROM org_units o JOIN roots r ON o.parent_id = r.id
),
answers AS (
    SELECT r.root AS scope_id, a.month, COALESCE(a.respondent, '') AS respondent,
           COALESCE(a.age_group, '') AS age_group, COALESCE(a.service_lang, '') AS lang,
           a.nps, a.scores
    FROM feedback_answers a JOIN roots r ON r.id = a.org_unit_id
    WHERE a.pending = 0
      AND (a.import_id IS NULL OR a.import_id IN (SELECT id FROM imports WHERE state = 'done'))
),
items AS (
    SELECT scope_id, month, respondent, age_group, lang, 'nps' AS item, CAST(nps AS TEXT) AS v
    FROM answers WHERE nps IS NOT NULL
    UNION ALL
    SELECT scope_id, month, respondent, age_group, lang, j.key, CAST(j.value AS TEXT)
    FROM answers, json_each(answers.scores) j
),
monthly AS (
    SELECT scope_id, month, respondent, age_group, lang, item,
        SUM(v = '0') AS b0, SUM(v = '1') AS b1, SUM(v = '2') AS b2, SUM(v = '3') AS b3,
        SUM(v = '4') AS b4, SUM(v = '5') AS b5, SUM(v = '6') AS b6, SUM(v = '7') AS b7,
        SUM(v = '8') AS b8, SUM(v = '9') AS b9, SUM(v = '10') AS b10, SUM(v = 'x') AS cs
    FROM items GROUP BY scope_id, month, respondent, age_group, lang, item
),
keyed AS (
    SELECT *, CAST(SUBSTR(month, 6, 2) AS INTEGER) AS m, SUBSTR(month, 1, 4) AS y FROM monthly
),
every AS (
    SELECT scope_id, month AS k, respondent, age_group, lang, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs FROM keyed
    UNION ALL SELECT scope_id, y || 'Q' || ((m + 2) / 3), respondent, age_group, lang, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs FROM keyed
    UNION ALL SELECT scope_id, y || 'T' || ((m + 3) / 4), respondent, age_group, lang, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs FROM keyed
    UNION ALL SELECT scope_id, y || 'H' || ((m + 5) / 6), respondent, age_group, lang, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs FROM keyed
    UNION ALL SELECT scope_id, y, respondent, age_group, lang, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs FROM keyed
)
SELECT scope_id, k, respondent, age_group, lang, item,
       SUM(b0), SUM(b1), SUM(b2), SUM(b3), SUM(b4), SUM(b5), SUM(b6), SUM(b7), SUM(b8), SUM(b9), SUM(b10), SUM(cs)
FROM every GROUP BY scope_id, k, respondent, age_group, lang, item;

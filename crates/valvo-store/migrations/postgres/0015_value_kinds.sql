-- Figures flow in (PostgreSQL): value kinds, indicator codes, retiring, the
-- periods an indicator covers, data quality, staged figure imports and
-- national reference values. Keep in step with ../sqlite/0015_value_kinds.sql.

-- What an indicator's figure is: number, count, percent, duration (seconds),
-- ratio (two parts; the value is the first part's share in per cent), money
-- (euros) or text. Indicators whose unit was a bare "%" are percentages.
ALTER TABLE indicators ADD COLUMN value_kind TEXT NOT NULL DEFAULT 'number';
UPDATE indicators SET value_kind = 'percent'
    WHERE TRIM(COALESCE(unit_fi, '')) = '%' OR TRIM(COALESCE(unit_sv, '')) = '%'
       OR TRIM(COALESCE(unit_en, '')) = '%';
-- A code unique within the county (imports name indicators by it).
ALTER TABLE indicators ADD COLUMN code TEXT;
CREATE INDEX indicators_code ON indicators(code);
-- Retired: no longer followed up, its history kept.
ALTER TABLE indicators ADD COLUMN retired_at TEXT;
-- The last year its plan covers (none: the plan year).
ALTER TABLE indicators ADD COLUMN until_year INTEGER;
-- Values outside min..max are flagged when entered.
ALTER TABLE indicators ADD COLUMN min_value DOUBLE PRECISION;
ALTER TABLE indicators ADD COLUMN max_value DOUBLE PRECISION;
-- A national reference series shown beside the figures (JSON).
ALTER TABLE indicators ADD COLUMN reference TEXT;

ALTER TABLE follow_ups ADD COLUMN part_a DOUBLE PRECISION;
ALTER TABLE follow_ups ADD COLUMN part_b DOUBLE PRECISION;
ALTER TABLE follow_ups ADD COLUMN value_text TEXT;
-- Far outside the indicator's own history (or its min..max) when entered.
ALTER TABLE follow_ups ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0;
CREATE INDEX follow_ups_flagged ON follow_ups(flagged);

-- The rows of a figure import, checked and kept here until the import is
-- applied in one transaction (or removed with the import).
CREATE TABLE import_figures (
    import_id      BIGINT NOT NULL,
    seq            BIGINT NOT NULL,
    sheet          TEXT,
    line           BIGINT NOT NULL,
    code           TEXT NOT NULL,
    indicator_id   BIGINT NOT NULL,
    period         TEXT NOT NULL,
    period_start   TEXT NOT NULL,
    value          DOUBLE PRECISION,
    part_a         DOUBLE PRECISION,
    part_b         DOUBLE PRECISION,
    value_text     TEXT,
    assessment_fi  TEXT,
    assessment_sv  TEXT,
    assessment_en  TEXT,
    corrective_fi  TEXT,
    corrective_sv  TEXT,
    corrective_en  TEXT,
    PRIMARY KEY (import_id, seq)
);
CREATE INDEX import_figures_key ON import_figures(import_id, indicator_id, period);

-- National and regional reference values (THL's Sotkanet): one value per
-- series (a Sotkanet indicator id), region, year and gender.
CREATE TABLE reference_values (
    source   TEXT NOT NULL,
    series   TEXT NOT NULL,
    region   TEXT NOT NULL,
    year     INTEGER NOT NULL,
    gender   TEXT NOT NULL,
    value    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (source, series, region, year, gender)
);

-- What a figures import changes (new, changed, unchanged, and the first
-- changes), for its preview and its result (JSON).
ALTER TABLE imports ADD COLUMN summary TEXT;

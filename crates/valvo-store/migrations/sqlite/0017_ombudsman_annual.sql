-- The ombudsperson's own review in the annual report, per unit and year
-- (sqlite). Keep in step with the other backend's 0017_ombudsman_annual.sql.
CREATE TABLE ombudsman_annual_texts (
    org_unit_id  INTEGER NOT NULL REFERENCES org_units(id),
    year         INTEGER NOT NULL,
    text_fi      TEXT,
    text_sv      TEXT,
    text_en      TEXT,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    PRIMARY KEY (org_unit_id, year)
);

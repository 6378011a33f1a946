-- A county's branding (sqlite): colour, contact details and logo, set by an
-- administrator for the root of its tree. Every logo once used is kept
-- under its SHA-256 (base64 text, the same on both backends), so an
-- approved report, which names its logo by hash, keeps the logo it was
-- approved with. Keep in step with ../postgres/0020_branding.sql.
CREATE TABLE branding_logos (
    sha256      TEXT PRIMARY KEY,
    media_type  TEXT NOT NULL,
    data_base64 TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE branding (
    org_unit_id  INTEGER PRIMARY KEY REFERENCES org_units(id),
    colour       TEXT,
    contact_fi   TEXT,
    contact_sv   TEXT,
    contact_en   TEXT,
    logo_sha256  TEXT REFERENCES branding_logos(sha256),
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL
);

-- Ombudsperson contacts and supervision visits (PostgreSQL).
-- Keep in step with ../sqlite/0016_ombudsman_supervision.sql.

-- The reason classification: a code, once used, stays; a county renames,
-- reorders, adds and retires reasons (active = 0).
CREATE TABLE ombudsman_reasons (
    code        TEXT PRIMARY KEY,
    name_fi     TEXT NOT NULL,
    name_sv     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    sort_order  BIGINT NOT NULL,
    active      BIGINT NOT NULL DEFAULT 1
);
INSERT INTO ombudsman_reasons (code, name_fi, name_sv, name_en, sort_order, active) VALUES
    ('care', 'Tyytymättömyys hoitoon', 'Missnöje med vården', 'Dissatisfaction with care', 10, 1),
    ('conduct', 'Kohtelu', 'Bemötande', 'Treatment', 20, 1),
    ('service', 'Tyytymättömyys palveluun', 'Missnöje med service', 'Dissatisfaction with service', 30, 1),
    ('legal_remedies', 'Oikeusturvakeinot', 'Rättsskyddsmedel', 'Legal remedies', 40, 1),
    ('documents_drafting', 'Asiakirjojen laatiminen', 'Upprättande av handlingar', 'Drafting documents', 50, 1),
    ('information', 'Riittämätön tiedonsaanti', 'Otillräcklig information', 'Insufficient information', 60, 1),
    ('participation', 'Yhteisymmärrys ja osallisuus', 'Samförstånd och delaktighet', 'Agreement and participation', 70, 1),
    ('record_entries', 'Asiakirjamerkinnät', 'Anteckningar i dokument', 'Record entries', 80, 1),
    ('patient_injury', 'Epäily potilasvahingosta', 'Misstänkt patientskada', 'Suspected patient injury', 90, 1),
    ('record_correction', 'Oikeus korjata asiakirjoja', 'Rätt att korrigera dokument', 'Right to correct records', 100, 1),
    ('staff_competence', 'Henkilöstön osaaminen', 'Personalens kompetens', 'Staff competence', 110, 1),
    ('self_determination', 'Itsemääräämisoikeus', 'Självbestämmanderätt', 'Self-determination', 120, 1),
    ('access', 'Hoitoon pääsy', 'Tillgång till vård', 'Access to care', 130, 1),
    ('fees', 'Asiakasmaksut', 'Klientavgifter', 'Client fees', 140, 1),
    ('data_protection', 'Tietosuoja', 'Dataskydd', 'Data protection', 150, 1),
    ('other', 'Muu syy', 'Annan orsak', 'Other reason', 160, 1);

-- A contact: no name, identity code or contact detail of the client; the
-- note is redacted before it is kept. org_unit_id is the unit it counts in
-- (the smallest part of the organisation holding all its items).
CREATE TABLE ombudsman_contacts (
    id            BIGSERIAL PRIMARY KEY,
    org_unit_id   BIGINT NOT NULL REFERENCES org_units(id),
    contacted_on  TEXT NOT NULL,
    month         TEXT NOT NULL,
    channel       TEXT NOT NULL,
    language      TEXT NOT NULL,
    client_group  TEXT NOT NULL,
    measures      TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    recorded_by   BIGINT REFERENCES users(id),
    recorded_at   TEXT NOT NULL,
    import_id     BIGINT
);
CREATE INDEX ombudsman_contacts_unit_month ON ombudsman_contacts(org_unit_id, month);
CREATE INDEX ombudsman_contacts_import ON ombudsman_contacts(import_id);

-- A statistical item: the service concerned (a unit, or only its producer
-- type, counted at the recorder's county) and its reasons (comma-separated codes).
CREATE TABLE ombudsman_items (
    id            BIGSERIAL PRIMARY KEY,
    contact_id    BIGINT NOT NULL REFERENCES ombudsman_contacts(id) ON DELETE CASCADE,
    org_unit_id   BIGINT NOT NULL REFERENCES org_units(id),
    named_unit    BIGINT NOT NULL,
    producer      TEXT NOT NULL,
    sector        TEXT NOT NULL,
    reasons       TEXT NOT NULL
);
CREATE INDEX ombudsman_items_contact ON ombudsman_items(contact_id);
CREATE INDEX ombudsman_items_unit ON ombudsman_items(org_unit_id);

-- Counts kept on write, in the same transaction: one row per scope, month,
-- dimension (contacts, items, reason, producer, sector, language,
-- client_group, channel, measure) and key. A row of a unit is counted in the
-- unit and again in every unit above it (org_unit_id is that scope), so a
-- subtree's figures are the rows of its root (units never move).
CREATE TABLE ombudsman_marginals (
    org_unit_id  BIGINT NOT NULL,
    month        TEXT NOT NULL,
    dim          TEXT NOT NULL,
    key          TEXT NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (org_unit_id, month, dim, key)
);

-- A supervision visit. producer is the unit's producer type on the day.
CREATE TABLE supervision_visits (
    id            BIGSERIAL PRIMARY KEY,
    org_unit_id   BIGINT NOT NULL REFERENCES org_units(id),
    producer      TEXT NOT NULL,
    visited_on    TEXT NOT NULL,
    month         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    topics        TEXT NOT NULL,
    follows_id    BIGINT REFERENCES supervision_visits(id),
    avi_sent_on   TEXT,
    recorded_by   BIGINT REFERENCES users(id),
    recorded_at   TEXT NOT NULL
);
CREATE INDEX supervision_visits_unit_month ON supervision_visits(org_unit_id, month);

-- A finding, and the correction requested of the producer (correction_due
-- set): its state (open, done), the producer's reply and when it was done.
CREATE TABLE supervision_findings (
    id              BIGSERIAL PRIMARY KEY,
    visit_id        BIGINT NOT NULL REFERENCES supervision_visits(id) ON DELETE CASCADE,
    org_unit_id     BIGINT NOT NULL REFERENCES org_units(id),
    topic           TEXT NOT NULL,
    severity        TEXT NOT NULL,
    text_fi         TEXT,
    text_sv         TEXT,
    text_en         TEXT,
    correction_due  TEXT,
    state           TEXT NOT NULL,
    reply           TEXT NOT NULL DEFAULT '',
    done_on         TEXT
);
CREATE INDEX supervision_findings_visit ON supervision_findings(visit_id);
CREATE INDEX supervision_findings_open ON supervision_findings(state, org_unit_id, correction_due);

-- Counts kept on write, per scope as ombudsman_marginals: visit (key
-- producer/kind), finding_topic, finding_severity, corrections (requested).
CREATE TABLE supervision_marginals (
    org_unit_id  BIGINT NOT NULL,
    month        TEXT NOT NULL,
    dim          TEXT NOT NULL,
    key          TEXT NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (org_unit_id, month, dim, key)
);

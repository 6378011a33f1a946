-- The event-type taxonomy of incident reports, and named incident handlers
-- per org unit (PostgreSQL). Keep in step with ../sqlite/0007_incident_taxonomy_handlers.sql.

-- Event types: reports and the aggregates refer to the code, which never
-- changes; names, order and the active flag may. An inactive type is not
-- offered on report forms but old reports and statistics keep its name.
CREATE TABLE incident_event_types (
    code        TEXT PRIMARY KEY,
    name_fi     TEXT,
    name_sv     TEXT,
    name_en     TEXT,
    active      BIGINT NOT NULL DEFAULT 1,
    sort_order  BIGINT NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
-- The default taxonomy (the codes reports used before it was configurable).
INSERT INTO incident_event_types (code, name_fi, name_sv, name_en, active, sort_order, created_at) VALUES
    ('medication', 'Lääke- ja nestehoito', 'Läkemedels- och vätskebehandling', 'Medication and fluid therapy', 1, 10, '2025-01-01T00:00:00Z'),
    ('fall_accident', 'Kaatuminen tai tapaturma', 'Fall eller olycka', 'Fall or accident', 1, 20, '2025-01-01T00:00:00Z'),
    ('information_flow', 'Tiedonkulku', 'Informationsflöde', 'Information flow', 1, 30, '2025-01-01T00:00:00Z'),
    ('laboratory_imaging', 'Laboratorio tai kuvantaminen', 'Laboratorium eller bilddiagnostik', 'Laboratory or imaging', 1, 40, '2025-01-01T00:00:00Z'),
    ('other_care_procedure', 'Muu hoitotoimenpide', 'Annan vårdåtgärd', 'Other care procedure', 1, 50, '2025-01-01T00:00:00Z'),
    ('identification', 'Asiakkaan tunnistaminen', 'Identifiering av klienten', 'Identification of the client', 1, 60, '2025-01-01T00:00:00Z'),
    ('diagnosis', 'Diagnoosi', 'Diagnos', 'Diagnosis', 1, 70, '2025-01-01T00:00:00Z'),
    ('violence_threat', 'Väkivalta tai uhka', 'Våld eller hot', 'Violence or threat', 1, 80, '2025-01-01T00:00:00Z'),
    ('equipment', 'Laitteet', 'Utrustning', 'Equipment', 1, 90, '2025-01-01T00:00:00Z'),
    ('indoor_air', 'Sisäilma', 'Inomhusluft', 'Indoor air', 1, 100, '2025-01-01T00:00:00Z'),
    ('other', 'Muu', 'Annat', 'Other', 1, 110, '2025-01-01T00:00:00Z');
-- Any other code already in use keeps working (named by its code until renamed).
INSERT INTO incident_event_types (code, name_fi, active, sort_order, created_at)
    SELECT DISTINCT event_type, event_type, 1, 1000, '2025-01-01T00:00:00Z' FROM incidents
    WHERE event_type NOT IN (SELECT code FROM incident_event_types);

-- Users named as a unit's incident handlers: they see and handle the reports
-- of exactly that unit (besides whoever may write the unit anyway).
CREATE TABLE incident_handlers (
    org_unit_id  BIGINT NOT NULL REFERENCES org_units(id),
    user_id      BIGINT NOT NULL REFERENCES users(id),
    created_at   TEXT NOT NULL,
    PRIMARY KEY (org_unit_id, user_id)
);
CREATE INDEX incident_handlers_user ON incident_handlers(user_id);

-- The supervision checklist, configurable as the ombudsperson's reasons are
-- (SQLite). Keep in step with ../postgres/0018_supervision_topics.sql.
CREATE TABLE supervision_topics (
    code        TEXT PRIMARY KEY,
    name_fi     TEXT NOT NULL,
    name_sv     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    sort_order  INTEGER NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1
);
INSERT INTO supervision_topics (code, name_fi, name_sv, name_en, sort_order, active) VALUES
    ('self_monitoring_plan', 'Omavalvontasuunnitelma ajan tasalla', 'Egenkontrollplanen uppdaterad', 'Self-monitoring plan up to date', 10, 1),
    ('medication_safety', 'Lääkehoidon turvallisuus', 'Säkerheten i läkemedelsbehandlingen', 'Medication safety', 20, 1),
    ('client_records', 'Asiakas- ja potilasasiakirjat', 'Klient- och patientjournaler', 'Client and patient records', 30, 1),
    ('staffing', 'Henkilöstömitoitus ja -rakenne', 'Personaldimensionering och -struktur', 'Staffing ratio and structure', 40, 1),
    ('premises', 'Toimitilat', 'Lokaler', 'Premises', 50, 1),
    ('restraint', 'Rajoitustoimenpiteiden päätökset', 'Beslut om begränsningsåtgärder', 'Restraint decisions', 60, 1),
    ('duty_to_report', 'Ilmoitusvelvollisuus tunnetaan', 'Anmälningsskyldigheten är känd', 'The duty to report is known', 70, 1),
    ('client_feedback', 'Asiakaspalautetta seurataan', 'Klientresponsen följs upp', 'Client feedback followed', 80, 1),
    ('active_everyday', 'Asiakkaiden aktiivinen arki', 'Klienternas aktiva vardag', 'Clients'' active everyday life', 90, 1),
    ('other', 'Muu', 'Annat', 'Other', 100, 1);

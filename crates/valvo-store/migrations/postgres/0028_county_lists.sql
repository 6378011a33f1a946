-- Each county's own entries in the lists a county configures (PostgreSQL). Keep in
-- step with ../sqlite/0028_county_lists.sql.
--
-- An incident event type, an ombudsperson reason or a supervision topic is
-- either shared by every county (county_id NULL: every entry so far) or one
-- county's own (county_id its root), offered only for that county's units
-- and kept by its administrators and quality coordinators. Codes stay unique
-- across the service, so reports, statistics and history name an entry
-- without asking whose it is.
ALTER TABLE incident_event_types ADD COLUMN county_id BIGINT REFERENCES org_units(id);
ALTER TABLE ombudsman_reasons ADD COLUMN county_id BIGINT REFERENCES org_units(id);
ALTER TABLE supervision_topics ADD COLUMN county_id BIGINT REFERENCES org_units(id);

-- Indicators that fill themselves from a module (PostgreSQL). Keep in step with ../sqlite/0004_indicator_source.sql.
ALTER TABLE indicators ADD COLUMN source TEXT;

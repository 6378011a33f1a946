-- Indicators that fill themselves from a module (SQLite). Keep in step with ../postgres/0004_indicator_source.sql.
ALTER TABLE indicators ADD COLUMN source TEXT;

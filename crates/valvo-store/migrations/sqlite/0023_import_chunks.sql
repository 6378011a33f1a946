-- Where an import's rows are, without an index on import_id (SQLite). Keep in
-- step with ../postgres/0023_import_chunks.sql.
--
-- Every chunk of an answer or incident import records the first and last id
-- of the answers or reports it wrote, in the chunk's own transaction; their
-- comment cases and handling spans point at those ids. Removing a failed
-- import's rows walks these ranges by primary key (and the indexes on
-- answer_id and incident_id), so the four partial indexes on import_id,
-- which every imported row paid for, are gone.
CREATE TABLE import_chunks (
    import_id  INTEGER NOT NULL,
    first_id   INTEGER NOT NULL,
    last_id    INTEGER NOT NULL,
    PRIMARY KEY (import_id, first_id)
);
-- The rows of imports that may still have to be removed.
INSERT INTO import_chunks (import_id, first_id, last_id)
    SELECT import_id, MIN(id), MAX(id) FROM feedback_answers
    WHERE import_id IN (SELECT id FROM imports WHERE state <> 'done' AND purged = 0)
    GROUP BY import_id;
INSERT INTO import_chunks (import_id, first_id, last_id)
    SELECT import_id, MIN(id), MAX(id) FROM incidents
    WHERE import_id IN (SELECT id FROM imports WHERE state <> 'done' AND purged = 0)
    GROUP BY import_id;
DROP INDEX feedback_answers_import;
DROP INDEX feedback_cases_import;
DROP INDEX incidents_import;
DROP INDEX incident_spans_import;

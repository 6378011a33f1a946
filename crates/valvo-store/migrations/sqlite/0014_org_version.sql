-- The organisation tree's version (SQLite). Keep in step with ../postgres/0014_org_version.sql.
--
-- Every change of org_units adds one to it in the same transaction. A server
-- keeps the tree it last read together with this number and reads the tree
-- again whenever the number differs, so a unit added a moment ago through
-- another instance (or `valvo org add`) is known to every request at once:
-- the cache makes reads cheaper, it never decides what a unit is.
CREATE TABLE org_version (
    id       INTEGER PRIMARY KEY,
    version  BIGINT NOT NULL
);
INSERT INTO org_version (id, version) VALUES (1, 1);

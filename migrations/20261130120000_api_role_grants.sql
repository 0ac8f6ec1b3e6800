-- Least privilege for the API: the migrator (pmp_migrator) owns every table; the API role (pmp_api) gets only the DML
-- each table needs. Roles are created before the first migration by the bootstrap (lambda/src/roles.rs, see
-- docs/database-access.md). A migration that adds a table grants pmp_api what it needs in the same file.

-- People: the API registers them, corrects a reference, and may erase one that has no history (the foreign keys
-- from consent_event and preference refuse the others).
GRANT SELECT, INSERT, UPDATE, DELETE ON data_subject TO pmp_api;

-- The catalogue is reference data: it changes through migrations, the API reads it.
GRANT SELECT ON purpose, topic, channel TO pmp_api;

-- The history is append-only for the API as well as by its trigger: no UPDATE, DELETE or TRUNCATE to grant.
GRANT SELECT, INSERT ON consent_event TO pmp_api;

-- Derived from consent_event: the API reads it; the trigger writes it with its owner's rights (below).
GRANT SELECT ON preference TO pmp_api;

-- The trigger that keeps preference up to date runs for the API's INSERT into consent_event: as its owner, so that the
-- API needs no write privilege on preference. A fixed search_path, as every SECURITY DEFINER function needs.
ALTER FUNCTION preference_apply_consent_event() SECURITY DEFINER SET search_path = public, pg_temp;

-- migrator:no-transaction
-- Built without blocking writes on memberships. If a previous attempt failed it may have left an
-- INVALID index behind: drop it (DROP INDEX CONCURRENTLY) and re-run.
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_memberships_organisation_id ON memberships (organisation_id);

-- migrator:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS ix_memberships_organisation_id;

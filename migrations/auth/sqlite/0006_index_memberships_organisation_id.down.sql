DROP INDEX IF EXISTS ix_memberships_organisation_id;

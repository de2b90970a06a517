ALTER TABLE memberships DROP INDEX ix_memberships_organisation_id, ALGORITHM=INPLACE, LOCK=NONE;

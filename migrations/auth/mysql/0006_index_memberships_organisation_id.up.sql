-- Online index build: concurrent reads and writes on memberships continue meanwhile.
ALTER TABLE memberships ADD INDEX ix_memberships_organisation_id (organisation_id), ALGORITHM=INPLACE, LOCK=NONE;

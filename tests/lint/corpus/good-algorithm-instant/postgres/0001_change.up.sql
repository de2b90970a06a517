-- Metadata-only changes.
ALTER TABLE users ADD COLUMN nickname text NULL;
ALTER TABLE users ALTER COLUMN status DROP DEFAULT;
ALTER TABLE users RENAME CONSTRAINT ck_old TO ck_new;
ALTER TABLE users DROP CONSTRAINT IF EXISTS ck_legacy;

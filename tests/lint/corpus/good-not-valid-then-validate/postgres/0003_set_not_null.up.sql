-- PostgreSQL 12+ proves NOT NULL from the validated CHECK: no scan.
ALTER TABLE users ALTER COLUMN full_name SET NOT NULL;
ALTER TABLE users DROP CONSTRAINT ck_users_full_name_not_null;

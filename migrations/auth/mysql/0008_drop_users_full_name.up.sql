-- Contract step: users.full_name has been deprecated since 0007 and is no longer read or written.
ALTER TABLE users DROP COLUMN full_name, ALGORITHM=INPLACE, LOCK=NONE;

-- The previous release still reads full_name (online, but still a contract break).
ALTER TABLE users DROP COLUMN full_name, ALGORITHM=INPLACE, LOCK=NONE;

-- The migrator already runs this file in a transaction.
BEGIN;
ALTER TABLE users ADD COLUMN nickname TEXT NULL;
COMMIT;

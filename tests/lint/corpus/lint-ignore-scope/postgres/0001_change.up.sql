-- migrator:lint-ignore backfill-in-migration reason: plans is a 12-row lookup table
UPDATE plans SET active = true;
UPDATE users SET status = 'active';
-- migrator:lint-ignore require-concurrent-index-creation reason: wrong rule for this statement
ALTER TABLE users ALTER COLUMN email TYPE varchar(100);
-- migrator:lint-ignore reason: names no rule
DELETE FROM sessions;

-- migrator:lint-ignore backfill-in-migration reason: plans is a 12-row lookup table
UPDATE plans SET active = TRUE;
UPDATE users SET status = 'active';
-- migrator:lint-ignore alter-without-online-algorithm reason: wrong rule for this statement
ALTER TABLE users MODIFY email VARCHAR(100) NOT NULL;
-- migrator:lint-ignore reason: names no rule
DELETE FROM sessions;

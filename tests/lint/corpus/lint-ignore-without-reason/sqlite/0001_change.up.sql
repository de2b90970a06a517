-- migrator:lint-ignore backfill-in-migration
UPDATE users SET email = lower(email);

-- migrator:lint-ignore backfill-in-migration reason: plans has a dozen rows
UPDATE plans SET code = lower(code);

-- A data change hidden in a CTE.
WITH stale AS (SELECT id FROM users WHERE status = 'invited')
UPDATE users SET status = 'expired' FROM stale WHERE users.id = stale.id;

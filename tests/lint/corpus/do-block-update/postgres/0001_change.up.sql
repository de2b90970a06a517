-- A data change inside a DO block.
DO $$
BEGIN
    UPDATE users SET status = 'active' WHERE status IS NULL;
END
$$;

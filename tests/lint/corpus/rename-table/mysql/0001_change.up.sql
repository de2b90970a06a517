-- The running release still queries `users`.
RENAME TABLE users TO accounts;

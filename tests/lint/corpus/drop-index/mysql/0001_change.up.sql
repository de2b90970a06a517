-- DROP INDEX without an online algorithm.
DROP INDEX ix_users_email ON users;

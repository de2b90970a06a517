-- DROP INDEX takes ACCESS EXCLUSIVE on the table.
DROP INDEX ix_users_email;

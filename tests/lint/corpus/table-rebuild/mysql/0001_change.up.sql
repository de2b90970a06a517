-- OPTIMIZE TABLE rebuilds the table.
OPTIMIZE TABLE users;

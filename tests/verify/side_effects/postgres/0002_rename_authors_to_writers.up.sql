-- A table that a view and another table's foreign key reference.
ALTER TABLE authors RENAME TO writers;

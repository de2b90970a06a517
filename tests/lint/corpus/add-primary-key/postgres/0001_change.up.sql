-- The primary key index is built under ACCESS EXCLUSIVE.
ALTER TABLE orders ADD PRIMARY KEY (id);

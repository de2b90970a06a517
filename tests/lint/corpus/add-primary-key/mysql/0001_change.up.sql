-- Adding a primary key rebuilds the table; no algorithm stated.
ALTER TABLE orders ADD PRIMARY KEY (id);

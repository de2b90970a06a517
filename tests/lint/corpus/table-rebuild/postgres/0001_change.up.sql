-- CLUSTER rewrites the table under ACCESS EXCLUSIVE.
CLUSTER users USING users_pkey;

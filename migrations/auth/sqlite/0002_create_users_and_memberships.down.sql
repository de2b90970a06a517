DROP VIEW workspace_member_counts;
DROP TABLE memberships;
DROP TABLE users;

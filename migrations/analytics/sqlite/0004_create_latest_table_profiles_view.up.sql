-- The newest successful profile of every managed table, for the catalogue UI.
CREATE VIEW latest_table_profiles AS
SELECT p.managed_table_id,
       p.id          AS table_profile_id,
       p.row_count,
       p.profiled_at
  FROM table_profiles p
 WHERE p.status = 'succeeded'
   AND p.profiled_at = (SELECT max(p2.profiled_at)
                          FROM table_profiles p2
                         WHERE p2.managed_table_id = p.managed_table_id
                           AND p2.status = 'succeeded');

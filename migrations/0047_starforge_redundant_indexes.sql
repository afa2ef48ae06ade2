-- frontline: no-transaction
-- Five of the seed's indexes repeat the leading column of a unique index on the same table, which
-- already serves every lookup they could: each only cost a write per row. hero_troops has the most rows
-- (700 per hero), written by the ETL.
-- Covered by ux_hero_troops_hero_troop (hero_id, troop_id):
DROP INDEX CONCURRENTLY IF EXISTS starforge.idx_hero_troops_hero;
-- The same column as ux_heroes_namecode (namecode):
DROP INDEX CONCURRENTLY IF EXISTS starforge.idx_heroes_namecode;
-- Covered by ux_hero_kingdom_progress_hero_kingdom (hero_id, kingdom_id):
DROP INDEX CONCURRENTLY IF EXISTS starforge.idx_hero_kingdom_progress_hero;
-- Covered by ux_hero_pvp_regions_hero_region (hero_id, region_id):
DROP INDEX CONCURRENTLY IF EXISTS starforge.idx_hero_pvp_regions_hero;
-- Covered by ux_guild_members_guild_user (guild_id, user_id):
DROP INDEX CONCURRENTLY IF EXISTS starforge.idx_guild_members_guild;

-- Compressing a 500 KB raw payload with PostgreSQL's default pglz costs 15-20 ms inside the ingest
-- acknowledgement (a third of its 50 ms budget). lz4 compresses about as well at a fraction of the cost:
-- use it where the server has it (RDS and Aurora do). A server built without lz4 (the embedded one)
-- stores raw out of line uncompressed instead; retention and archival bound what that costs.
DO $$
BEGIN
    ALTER TABLE starforge.hero_snapshots ALTER COLUMN raw SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    ALTER TABLE starforge.hero_snapshots ALTER COLUMN raw SET STORAGE EXTERNAL;
END $$;

-- Each raw payload adds thousands of entries to idx_hero_snapshots_raw_gin. With the default 4 MB
-- pending list, every few ingests one of them pays for merging the list into the index: the p95 of
-- a 500 KB ingest was 65 ms with the default and 45 ms with this (bench/starforge.py). A 64 MB list
-- leaves the merge to autovacuum; ad-hoc GIN queries scan a longer list meanwhile.
ALTER INDEX starforge.idx_hero_snapshots_raw_gin SET (gin_pending_list_limit = 65536);

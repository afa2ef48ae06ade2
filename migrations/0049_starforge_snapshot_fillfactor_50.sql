-- At fillfactor 70 (0042) a page holds about 30 snapshot rows and room for a dozen more versions, and the
-- ETL claims ten snapshots at once, stored one after another, so mostly on one page: 48 of the 3,600
-- claim and finish updates of bench/starforge.py found no room and were not HOT, each putting the whole
-- payload's keys into the GIN index again (a non-HOT update of a 160 KB payload's row: 5.1 ms against
-- 1.3 ms, commit included). At 50, 9 were not, all in rounds that reprocess snapshots the bench has
-- just reset in one statement. The rows are small (the payload is stored out of line), so the table
-- grows little. Applies to pages written from now on.
ALTER TABLE starforge.hero_snapshots SET (fillfactor = 50);

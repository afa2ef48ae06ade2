-- At fillfactor 70 (0042) a page holds about 30 snapshot rows and room for a dozen more versions, and the
-- ETL claims ten snapshots at once, stored one after another, so mostly on one page. Of the 3,600 claim
-- and finish updates of bench/starforge.py (its defaults), 48 and 50 were not HOT at 70 (two runs), each
-- putting the whole payload's keys into the GIN index again: a non-HOT update of a 160 KB payload's row
-- takes 5.1 ms against 1.3 ms, commit included (0042's "about 20 ms" was an older figure). At 50, 9 were
-- not in five runs, 55 and 56 in two more. The rows are small (the payload is stored out of line), so the
-- table grows little. Applies to pages written from now on.
ALTER TABLE starforge.hero_snapshots SET (fillfactor = 50);

-- The ETL stopped calling starforge.jsonb_elements (0043) a release ago: it expands each JSON column with
-- jsonb_array_elements inside ROWS FROM. No ETL still running that code remains to need it.
DROP FUNCTION IF EXISTS starforge.jsonb_elements(jsonb);

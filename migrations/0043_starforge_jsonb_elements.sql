-- The ETL sends a JSON column of a batch as one JSON array; this turns it into the jsonb[] that
-- unnest() takes next to the other columns' arrays, in order.
CREATE FUNCTION starforge.jsonb_elements(doc jsonb) RETURNS jsonb[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT COALESCE(array_agg(element ORDER BY n), '{}') FROM jsonb_array_elements(doc) WITH ORDINALITY AS e (element, n));

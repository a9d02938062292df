-- Minute rollups are merged in the database: a replica adds its deltas to its stored rows with one
-- `insert … on conflict do update`, counts added and latency histograms merged by this function,
-- so no process reads its rows back or keeps them in memory to add to them.
--
-- The histogram's stored form (src/analytics/histogram.ts): { v, b: [[bucketIndex, count], …]
-- sorted by index, n, s, min, max }. Counts of the same bucket add up, n and s add, min and max
-- widen. A stored value that does not merge (not a histogram of the same version) counts as empty,
-- as readers take it: the delta replaces it, and the row's request counts still add.
CREATE OR REPLACE FUNCTION apg_merge_latency(stored jsonb, delta jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF stored IS NULL OR jsonb_typeof(stored) <> 'object' OR stored->'v' IS DISTINCT FROM delta->'v'
     OR jsonb_typeof(stored->'b') IS DISTINCT FROM 'array' THEN
    RETURN delta;
  END IF;
  RETURN jsonb_build_object(
    'v', delta->'v',
    'b', COALESCE((
      SELECT jsonb_agg(jsonb_build_array(i, c) ORDER BY i)
      FROM (
        SELECT (pair->>0)::int AS i, sum((pair->>1)::bigint) AS c
        FROM (SELECT jsonb_array_elements(stored->'b') AS pair UNION ALL SELECT jsonb_array_elements(delta->'b')) AS pairs
        GROUP BY 1
      ) AS merged), '[]'::jsonb),
    'n', (stored->>'n')::bigint + (delta->>'n')::bigint,
    's', (stored->>'s')::float8 + (delta->>'s')::float8,
    'min', least((stored->>'min')::float8, (delta->>'min')::float8),
    'max', greatest((stored->>'max')::float8, (delta->>'max')::float8));
EXCEPTION WHEN others THEN
  -- A pair, count or sum of the wrong type (a row edited by hand): the stored histogram counts as empty.
  RETURN delta;
END
$$;

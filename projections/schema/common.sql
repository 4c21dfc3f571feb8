-- Shared by the projections' SQL. Every column a projection writes is a function of the log:
-- times come from event metadata, never now(), so a rebuild reproduces the tables exactly.
-- STABLE, as the cast to timestamptz is: an IMMUTABLE declaration stops it being inlined, and a
-- replay then calls it once per event.
CREATE OR REPLACE FUNCTION s3o_event_time(p_meta jsonb) RETURNS timestamptz
LANGUAGE sql STABLE AS $$ SELECT (p_meta->>'at')::timestamptz $$;

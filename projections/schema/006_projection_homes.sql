-- Each projection now has one home under projections/, and the dispatch and replay functions are
-- generated from projections/registry.ts. The functions of the former single-file layout that
-- nothing calls any more go; the version step also stops an older build from putting them back.
DROP FUNCTION IF EXISTS s3o_project_inline(text, bigint, text, jsonb, jsonb, boolean);
DROP FUNCTION IF EXISTS s3o_replay_inline(text[], xid8, bigint, int, boolean);

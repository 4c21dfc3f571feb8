import type { InlineProjection } from '../inline/inline-projection.js';
import { eventTypeOf, type EventVersion } from '../projection.js';
import { knownVersions, type CatalogueView } from './event-versions.js';

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;
/** Quoted and comma-separated, a few to a line so the generated SQL stays readable. */
const literals = (xs: readonly string[]) =>
  xs
    .map(literal)
    .map((x, i) => (i > 0 && i % 4 === 0 ? `\n        ${x}` : x))
    .join(', ');

/** Groups catalogue types by a key, keeping catalogue order. */
function groupTypes(types: readonly string[], keyOf: (type: string) => string): string[][] {
  const groups = new Map<string, string[]>();
  for (const t of types) {
    const k = keyOf(t);
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  return [...groups.values()];
}

const handlerArgs = 'p_stream, p_revision, p_type, p_data, p_meta, p_enforce';
const groupArgs = 'p_type, p_streams, p_revisions, p_data, p_meta';

/**
 * `s3o_event_current_version(type)` (NULL outside the catalogue) and `s3o_upcast(type,
 * version, data)`, which lifts stored data to the current version through the SQL upcasters and
 * raises S3O03 for a version it cannot lift: newer than the catalogue, or older than its chain.
 */
export function eventVersionsSql(catalogue: CatalogueView): string {
  const types = Object.keys(catalogue.versions);
  const current = (t: string) => catalogue.versions[t]?.version ?? 0;
  const currentCases = groupTypes(types, (t) => String(current(t)))
    .map((g) => `    WHEN p_type IN (${literals(g)}) THEN ${current(g[0] as string)}`)
    .join('\n');
  const upcastCases = groupTypes(types, (t) => (knownVersions(catalogue, t).length > 1 ? t : `=${current(t)}`))
    .map((g) => {
      const known = knownVersions(catalogue, g[0] as string);
      const steps = known.slice(0, -1).map((v) => {
        const expr = catalogue.sqlUpcasters[`${g[0] as string}@${v}`] as string;
        return `      IF v = ${v} THEN d := (${expr}); v := ${v + 1}; END IF;`;
      });
      return [
        `    WHEN ${literals(g)} THEN`,
        ...steps,
        `      IF v = ${current(g[0] as string)} THEN RETURN d; END IF;`,
        `      v_known := ${literal(known.join(', '))};`,
      ].join('\n');
    })
    .join('\n');
  return `-- Generated from the event catalogue (projections/schema/generated-sql.ts): do not edit.
CREATE OR REPLACE FUNCTION s3o_event_current_version(p_type text) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
${currentCases}
  END
$$;

CREATE OR REPLACE FUNCTION s3o_upcast(p_type text, p_version int, p_data jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v int := p_version;
  d jsonb := p_data;
  v_known text;
BEGIN
  CASE p_type
${upcastCases}
    ELSE RETURN d; -- not a catalogue event: no projection reads it
  END CASE;
  RAISE EXCEPTION USING ERRCODE = 'S3O03',
    MESSAGE = format('event %s has schema version %s, which the projections in this database do not know (they know %s)', p_type, p_version, v_known),
    DETAIL = json_build_object('type', p_type, 'version', p_version, 'known', v_known)::text,
    HINT = 'run every instance on a build whose event catalogue knows this version (or has an upcaster for it)';
END
$$;
`;
}

/**
 * `s3o_project_inline`, called by `s3o_append` for every event it does not apply set-based: brings
 * the event to its current version (or refuses it), then calls the handler of each inline
 * projection that handles it, in registry order.
 */
export function dispatchSql(catalogue: CatalogueView, inline: readonly InlineProjection[]): string {
  const types = Object.keys(catalogue.versions);
  const current = (t: string) => catalogue.versions[t]?.version ?? 0;
  const handlersOf = (t: string) => inline.filter((p) => p.handles.some((h) => eventTypeOf(h) === t)).map((p) => p.name);
  const cases = groupTypes(types, (t) => `${current(t)}:${handlersOf(t).join(',')}`)
    .map((g) => {
      const first = g[0] as string;
      const handlers = handlersOf(first);
      const lines = [`    WHEN ${literals(g)} THEN`];
      if (handlers.length === 0) {
        lines.push(`      IF p_version <> ${current(first)} THEN PERFORM s3o_upcast(p_type, p_version, p_data); END IF;`);
      } else {
        lines.push(`      IF p_version <> ${current(first)} THEN p_data := s3o_upcast(p_type, p_version, p_data); END IF;`);
        for (const h of handlers) lines.push(`      PERFORM s3o_proj_${h}(${handlerArgs});`);
      }
      return lines.join('\n');
    })
    .join('\n');
  return `-- Generated from projections/registry.ts (projections/schema/generated-sql.ts): do not edit.
CREATE OR REPLACE FUNCTION s3o_project_inline(
  p_stream text, p_revision bigint, p_type text, p_version int, p_data jsonb, p_meta jsonb, p_enforce boolean
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  CASE p_type
${cases}
    ELSE NULL; -- not a catalogue event: no projection reads it
  END CASE;
END
$$;
`;
}

/**
 * `s3o_group_types()`: the event types an append may apply set-based (every inline projection
 * handling the type's current version lists it in `group`), and `s3o_project_inline_group(type,
 * streams, revisions, data, meta)`, which applies a run of such events, all of that type, in
 * append order, through each handler's `s3o_group_<name>`, in registry order.
 */
export function groupDispatchSql(catalogue: CatalogueView, inline: readonly InlineProjection[]): string {
  const groupable = Object.keys(catalogue.versions).flatMap((t) => {
    const current = `${t}@${catalogue.versions[t]?.version ?? 0}`;
    const handlers = inline.filter((p) => p.handles.some((h) => eventTypeOf(h) === t));
    return handlers.length > 0 && handlers.every((p) => p.group.includes(current as EventVersion))
      ? [{ type: t, handlers: handlers.map((p) => p.name) }]
      : [];
  });
  const cases = groupable
    .map((g) => [`    WHEN ${literal(g.type)} THEN`, ...g.handlers.map((h) => `      PERFORM s3o_group_${h}(${groupArgs});`)].join('\n'))
    .join('\n');
  return `-- Generated from projections/registry.ts (projections/schema/generated-sql.ts): do not edit.
CREATE OR REPLACE FUNCTION s3o_group_types() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY[${literals(groupable.map((g) => g.type))}]::text[]
$$;

-- Replaced by the one that also takes the events' streams.
DROP FUNCTION IF EXISTS s3o_project_inline_group(text, bigint[], jsonb[], jsonb[]);

CREATE OR REPLACE FUNCTION s3o_project_inline_group(
  p_type text, p_streams text[], p_revisions bigint[], p_data jsonb[], p_meta jsonb[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
${cases === '' ? '  RAISE EXCEPTION \'no set-based append for %\', p_type;' : `  CASE p_type
${cases}
    ELSE RAISE EXCEPTION 'no set-based append for %', p_type;
  END CASE;`}
END
$$;
`;
}

/** The replay of one projection over the loaded page: runs of its bulk types set-based, its other events one by one. */
function replayProjectionSql(p: InlineProjection): string {
  const handled = p.handles.map(eventTypeOf);
  const bulk = p.bulk.map(eventTypeOf);
  const single = handled.filter((t) => !bulk.includes(t));
  const call = `PERFORM s3o_proj_${p.name}(r.stream_id, r.revision, r.type, r.data, r.meta, false);`;
  // v_types: the types the page holds, so a projection with none of its types in it costs nothing.
  const lines = [`  IF ${literal(p.name)} = ANY (p_projections) AND v_types && ARRAY[${literals(handled)}] THEN`];
  if (bulk.length === 0) {
    lines.push(
      `    FOR r IN SELECT e.* FROM pg_temp.s3o_replay_events e WHERE e.type IN (${literals(handled)}) ORDER BY e.ord LOOP`,
      `      ${call}`,
      '    END LOOP;',
    );
  } else if (single.length === 0) {
    lines.push(`    PERFORM s3o_bulk_${p.name}(1, applied);`);
  } else {
    // A page without any of its one-by-one types is one run. Otherwise bulk_upto: how many of
    // the page's bulk events come at or before each event, so a run is applied only when it
    // holds any.
    lines.push(
      `    IF NOT v_types && ARRAY[${literals(single)}] THEN`,
      `      PERFORM s3o_bulk_${p.name}(1, applied);`,
      '    ELSE',
      '    v_next := 1;',
      '    v_done := 0;',
      '    FOR r IN SELECT x.* FROM (',
      `               SELECT e.*, count(*) FILTER (WHERE e.type IN (${literals(bulk)})) OVER (ORDER BY e.ord) AS bulk_upto`,
      `                 FROM pg_temp.s3o_replay_events e WHERE e.type IN (${literals(handled)})) x`,
      `              WHERE x.type IN (${literals(single)}) ORDER BY x.ord LOOP`,
      '      IF r.bulk_upto > v_done THEN',
      `        PERFORM s3o_bulk_${p.name}(v_next, r.ord - 1);`,
      '        v_done := r.bulk_upto;',
      '      END IF;',
      `      ${call}`,
      '      v_next := r.ord + 1;',
      '    END LOOP;',
      `    IF EXISTS (SELECT 1 FROM pg_temp.s3o_replay_events e WHERE e.ord >= v_next AND e.type IN (${literals(bulk)})) THEN`,
      `      PERFORM s3o_bulk_${p.name}(v_next, applied);`,
      '    END IF;',
      '    END IF;',
    );
  }
  lines.push('  END IF;');
  return lines.join('\n');
}

/**
 * `s3o_replay_page(projections, after, limit, gap_safe)`: replays the next page of the log after
 * a position through the named inline projections into the tables search_path resolves to
 * (invariants not enforced), and returns how many events it read and the position of the last.
 * With gap_safe it stops below the oldest running transaction. The page is loaded once into
 * `pg_temp.s3o_replay_events` (upcast, with its event time and its order in the page); each
 * projection then applies it on its own (they share no table): its bulk events set-based, a run
 * between two of its other events at a time, and those others through its handler.
 */
export function replaySql(inline: readonly InlineProjection[]): string {
  return `-- Generated from projections/registry.ts (projections/schema/generated-sql.ts): do not edit.
CREATE OR REPLACE FUNCTION s3o_replay_page(
  p_projections text[], p_after_tx xid8, p_after_seq bigint, p_limit int, p_gap_safe boolean
) RETURNS TABLE (applied int, last_tx xid8, last_seq bigint)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_next int;
  v_done bigint;
  v_types text[];
BEGIN
  last_tx := p_after_tx;
  last_seq := p_after_seq;
  -- Emptied at each commit: temporary tables are never vacuumed, pages deleted one after the
  -- other would pile up in it. Within one transaction (a verify's snapshot) the DELETE does it.
  IF to_regclass('pg_temp.s3o_replay_events') IS NULL THEN
    CREATE TEMP TABLE s3o_replay_events (
      ord int PRIMARY KEY, stream_id text, revision bigint, type text, data jsonb, meta jsonb,
      at timestamptz, tx_id xid8, seq bigint
    ) ON COMMIT DELETE ROWS;
  END IF;
  DELETE FROM pg_temp.s3o_replay_events;
  -- Planned per page with its values (EXECUTE). The stream id is kept with the default
  -- collation, as the append passes it: a PL/pgSQL function's variables take the collation of
  -- its arguments, and with the log's "C" the handlers' lookups by id could not use their indexes.
  EXECUTE format(
    'INSERT INTO pg_temp.s3o_replay_events
     SELECT row_number() OVER (ORDER BY e.tx_id, e.seq), e.stream_id COLLATE "default", e.revision, e.type,
            CASE WHEN e.schema_version IS DISTINCT FROM coalesce(s3o_event_current_version(e.type), e.schema_version)
                 THEN s3o_upcast(e.type, e.schema_version, e.data) ELSE e.data END,
            e.metadata, s3o_event_time(e.metadata), e.tx_id, e.seq
       FROM (SELECT * FROM public.events e
              WHERE (e.tx_id, e.seq) > ($1, $2) %s
              ORDER BY e.tx_id, e.seq
              LIMIT %s) e',
    CASE WHEN p_gap_safe THEN 'AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())' ELSE '' END,
    p_limit)
    USING p_after_tx, p_after_seq;
  GET DIAGNOSTICS applied = ROW_COUNT;
  IF applied = 0 THEN
    RETURN NEXT;
    RETURN;
  END IF;
  SELECT e.tx_id, e.seq INTO last_tx, last_seq FROM pg_temp.s3o_replay_events e WHERE e.ord = applied;
  SELECT array_agg(DISTINCT e.type) INTO v_types FROM pg_temp.s3o_replay_events e;
  PERFORM s3o_usage_replay_begin();
${inline.map(replayProjectionSql).join('\n')}
  PERFORM s3o_usage_replay_end();
  RETURN NEXT;
END
$$;
`;
}

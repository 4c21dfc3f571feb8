import type { InlineProjection } from '../inline/inline-projection.js';
import { eventTypeOf } from '../projection.js';
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
 * `s3o_project_inline`, called by `s3o_append` for every event: brings the event to its current
 * version (or refuses it), then calls the handler of each inline projection that handles it, in
 * registry order.
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
 * `s3o_replay_page(projections, after, limit, gap_safe)`: replays the next page of the log after
 * a position through the named inline projections into the tables search_path resolves to, event
 * by event through their handlers (invariants not enforced), and returns how many events it read
 * and the position of the last. With gap_safe it stops below the oldest running transaction.
 */
export function replaySql(catalogue: CatalogueView, inline: readonly InlineProjection[]): string {
  const types = Object.keys(catalogue.versions);
  const handlersOf = (t: string) => inline.filter((p) => p.handles.some((h) => eventTypeOf(h) === t)).map((p) => p.name);
  const cases = groupTypes(types, (t) => handlersOf(t).join(','))
    .filter((g) => handlersOf(g[0] as string).length > 0)
    .map((g) =>
      [
        `      WHEN ${literals(g)} THEN`,
        ...handlersOf(g[0] as string).map(
          (h) => `        IF ${literal(h)} = ANY (p_projections) THEN PERFORM s3o_proj_${h}(r.stream_id, r.revision, r.type, v_data, r.metadata, false); END IF;`,
        ),
      ].join('\n'),
    )
    .join('\n');
  return `-- Generated from projections/registry.ts (projections/schema/generated-sql.ts): do not edit.
CREATE OR REPLACE FUNCTION s3o_replay_page(
  p_projections text[], p_after_tx xid8, p_after_seq bigint, p_limit int, p_gap_safe boolean
) RETURNS TABLE (applied int, last_tx xid8, last_seq bigint)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  n int := 0;
  v_data jsonb;
BEGIN
  last_tx := p_after_tx;
  last_seq := p_after_seq;
  PERFORM s3o_usage_replay_begin();
  -- Planned per page with its values (EXECUTE). The stream id is passed with the default
  -- collation, as the append passes it: a PL/pgSQL function's variables take the collation of
  -- its arguments, and with the log's "C" the handlers' lookups by id could not use their indexes.
  FOR r IN EXECUTE format(
    'SELECT e.stream_id COLLATE "default" AS stream_id, e.revision, e.type, e.schema_version, e.data, e.metadata, e.tx_id, e.seq
       FROM public.events e
      WHERE (e.tx_id, e.seq) > ($1, $2) %s
      ORDER BY e.tx_id, e.seq
      LIMIT %s',
    CASE WHEN p_gap_safe THEN 'AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())' ELSE '' END,
    p_limit)
    USING p_after_tx, p_after_seq
  LOOP
    v_data := r.data;
    IF r.schema_version IS DISTINCT FROM coalesce(s3o_event_current_version(r.type), r.schema_version) THEN
      v_data := s3o_upcast(r.type, r.schema_version, r.data);
    END IF;
    CASE r.type
${cases}
      ELSE NULL;
    END CASE;
    n := n + 1;
    last_tx := r.tx_id;
    last_seq := r.seq;
  END LOOP;
  PERFORM s3o_usage_replay_end();
  applied := n;
  RETURN NEXT;
END
$$;
`;
}

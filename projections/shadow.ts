import type pg from 'pg';

/** Quotes an identifier we built ourselves (schema and table names from the registry). */
const ident = (s: string): string => `"${s.replaceAll('"', '""')}"`;

/**
 * Creates empty copies of `tables` (columns, defaults, constraints, indexes) in `schema`. The
 * copies are unlogged: a replay fills them at WAL's cost otherwise, every row logged and most
 * pages logged whole after each checkpoint. Indexes that back no constraint and are not unique
 * are left out, to be built in one sorted pass once the bulk of the log is in
 * (`completeShadowTables`): kept up row by row, they were the largest cost of a replay, whose
 * statements look rows up by unique keys only.
 */
export async function createShadowTables(db: pg.ClientBase, schema: string, tables: readonly string[]): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
  await db.query(`CREATE SCHEMA ${ident(schema)}`);
  for (const t of tables) {
    await db.query(`CREATE UNLOGGED TABLE ${ident(schema)}.${ident(t)} (LIKE public.${ident(t)} INCLUDING ALL)`);
    for (const i of await indexesOf(db, schema, t)) {
      if (i.deferrable) await db.query(`DROP INDEX ${ident(schema)}.${ident(i.name)}`);
    }
    // LIKE does not copy storage parameters (fillfactor, autovacuum settings): a swap must keep them.
    const opts = await db.query<{ reloptions: string[] | null }>(
      `SELECT c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname = $1`,
      [t],
    );
    const reloptions = opts.rows[0]?.reloptions;
    if (reloptions?.length) await db.query(`ALTER TABLE ${ident(schema)}.${ident(t)} SET (${reloptions.join(', ')})`);
  }
}

/**
 * Makes the shadow tables what the live ones are, once the bulk of a rebuild's replay is in:
 * logged (written to WAL once, page by page) and with the indexes `createShadowTables` left
 * out, each built in one pass.
 */
export async function completeShadowTables(db: pg.ClientBase, schema: string, tables: readonly string[]): Promise<void> {
  for (const t of tables) {
    await db.query(`ALTER TABLE ${ident(schema)}.${ident(t)} SET LOGGED`);
    const have = new Set((await indexesOf(db, schema, t)).map((i) => i.body));
    for (const live of await indexesOf(db, 'public', t)) {
      if (!have.has(live.body)) await db.query(`CREATE INDEX ON ${ident(schema)}.${ident(t)}${live.body}`);
    }
  }
}

export async function dropShadowSchema(db: pg.ClientBase, schema: string): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
}

interface IndexRow {
  name: string;
  /** Neither unique nor backing a constraint: a replay does without it until the end. */
  deferrable: boolean;
  /** Its definition after `ON <table>`. */
  body: string;
}

async function indexesOf(db: pg.ClientBase, schema: string, table: string): Promise<IndexRow[]> {
  const res = await db.query<IndexRow>(
    `SELECT i.relname AS name,
            NOT x.indisunique AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid) AS deferrable,
            regexp_replace(pg_get_indexdef(i.oid), '^CREATE (UNIQUE )?INDEX \\S+ ON \\S+', '') AS body
       FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = $1 AND t.relname = $2`,
    [schema, table],
  );
  return res.rows;
}

/**
 * Replaces the live tables with the shadow ones inside the caller's transaction, keeping the
 * live index names so later migrations can still refer to them.
 */
export async function swapInShadowTables(db: pg.ClientBase, schema: string, tables: readonly string[]): Promise<void> {
  for (const t of tables) {
    const liveIndexes = await indexesOf(db, 'public', t);
    const shadowIndexes = await indexesOf(db, schema, t);
    await db.query(`DROP TABLE public.${ident(t)}`);
    await db.query(`ALTER TABLE ${ident(schema)}.${ident(t)} SET SCHEMA public`);
    for (const live of liveIndexes) {
      const twin = shadowIndexes.find((s) => s.body === live.body);
      if (twin && twin.name !== live.name) {
        await db.query(`ALTER INDEX public.${ident(twin.name)} RENAME TO ${ident(live.name)}`);
      }
    }
  }
}

export interface TableDiff {
  table: string;
  onlyInLive: number;
  onlyInRebuilt: number;
  samples: { side: 'live' | 'rebuilt'; row: Record<string, unknown> }[];
}

/**
 * Compares live and shadow tables row by row (as multisets), each table in one pass: the rows of
 * both, counted +1 (live) and -1 (rebuilt), grouped by every column; what does not sum to zero
 * differs. Samples are looked for only when something differs.
 */
export async function diffTables(db: pg.ClientBase, schema: string, tables: readonly string[]): Promise<TableDiff[]> {
  const out: TableDiff[] = [];
  for (const t of tables) {
    const columns = await db.query<{ name: string }>(
      `SELECT a.attname AS name FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [`public.${ident(t)}`],
    );
    const cols = columns.rows.map((c) => ident(c.name)).join(', ');
    const differing = `SELECT ${cols}, sum(s3o_side) AS s3o_count
                         FROM (SELECT ${cols}, 1 AS s3o_side FROM public.${ident(t)}
                               UNION ALL SELECT ${cols}, -1 FROM ${ident(schema)}.${ident(t)}) u
                        GROUP BY ${cols} HAVING sum(s3o_side) <> 0`;
    const counts = await db.query<{ only_live: string; only_rebuilt: string }>(
      `SELECT coalesce(sum(s3o_count) FILTER (WHERE s3o_count > 0), 0) AS only_live,
              coalesce(-sum(s3o_count) FILTER (WHERE s3o_count < 0), 0) AS only_rebuilt FROM (${differing}) d`,
    );
    const row = counts.rows[0];
    const diff: TableDiff = { table: t, onlyInLive: Number(row?.only_live ?? 0), onlyInRebuilt: Number(row?.only_rebuilt ?? 0), samples: [] };
    if (diff.onlyInLive + diff.onlyInRebuilt > 0) {
      const s = await db.query<Record<string, unknown>>(
        `(SELECT * FROM (${differing}) d WHERE s3o_count > 0 LIMIT 3) UNION ALL (SELECT * FROM (${differing}) d WHERE s3o_count < 0 LIMIT 3)`,
      );
      for (const { s3o_count: n, ...r } of s.rows) diff.samples.push({ side: Number(n) > 0 ? 'live' : 'rebuilt', row: r });
    }
    out.push(diff);
  }
  return out;
}

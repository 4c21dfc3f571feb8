import pg from 'pg';
import { adminQuery, databaseServer, startGateway, type GatewayInstance, type KeptDatabase } from './gateway.js';
import { sendAll } from './load.js';
import { smallBody } from './pattern.js';
import { BENCH_BUCKET, BenchSigner } from './signing.js';

/**
 * The `gateway-1m` target: the gateway on a database that already records 1,000,000 objects, to
 * show that the hot path does not slow down as the log and the projections grow.
 *
 * The database is prepared once on the local PostgreSQL and kept between runs (it is not
 * dropped; `DROP DATABASE s3o_bench_1m_v1` makes the next run prepare it again). Preparing it:
 * the gateway writes one 4 KiB object, `million/template`, through the real PUT path; then, in
 * one transaction, the same rows are copied 999,999 times with only the key, the write id and
 * the event id changed — the event (`events`), its stream (`streams`), the locations rows
 * (`objects`, `object_copies`) — and the counters the copies add to are raised by as much
 * (`backend_usage`, `bucket_stats`), with the async projections' checkpoints moved past the
 * copied events (they are already counted). Row for row this is what 999,999 more PUTs of new
 * keys would have left (`s3o projections verify` on that database says so); it takes about a
 * minute instead of the hours a million real PUTs would on a busy 2-core machine.
 */

export const MILLION_DATABASE = 's3o_bench_1m_v1';
const OBJECTS = 1_000_000;
const TEMPLATE_KEY = 'million/template';

async function withClient<T>(url: string, use: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

async function prepared(url: string): Promise<boolean> {
  return withClient(url, async (c) => {
    const marker = await c.query<{ t: string | null }>("SELECT to_regclass('bench_million')::text AS t");
    if (marker.rows[0]?.t == null) return false;
    const row = await c.query<{ objects: number }>('SELECT objects FROM bench_million');
    return row.rows[0]?.objects === OBJECTS;
  });
}

/** The copies of the template's rows; `n` runs over 1 … OBJECTS − 1. */
const COPY_SQL = `
CREATE TEMP TABLE copy_ids AS
  SELECT n, 'million/' || lpad(n::text, 7, '0') AS key,
         left(t.write_id, 19) || lpad(n::text, 7, '0') AS write_id
    FROM generate_series(1, ${OBJECTS - 1}) AS n, (SELECT write_id FROM objects WHERE bucket = $1 AND key = $2) AS t;
INSERT INTO streams (stream_id, category, revision)
  SELECT 'object-' || $1 || '/' || i.key, 'object', 0 FROM copy_ids i;
INSERT INTO events (stream_id, revision, event_id, type, schema_version, data, metadata)
  SELECT 'object-' || $1 || '/' || i.key, 0, gen_random_uuid(), e.type, e.schema_version,
         replace(replace(e.data::text, $2, i.key), o.write_id, i.write_id)::jsonb, e.metadata
    FROM copy_ids i, events e, objects o
   WHERE e.stream_id = 'object-' || $1 || '/' || $2 AND o.bucket = $1 AND o.key = $2
   ORDER BY i.n;
INSERT INTO objects
  SELECT (jsonb_populate_record(NULL::objects, to_jsonb(o) || jsonb_build_object('key', i.key, 'write_id', i.write_id))).*
    FROM copy_ids i, objects o WHERE o.bucket = $1 AND o.key = $2;
INSERT INTO object_copies
  SELECT (jsonb_populate_record(NULL::object_copies, to_jsonb(c) || jsonb_build_object(
           'key', i.key, 'write_id', i.write_id, 'storage_key', replace(replace(c.storage_key, $2, i.key), c.write_id, i.write_id)))).*
    FROM copy_ids i, object_copies c WHERE c.bucket = $1 AND c.key = $2;
UPDATE backend_usage u SET bytes_used = u.bytes_used + c.size * ${OBJECTS - 1}, object_count = u.object_count + ${OBJECTS - 1}
  FROM object_copies c WHERE c.bucket = $1 AND c.key = $2 AND c.backend = u.backend;
UPDATE bucket_stats s SET object_count = s.object_count + ${OBJECTS - 1}, total_bytes = s.total_bytes + o.size * ${OBJECTS - 1}
  FROM objects o WHERE o.bucket = $1 AND o.key = $2 AND s.bucket = $1;
UPDATE projection_checkpoints SET tx_id = pg_current_xact_id(), seq = (SELECT max(seq) FROM events);
CREATE TABLE bench_million (objects int NOT NULL, prepared_at timestamptz NOT NULL DEFAULT now());
INSERT INTO bench_million (objects) VALUES (${OBJECTS});
`;

/** Runs the template PUT through a gateway on the new database and waits until bucket_stats counted it. */
async function writeTemplate(upstream: string, kept: KeptDatabase, url: string): Promise<void> {
  const gateway = await startGateway(upstream, kept, 'gateway-1m');
  try {
    const signer = new BenchSigner(gateway.origin);
    const [put] = await signer.signAll('PUT', [TEMPLATE_KEY], 4096);
    if (!put) throw new Error('no signed template PUT');
    await sendAll(gateway.origin, [{ ...put, body: smallBody(0, 4096) }]);
    for (let i = 0; ; i++) {
      const counted = await withClient(url, (c) => c.query('SELECT 1 FROM bucket_stats WHERE bucket = $1 AND object_count = 1', [BENCH_BUCKET]));
      if (counted.rowCount === 1) break;
      if (i > 300) throw new Error('bucket_stats did not count the template object within 60 s');
      await new Promise((done) => setTimeout(done, 200));
    }
  } finally {
    await gateway.stop();
  }
}

/** The gateway on the 1M-object database, prepared first if this server does not have it yet. */
export async function startMillionGateway(upstream: string, log: (line: string) => void): Promise<GatewayInstance> {
  const server = await databaseServer();
  if (server.kind.startsWith('embedded')) {
    await server.stop();
    throw new Error('needs a PostgreSQL server that outlives the run (127.0.0.1:5432 or S3O_BENCH_PG_URL) to keep the 1M-object database');
  }
  const kept: KeptDatabase = { server, name: MILLION_DATABASE };
  const url = server.adminUrl.replace(/\/[^/]*$/, `/${MILLION_DATABASE}`);
  const exists = await withClient(server.adminUrl, (c) => c.query('SELECT 1 FROM pg_database WHERE datname = $1', [MILLION_DATABASE]));
  if (exists.rowCount === 1 && (await prepared(url))) return startGateway(upstream, kept, 'gateway-1m');

  log(`gateway-1m: preparing ${MILLION_DATABASE} with ${OBJECTS.toLocaleString('en-US')} objects (once; kept for later runs)…`);
  const started = Date.now();
  await adminQuery(server.adminUrl, `DROP DATABASE IF EXISTS ${MILLION_DATABASE} WITH (FORCE)`);
  await adminQuery(server.adminUrl, `CREATE DATABASE ${MILLION_DATABASE}`);
  await writeTemplate(upstream, kept, url);
  await withClient(url, async (c) => {
    await c.query('BEGIN');
    // Both names are this file's constants (plain letters): inlined, as CREATE TABLE AS takes no parameters.
    await c.query(COPY_SQL.replaceAll('$1', `'${BENCH_BUCKET}'`).replaceAll('$2', `'${TEMPLATE_KEY}'`));
    await c.query('COMMIT');
    await c.query('VACUUM ANALYZE');
  });
  log(`gateway-1m: prepared in ${Math.round((Date.now() - started) / 1000)} s`);
  return startGateway(upstream, kept, 'gateway-1m');
}

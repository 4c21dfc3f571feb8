import type pg from 'pg';
import {
  ConcurrencyError,
  IdempotencyConflictError,
  InvariantViolationError,
  UnknownEventVersionError,
} from '../../domain/eventstore/errors.js';
import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  Position,
  ReadAllFilter,
  ReadAllResult,
  ReadStreamOptions,
  ReadStreamResult,
  RecordedEvent,
  StreamAppend,
} from '../../domain/eventstore/port.js';
import { asStoreError } from '../db/pool.js';
import { decodePosition, encodePosition } from './positions.js';

/** Deadlocks and serialization failures are retried: appends are idempotent by event id. */
const retryableCodes = new Set(['40P01', '40001']);
const maxAttempts = 5;
/** Events per statement of an uncapped stream read (default). */
const defaultReadPageSize = 10_000;
const maxRevision = 2n ** 63n - 1n;

interface EventRow {
  seq: string;
  tx_id: string;
  stream_id: string;
  revision: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: NewEvent['metadata'];
  recorded_at: Date;
}

const eventColumns = 'seq, tx_id, stream_id, revision, event_id, type, schema_version, data, metadata, recorded_at';

function toRecorded(r: EventRow): RecordedEvent {
  return {
    id: r.event_id,
    streamId: r.stream_id,
    revision: BigInt(r.revision),
    type: r.type,
    schemaVersion: r.schema_version,
    data: r.data,
    metadata: r.metadata,
    position: encodePosition(r.tx_id, r.seq),
    recordedAt: r.recorded_at.toISOString(),
  };
}

function expectedToText(e: ExpectedRevision): string {
  return typeof e === 'bigint' ? e.toString() : e;
}

function mapAppendError(err: unknown): unknown {
  const e = err as { code?: string; detail?: string; message?: string };
  if (e.code === 'S3O01' && e.detail) {
    const d = JSON.parse(e.detail) as { stream: string; expected: string; actual: string };
    const expected: ExpectedRevision = /^\d+$/.test(d.expected) ? BigInt(d.expected) : (d.expected as ExpectedRevision);
    return new ConcurrencyError(d.stream, expected, d.actual === 'no_stream' ? 'no_stream' : BigInt(d.actual));
  }
  if (e.code === 'S3O02' && e.detail) {
    return new IdempotencyConflictError((JSON.parse(e.detail) as { stream: string }).stream);
  }
  if (e.code === 'S3O03' && e.detail) {
    const d = JSON.parse(e.detail) as { type: string; version: number };
    return new UnknownEventVersionError(d.type, d.version, e.message ?? 'unknown event version');
  }
  if (e.code?.startsWith('S3Q') && e.detail) {
    return new InvariantViolationError(e.message ?? 'invariant', JSON.parse(e.detail) as Record<string, unknown>);
  }
  return asStoreError(err);
}

/** Anything that runs queries: the pool, or a client inside a transaction. */
export type Queryable = pg.Pool | pg.PoolClient | pg.ClientBase;

/** Builds the parameters of one `s3o_append` call. */
export function appendParams(appends: readonly StreamAppend[]): unknown[] {
  const streams: string[] = [];
  const expected: string[] = [];
  const counts: number[] = [];
  const ids: string[] = [];
  const types: string[] = [];
  const versions: number[] = [];
  const data: string[] = [];
  const meta: string[] = [];
  for (const a of appends) {
    if (a.events.length === 0) throw new Error(`empty append to ${a.streamId}`);
    streams.push(a.streamId);
    expected.push(expectedToText(a.expected));
    counts.push(a.events.length);
    for (const ev of a.events) {
      ids.push(ev.id);
      types.push(ev.type);
      versions.push(ev.schemaVersion);
      data.push(JSON.stringify(ev.data));
      meta.push(JSON.stringify(ev.metadata));
    }
  }
  return [streams, expected, counts, ids, types, versions, data, meta];
}

export const appendSql =
  'SELECT stream_id, next_revision, tx_id, last_seq, already_appended FROM s3o_append($1::text[], $2::text[], $3::int[], $4::uuid[], $5::text[], $6::int[], $7::jsonb[], $8::jsonb[])';

interface AppendRow { stream_id: string; next_revision: string; tx_id: string; last_seq: string; already_appended: boolean }

/** Runs one append (with its inline projections) as a single statement on `db`. */
export async function appendWith(db: Queryable, appends: readonly StreamAppend[]): Promise<AppendResult[]> {
  let rows: AppendRow[];
  try {
    // A named statement is parsed and planned once per connection: this runs for every write.
    rows = (await db.query<AppendRow>({ name: 's3o-append', text: appendSql, values: appendParams(appends) })).rows;
  } catch (err) {
    throw mapAppendError(err);
  }
  return rows.map((r) => ({
    streamId: r.stream_id,
    nextRevision: BigInt(r.next_revision),
    position: encodePosition(r.tx_id, r.last_seq),
    alreadyAppended: r.already_appended,
  }));
}

export class PostgresEventStore implements EventStore {
  /** Called after every committed append with what was appended (to wake projection runners, count, audit). Must not throw. */
  onAppended: ((results: readonly AppendResult[], appends: readonly StreamAppend[]) => void) | undefined;

  private readonly readPageSize: number;

  constructor(private readonly pool: pg.Pool, opts: { readPageSize?: number } = {}) {
    this.readPageSize = opts.readPageSize ?? defaultReadPageSize;
  }

  async appendToStream(streamId: string, events: readonly NewEvent[], opts: { expected: ExpectedRevision }): Promise<AppendResult> {
    const [result] = await this.appendToStreams([{ streamId, events, expected: opts.expected }]);
    if (!result) throw new Error('append returned no result');
    return result;
  }

  async appendToStreams(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const results = await appendWith(this.pool, appends);
        this.onAppended?.(results, appends);
        return results;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt < maxAttempts && code && retryableCodes.has(code)) continue;
        throw err;
      }
    }
  }

  async readStream(streamId: string, opts: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    const backwards = opts.direction === 'backwards';
    if (opts.maxCount !== undefined) return this.readStreamPage(streamId, opts.fromRevision, opts.maxCount, backwards);
    // Uncapped: page by page until a short page, each page one consistent statement.
    const events: RecordedEvent[] = [];
    let from = opts.fromRevision;
    for (;;) {
      const page = await this.readStreamPage(streamId, from, this.readPageSize, backwards);
      events.push(...page.events);
      const last = page.events[page.events.length - 1];
      if (!last || page.events.length < this.readPageSize || (backwards && last.revision === 0n)) return { revision: page.revision, events };
      from = backwards ? last.revision - 1n : last.revision + 1n;
    }
  }

  private async readStreamPage(streamId: string, fromRevision: bigint | undefined, limit: number, backwards: boolean): Promise<ReadStreamResult> {
    const from = fromRevision ?? (backwards ? maxRevision : 0n);
    try {
      const res = await this.pool.query<EventRow & { stream_revision: string }>(
        `SELECT s.revision AS stream_revision, e.* FROM streams s
           LEFT JOIN LATERAL (SELECT ${eventColumns} FROM events
                               WHERE stream_id = s.stream_id AND revision ${backwards ? '<=' : '>='} $2::bigint
                               ORDER BY revision ${backwards ? 'DESC' : 'ASC'} LIMIT $3) e ON true
          WHERE s.stream_id = $1`,
        [streamId, from.toString(), limit],
      );
      const first = res.rows[0];
      if (!first) return { revision: 'no_stream', events: [] };
      return {
        revision: BigInt(first.stream_revision),
        events: res.rows.filter((r) => r.event_id !== null).map(toRecorded),
      };
    } catch (err) {
      throw asStoreError(err);
    }
  }

  async readAll(opts: { after?: Position; limit: number; filter?: ReadAllFilter }): Promise<ReadAllResult> {
    return readAllWith(this.pool, opts);
  }

  async headPosition(): Promise<Position | undefined> {
    try {
      const res = await this.pool.query<{ tx_id: string; seq: string }>(
        'SELECT tx_id, seq FROM events ORDER BY tx_id DESC, seq DESC LIMIT 1',
      );
      const r = res.rows[0];
      return r ? encodePosition(r.tx_id, r.seq) : undefined;
    } catch (err) {
      throw asStoreError(err);
    }
  }
}

/**
 * Gap-safe global read: only events of transactions older than the oldest running one
 * (pg_snapshot_xmin) are returned, in (tx_id, seq) order, so a reader that remembers its last
 * position can never skip an event whose transaction commits after a later one.
 */
export async function readAllWith(
  db: Queryable,
  opts: { after?: Position; limit: number; filter?: ReadAllFilter },
): Promise<ReadAllResult> {
  const { txId, seq } = decodePosition(opts.after);
  const params: unknown[] = [txId, seq, opts.limit];
  let where = '';
  if (opts.filter?.types?.length) {
    params.push(opts.filter.types);
    where += ` AND type = ANY($${params.length}::text[])`;
  }
  if (opts.filter?.streamPrefixes?.length) {
    params.push(opts.filter.streamPrefixes.map((p) => `${p.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
    where += ` AND stream_id LIKE ANY($${params.length}::text[])`;
  }
  try {
    const res = await db.query<EventRow>(
      `SELECT ${eventColumns} FROM events
        WHERE (tx_id, seq) > ($1::xid8, $2::bigint)
          AND tx_id < pg_snapshot_xmin(pg_current_snapshot())${where}
        ORDER BY tx_id, seq LIMIT $3`,
      params,
    );
    const events = res.rows.map(toRecorded);
    const lastEvent = events[events.length - 1];
    return { events, last: lastEvent?.position ?? opts.after, caughtUp: events.length < opts.limit };
  } catch (err) {
    throw asStoreError(err);
  }
}

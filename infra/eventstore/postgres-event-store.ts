import type pg from 'pg';
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
import { appendWith, type Queryable } from './append-statement.js';
import { GroupCommit } from './group-commit.js';
import { decodePosition, encodePosition } from './positions.js';

export { appendParams, appendSql, appendWith, type Queryable } from './append-statement.js';

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

export class PostgresEventStore implements EventStore {
  /** Called after every committed append with what was appended (to wake projection runners, count, audit). Must not throw. */
  onAppended: ((results: readonly AppendResult[], appends: readonly StreamAppend[]) => void) | undefined;

  /** Called when an append failed (refused, or its outcome unknown) before the error reaches the caller. Must not throw. */
  onAppendFailed: ((appends: readonly StreamAppend[], err: unknown) => void) | undefined;

  private readonly readPageSize: number;
  private readonly groupCommit: GroupCommit;

  constructor(private readonly pool: pg.Pool, opts: { readPageSize?: number } = {}) {
    this.readPageSize = opts.readPageSize ?? defaultReadPageSize;
    this.groupCommit = new GroupCommit(pool, (appends) => this.appendAlone(appends));
  }

  async appendToStream(streamId: string, events: readonly NewEvent[], opts: { expected: ExpectedRevision }): Promise<AppendResult> {
    const [result] = await this.appendToStreams([{ streamId, events, expected: opts.expected }]);
    if (!result) throw new Error('append returned no result');
    return result;
  }

  /** Concurrent calls are committed together (group commit); each gets its own outcome. */
  async appendToStreams(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    let results: AppendResult[];
    try {
      results = await this.groupCommit.append(appends);
    } catch (err) {
      this.onAppendFailed?.(appends, err);
      throw err;
    }
    this.onAppended?.(results, appends);
    return results;
  }

  private async appendAlone(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await appendWith(this.pool, appends);
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

/** Events of the global order a filtered read looks at per statement. */
const filterWindow = 50_000;

/**
 * Gap-safe global read: only events of transactions older than the oldest running one
 * (pg_snapshot_xmin) are returned, in (tx_id, seq) order, so a reader that remembers its last
 * position can never skip an event whose transaction commits after a later one.
 *
 * A filtered read looks at the log a window at a time: the next `filterWindow` events by the
 * global order (`events_global_order`), then the matching ones among them. Without the window, a
 * planner short of statistics (a table just filled) sorts every later event of the wanted types
 * for each page, which makes a replay quadratic in the log.
 */
export async function readAllWith(
  db: Queryable,
  opts: { after?: Position; limit: number; filter?: ReadAllFilter },
): Promise<ReadAllResult> {
  const filters: unknown[] = [];
  let where = '';
  if (opts.filter?.types?.length) {
    filters.push(opts.filter.types);
    where += ` AND type = ANY($${filters.length + 5}::text[])`;
  }
  if (opts.filter?.streamPrefixes?.length) {
    filters.push(opts.filter.streamPrefixes.map((p) => `${p.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
    where += ` AND stream_id LIKE ANY($${filters.length + 5}::text[])`;
  }
  try {
    const events: RecordedEvent[] = [];
    let after = decodePosition(opts.after);
    for (;;) {
      const bound = where ? await windowEnd(db, after, Math.max(filterWindow, opts.limit)) : undefined;
      const res = await db.query<EventRow>(
        `SELECT ${eventColumns} FROM events
          WHERE (tx_id, seq) > ($1::xid8, $2::bigint) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
            AND ($4::xid8 IS NULL OR (tx_id, seq) <= ($4::xid8, $5::bigint))${where}
          ORDER BY tx_id, seq LIMIT $3`,
        [after.txId, after.seq, opts.limit - events.length, bound?.txId ?? null, bound?.seq ?? null, ...filters],
      );
      events.push(...res.rows.map(toRecorded));
      if (!bound || events.length >= opts.limit) break;
      after = bound;
    }
    const lastEvent = events[events.length - 1];
    return { events, last: lastEvent?.position ?? opts.after, caughtUp: events.length < opts.limit };
  } catch (err) {
    throw asStoreError(err);
  }
}

/** The position `size` events after `after` (gap-safe), or undefined when the log ends before. */
async function windowEnd(db: Queryable, after: { txId: string; seq: string }, size: number): Promise<{ txId: string; seq: string } | undefined> {
  const res = await db.query<{ tx_id: string; seq: string }>(
    `SELECT tx_id, seq FROM events
      WHERE (tx_id, seq) > ($1::xid8, $2::bigint) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY tx_id, seq OFFSET $3 LIMIT 1`,
    [after.txId, after.seq, size - 1],
  );
  const row = res.rows[0];
  return row ? { txId: row.tx_id, seq: row.seq } : undefined;
}

import type pg from 'pg';
import {
  ConcurrencyError,
  IdempotencyConflictError,
  InvariantViolationError,
  UnknownEventVersionError,
} from '../../domain/eventstore/errors.js';
import type { AppendResult, ExpectedRevision, StreamAppend } from '../../domain/eventstore/port.js';
import { asStoreError } from '../db/pool.js';
import { encodePosition } from './positions.js';

/** The one statement that appends (`s3o_append`), its parameters and its errors. */

function expectedToText(e: ExpectedRevision): string {
  return typeof e === 'bigint' ? e.toString() : e;
}

export function mapAppendError(err: unknown): unknown {
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

const jsonbOid = 3802;

/**
 * Event data and metadata as one `jsonb[]` parameter in PostgreSQL's binary array format (a
 * Buffer is sent as a binary parameter): each element is its JSON text behind jsonb's version
 * byte. As a text array literal every element had its quotes and backslashes escaped by the
 * driver and unescaped again by array_in, about 3 µs per event on each side.
 */
function jsonbArray(texts: readonly string[]): Buffer {
  const lengths = texts.map((t) => Buffer.byteLength(t));
  const out = Buffer.allocUnsafe(20 + lengths.reduce((n, l) => n + 5 + l, 0));
  out.writeInt32BE(1, 0); // dimensions
  out.writeInt32BE(0, 4); // no nulls
  out.writeInt32BE(jsonbOid, 8);
  out.writeInt32BE(texts.length, 12);
  out.writeInt32BE(1, 16); // lower bound
  let at = 20;
  texts.forEach((t, i) => {
    out.writeInt32BE((lengths[i] as number) + 1, at);
    out[at + 4] = 1; // jsonb version
    at += 5 + out.write(t, at + 5, 'utf8');
  });
  return out;
}

function jsonText(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new Error('event data and metadata must be JSON values');
  return text;
}

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
      data.push(jsonText(ev.data));
      meta.push(jsonText(ev.metadata));
    }
  }
  return [streams, expected, counts, ids, types, versions, jsonbArray(data), jsonbArray(meta)];
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


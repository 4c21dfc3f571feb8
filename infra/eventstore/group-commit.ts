import type { AppendResult, StreamAppend } from '../../domain/eventstore/port.js';
import { endFailed, outsideRequests, SpanKind, startChildSpan, type Span } from '../telemetry/spans.js';
import { appendParams, mapAppendError, type Queryable } from './append-statement.js';
import { encodePosition } from './positions.js';

/**
 * Group commit: appends that arrive while one is being committed wait, then go together as one
 * `s3o_append_group` statement — one transaction, one WAL flush — instead of queueing one by one
 * behind the row locks the inline projections take (every write updates its backend's usage
 * row, so without grouping concurrent PUTs commit strictly one flush after another).
 *
 * Each append keeps its own outcome: the SQL runs every append in its own subtransaction, so a
 * refused expected revision or quota fails that append alone. An append that meets any other
 * error inside a group, or every append of a group whose statement failed as a whole (lost
 * connection, …), is sent again alone through the ordinary one-append path and its retries;
 * appends are idempotent by event id, so a group that did commit answers that retry as
 * `alreadyAppended`. A lone append goes straight to `s3o_append`: no latency is added when
 * nothing else is waiting.
 *
 * After a commit, the next group waits a few event-loop turns to fill (see `fillTurns`): the fixed
 * cost of a statement (~320 µs of PostgreSQL CPU) is that of ~9 appends in a group (~36 µs each),
 * and under a steady load the group taken at once after a commit was often one or two
 * appends, the next writers' backend answers arriving a turn or two later (4 KiB PUTs, 16 clients:
 * 24 % of the statements were lone appends, 6.0 appends per statement; 12 % and 7.3 waiting four
 * turns). Two turns keep that PUT throughput; four cost a drain, whose moves append one after
 * another in a busy process where a turn is long, about a tenth of its objects per second.
 *
 * Tracing: each append has its own `PostgreSQL append` span in its own request's trace, from
 * queueing to outcome; the statements run outside any request's context, since whichever request
 * happens to start a commit runs it for others too.
 */

/** Appends per group statement; more wait for the next one. */
const maxGroupSize = 64;
/**
 * After a commit, the next group is taken once this many appends wait, or after `fillTurns`
 * event-loop turns, whichever comes first. Each turn handles the I/O that arrived meanwhile
 * (backend answers whose writers append next); with nothing arriving a turn costs microseconds.
 * An append made while nothing commits still goes at once.
 */
const groupFill = 8;
const fillTurns = 2;
/** Error codes `s3o_append` raises on purpose: the outcome of that append, never retried alone. */
const isAppendVerdict = (code: string): boolean => code.startsWith('S3O') || code.startsWith('S3Q');

interface Waiting {
  appends: readonly StreamAppend[];
  resolve(results: AppendResult[]): void;
  reject(err: unknown): void;
}

const appendSpanAttributes = { 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT' };

interface GroupRow {
  grp: number;
  stream_id: string | null;
  next_revision: string | null;
  tx_id: string | null;
  last_seq: string | null;
  already_appended: boolean | null;
  err_code: string | null;
  err_message: string | null;
  err_detail: string | null;
}

const groupSql =
  'SELECT grp, stream_id, next_revision, tx_id, last_seq, already_appended, err_code, err_message, err_detail ' +
  'FROM s3o_append_group($1::int[], $2::text[], $3::text[], $4::int[], $5::uuid[], $6::text[], $7::int[], $8::jsonb[], $9::jsonb[])';

export class GroupCommit {
  private readonly waiting: Waiting[] = [];
  private committing = false;

  /** `appendAlone` appends one request by itself (with its own retries). */
  constructor(
    private readonly db: Queryable,
    private readonly appendAlone: (appends: readonly StreamAppend[]) => Promise<AppendResult[]>,
  ) {}

  append(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    const span = startChildSpan('PostgreSQL append', SpanKind.CLIENT, appendSpanAttributes);
    const outcome = new Promise<AppendResult[]>((resolve, reject) => {
      this.waiting.push({ appends, resolve, reject });
      if (!this.committing) outsideRequests(() => this.commitNext(fillTurns));
    });
    return span === undefined ? outcome : traced(outcome, span);
  }

  /** `turns`: event-loop turns the group has waited to fill. */
  private commitNext(turns: number): void {
    if (this.waiting.length < groupFill && turns < fillTurns) {
      setImmediate(() => this.commitNext(turns + 1));
      return;
    }
    const group = this.waiting.splice(0, maxGroupSize);
    if (group.length === 0) {
      this.committing = false;
      return;
    }
    this.committing = true;
    const done = group.length === 1 ? this.commitAlone(group[0] as Waiting) : this.commitGroup(group);
    // The next group is taken one event-loop turn later at the earliest: an appender that appends again as soon as
    // its previous append is answered (a job's serialised steps) joins it instead of waiting a
    // whole commit behind a group that left without it.
    void done.finally(() => setImmediate(() => this.commitNext(1)));
  }

  private async commitAlone(w: Waiting): Promise<void> {
    try {
      w.resolve(await this.appendAlone(w.appends));
    } catch (err) {
      w.reject(err);
    }
  }

  private async commitGroup(group: readonly Waiting[]): Promise<void> {
    let rows: GroupRow[];
    try {
      rows = (await this.db.query<GroupRow>({ name: 's3o-append-group', text: groupSql, values: groupParams(group) })).rows;
    } catch {
      // Nothing of the group is known to have committed: each goes again alone (idempotent).
      await Promise.all(group.map((w) => this.commitAlone(w)));
      return;
    }
    const byGroup = new Map<number, GroupRow[]>();
    for (const r of rows) {
      const list = byGroup.get(r.grp);
      if (list) list.push(r);
      else byGroup.set(r.grp, [r]);
    }
    const alone: Waiting[] = [];
    group.forEach((w, i) => {
      const own = byGroup.get(i + 1) ?? [];
      const failed = own.find((r) => r.err_code !== null);
      if (!failed) {
        w.resolve(own.map(toResult));
      } else if (isAppendVerdict(failed.err_code ?? '')) {
        w.reject(mapAppendError({ code: failed.err_code, message: failed.err_message, detail: failed.err_detail }));
      } else {
        alone.push(w);
      }
    });
    await Promise.all(alone.map((w) => this.commitAlone(w)));
  }
}

function traced(outcome: Promise<AppendResult[]>, span: Span): Promise<AppendResult[]> {
  return outcome.then((results) => {
    span.end();
    return results;
  }, (err: unknown) => {
    endFailed(span, err);
    throw err;
  });
}

function groupParams(group: readonly Waiting[]): unknown[] {
  const all = group.flatMap((w) => w.appends);
  const owner = group.flatMap((w, i) => w.appends.map(() => i + 1));
  return [owner, ...appendParams(all)];
}

function toResult(r: GroupRow): AppendResult {
  return {
    streamId: r.stream_id as string,
    nextRevision: BigInt(r.next_revision as string),
    position: encodePosition(r.tx_id as string, r.last_seq as string),
    alreadyAppended: r.already_appended === true,
  };
}

import pg from 'pg';
import type { ObjectChange } from '../../domain/objects/object-changes.js';
import type { Logger } from '../../infra/telemetry/logger.js';

const channel = 's3o_appended';
/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; changes are split below this. */
const maxPayloadBytes = 7000;

/** What an instance does with other instances' notices. */
export interface WakeupHandlers {
  /** Another instance appended: wake the projection runner. */
  wake(): void;
  /** The objects another instance's committed appends changed. */
  changed?(changes: ObjectChange[]): void;
  /**
   * Changes may have been missed: the LISTEN connection was lost and is back, or an instance of an
   * older build announced appends without naming them.
   */
  unknown?(): void;
  /** A message another instance broadcast (an operator's command to every instance). */
  message?(message: unknown): void;
}

/** A notice as sent: a JSON object; an older build sends its bare instance id. */
interface Notice {
  from: string;
  /** `[bucket, key, 1 when the version changed else 0, the new version's write id when known]` */
  changes?: ([string, string, 0 | 1] | [string, string, 0 | 1, string])[];
  unknown?: true;
  message?: unknown;
}

/**
 * Wake-up hints between instances: after its appends an instance sends at most one round of
 * NOTIFY per `throttleMs` (outside the append transactions, whose commits must not queue on the
 * notify lock) naming the objects they changed; every instance LISTENs, wakes its projection
 * runner and tells its caches. Only a hint, sent after the commit: runners also poll, and a cache
 * must not depend on a notice arriving before a read (see ObjectChangeFeed).
 */
export class AppendWakeups {
  private listener: pg.Client | undefined;
  private pending = false;
  private lastSent = 0;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  /** A connection was lost: notices may have been missed meanwhile. */
  private lost = false;
  /** Changed objects not announced yet, by `bucket/key`. */
  private readonly unsent = new Map<string, ObjectChange>();

  constructor(
    private readonly connectionConfig: pg.ClientConfig,
    private readonly pool: pg.Pool,
    private readonly instanceId: string,
    private readonly handlers: WakeupHandlers,
    private readonly logger: Logger,
    private readonly throttleMs = 100,
  ) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(this.connectionConfig);
    client.on('notification', (n) => this.received(n.payload ?? ''));
    client.on('error', () => this.reconnect(client));
    client.on('end', () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
      this.listener = client;
      if (this.lost) {
        this.lost = false;
        this.handlers.unknown?.();
      }
    } catch (err) {
      this.logger.debug({ err }, 'cannot LISTEN for appends yet; polling only');
      this.reconnect(client);
    }
  }

  private received(payload: string): void {
    let notice: Notice;
    try {
      notice = payload.startsWith('{') ? (JSON.parse(payload) as Notice) : { from: payload, unknown: true };
    } catch {
      notice = { from: '', unknown: true };
    }
    if (notice.from === this.instanceId) return;
    if (notice.message !== undefined) {
      this.handlers.message?.(notice.message);
      return;
    }
    this.handlers.wake();
    if (notice.unknown) this.handlers.unknown?.();
    const changes = Array.isArray(notice.changes) ? notice.changes.flatMap(changeOf) : [];
    if (changes.length > 0) this.handlers.changed?.(changes);
  }

  private reconnect(client: pg.Client): void {
    if (this.listener === client) this.listener = undefined;
    this.lost = true;
    client.end().catch(() => undefined);
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.start();
    }, 2000);
    this.retry.unref();
  }

  /** Called after local appends committed, with the objects they changed; sends a throttled NOTIFY. */
  appended(changes: readonly ObjectChange[] = []): void {
    if (this.stopped) return;
    for (const c of changes) {
      const id = `${c.bucket}/${c.key}`;
      const seen = this.unsent.get(id);
      // A later version change replaces an earlier one; a copy-level change keeps what was pending.
      this.unsent.set(id, c.versionChanged || !seen ? c : seen);
    }
    if (this.pending) return;
    const wait = Math.max(0, this.lastSent + this.throttleMs - Date.now());
    this.pending = true;
    setTimeout(() => {
      this.pending = false;
      this.lastSent = Date.now();
      const payloads = this.payloads([...this.unsent.values()]);
      this.unsent.clear();
      this.notify(payloads).catch(() => undefined);
    }, wait).unref();
  }

  /** Sends `message` to every other instance now (`handlers.message` there); resolves once sent. */
  async broadcast(message: unknown): Promise<void> {
    await this.notify([JSON.stringify({ from: this.instanceId, message } satisfies Notice)]);
  }

  private async notify(payloads: string[]): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n', [channel, payloads]);
  }

  /** The notices announcing `changes`, each under the payload limit (one, empty, when nothing is named). */
  private payloads(changes: readonly ObjectChange[]): string[] {
    const out: string[] = [];
    const head = `{"from":${JSON.stringify(this.instanceId)},"changes":[`;
    let body: string[] = [];
    let bytes = Buffer.byteLength(head) + 2;
    let unknown = false;
    for (const c of changes) {
      const item = JSON.stringify(c.writeId === undefined ? [c.bucket, c.key, c.versionChanged ? 1 : 0] : [c.bucket, c.key, 1, c.writeId]);
      const size = Buffer.byteLength(item) + 1;
      if (Buffer.byteLength(head) + 2 + size > maxPayloadBytes) {
        unknown = true;
        continue;
      }
      if (bytes + size > maxPayloadBytes) {
        out.push(`${head}${body.join(',')}]}`);
        body = [];
        bytes = Buffer.byteLength(head) + 2;
      }
      body.push(item);
      bytes += size;
    }
    if (body.length > 0 || out.length === 0) out.push(`${head}${body.join(',')}]}`);
    if (unknown) out.push(JSON.stringify({ from: this.instanceId, unknown: true } satisfies Notice));
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
  }
}

function changeOf(raw: unknown): ObjectChange[] {
  if (!Array.isArray(raw) || typeof raw[0] !== 'string' || typeof raw[1] !== 'string') return [];
  const change: ObjectChange = { bucket: raw[0], key: raw[1], versionChanged: raw[2] === 1 };
  if (typeof raw[3] === 'string') change.writeId = raw[3];
  return [change];
}

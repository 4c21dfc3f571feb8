import pg from 'pg';
import type { Logger } from '../../infra/telemetry/logger.js';

const channel = 's3o_appended';

/**
 * Wake-up hints between instances: after its appends an instance sends at most one NOTIFY per
 * `throttleMs` (outside the append transactions, whose commits must not queue on the notify
 * lock); every instance LISTENs and wakes its projection runner. Only a hint: runners also
 * poll, so a lost notification delays, never loses, work.
 */
export class AppendWakeups {
  private listener: pg.Client | undefined;
  private pending = false;
  private lastSent = 0;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionConfig: pg.ClientConfig,
    private readonly pool: pg.Pool,
    private readonly instanceId: string,
    private readonly onWake: () => void,
    private readonly logger: Logger,
    private readonly throttleMs = 100,
  ) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(this.connectionConfig);
    client.on('notification', (n) => {
      if (n.payload !== this.instanceId) this.onWake();
    });
    client.on('error', () => this.reconnect(client));
    client.on('end', () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
      this.listener = client;
    } catch (err) {
      this.logger.debug({ err }, 'cannot LISTEN for appends yet; polling only');
      this.reconnect(client);
    }
  }

  private reconnect(client: pg.Client): void {
    if (this.listener === client) this.listener = undefined;
    client.end().catch(() => undefined);
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.start();
    }, 2000);
    this.retry.unref();
  }

  /** Called after local appends; sends a throttled NOTIFY. */
  appended(): void {
    if (this.pending || this.stopped) return;
    const wait = Math.max(0, this.lastSent + this.throttleMs - Date.now());
    this.pending = true;
    setTimeout(() => {
      this.pending = false;
      this.lastSent = Date.now();
      this.pool.query('SELECT pg_notify($1, $2)', [channel, this.instanceId]).catch(() => undefined);
    }, wait).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
  }
}

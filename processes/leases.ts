import type pg from 'pg';

export interface Lease {
  name: string;
  owner: string;
  /** Fencing token: grows every time the lease changes hands. */
  token: number;
}

/** A lease held while a pass runs (`Leases.runExclusive`). */
export interface HeldLease {
  /** True once a renewal found the lease taken over by another owner: the pass should start nothing more. */
  readonly lost: boolean;
}

/**
 * Named leases in the `leases` table: at most one live owner per name. A lease that was not
 * renewed within its time-to-live can be taken over; the new owner gets a higher token, and
 * every owner write that checks the token (`holds`) fails for the old one.
 */
export class Leases {
  /** The last pass of each lease name this instance started, settled or not. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly pool: pg.Pool,
    readonly owner: string,
    private readonly ttlMs = 30_000,
  ) {}

  async tryAcquire(name: string): Promise<Lease | undefined> {
    const res = await this.pool.query<{ token: string }>(
      `INSERT INTO leases AS l (name, owner, token, lease_until) VALUES ($1, $2, 1, now() + make_interval(secs => $3 / 1000.0))
       ON CONFLICT (name) DO UPDATE SET
         token = CASE WHEN l.owner = EXCLUDED.owner THEN l.token ELSE l.token + 1 END,
         owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until, updated_at = now()
       WHERE l.owner = EXCLUDED.owner OR l.lease_until < now()
       RETURNING token`,
      [name, this.owner, this.ttlMs],
    );
    const row = res.rows[0];
    return row ? { name, owner: this.owner, token: Number(row.token) } : undefined;
  }

  /** Extends the lease; false when it was lost (expired and taken by another owner). */
  async renew(lease: Lease): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE leases SET lease_until = now() + make_interval(secs => $4 / 1000.0), updated_at = now()
        WHERE name = $1 AND owner = $2 AND token = $3`,
      [lease.name, lease.owner, lease.token, this.ttlMs],
    );
    return res.rowCount === 1;
  }

  async release(lease: Lease): Promise<void> {
    await this.pool.query(
      `UPDATE leases SET lease_until = now() - interval '1 second', updated_at = now() WHERE name = $1 AND owner = $2 AND token = $3`,
      [lease.name, lease.owner, lease.token],
    );
  }

  /**
   * Runs `fn` holding the lease `name`: renewed in the background every third of its time to
   * live while `fn` runs (`held.lost` turns true if another owner took it over meanwhile), and
   * released afterwards (released, not left to expire, so an instance started after this one
   * stopped takes over at once). Undefined, without running `fn`, while another instance holds it.
   * Within this instance a second call waits for the running one: the lease lets its owner in
   * again, so without the wait a scheduled pass and an operator's request ran side by side.
   */
  runExclusive<T>(name: string, fn: (held: HeldLease) => Promise<T>): Promise<T | undefined> {
    const run = (this.running.get(name) ?? Promise.resolve()).then(() => this.runHeld(name, fn));
    const settled = run.then(() => undefined, () => undefined);
    this.running.set(name, settled);
    void settled.then(() => {
      if (this.running.get(name) === settled) this.running.delete(name);
    });
    return run;
  }

  private async runHeld<T>(name: string, fn: (held: HeldLease) => Promise<T>): Promise<T | undefined> {
    const lease = await this.tryAcquire(name);
    if (!lease) return undefined;
    const held = { lost: false };
    let renewing: Promise<void> = Promise.resolve();
    const keepAlive = setInterval(() => {
      renewing = this.renew(lease).then((ok) => {
        if (!ok) held.lost = true;
      }, () => undefined);
    }, this.ttlMs / 3);
    try {
      return await fn(held);
    } finally {
      clearInterval(keepAlive);
      // A renewal landing after the release would hold the lease for another time to live.
      await renewing;
      await this.release(lease).catch(() => undefined);
    }
  }

  async holder(name: string): Promise<{ owner: string; token: number; leaseUntil: Date } | undefined> {
    const res = await this.pool.query<{ owner: string; token: string; lease_until: Date }>('SELECT owner, token, lease_until FROM leases WHERE name = $1', [name]);
    const r = res.rows[0];
    return r ? { owner: r.owner, token: Number(r.token), leaseUntil: r.lease_until } : undefined;
  }
}

export interface ExclusiveLease extends Lease {
  /** Releases the advisory lock and the lease row. */
  release(): Promise<void>;
  /** Resolves when the connection holding the lock is lost (the lease must be given up). */
  lost: Promise<void>;
}

/**
 * A lease backed by a session advisory lock on a dedicated connection: when the holder dies,
 * PostgreSQL drops its connection and the lock at once, so another instance takes over
 * immediately (with a higher fencing token) instead of waiting for the row to expire.
 */
export async function acquireExclusive(pool: pg.Pool, leases: Leases, name: string): Promise<ExclusiveLease | undefined> {
  const client = await pool.connect();
  let released = false;
  try {
    const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 11)) AS ok', [name]);
    if (!got.rows[0]?.ok) {
      client.release();
      return undefined;
    }
    const res = await client.query<{ token: string }>(
      `INSERT INTO leases AS l (name, owner, token, lease_until) VALUES ($1, $2, 1, now() + interval '1 day')
       ON CONFLICT (name) DO UPDATE SET token = l.token + 1, owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until, updated_at = now()
       RETURNING token`,
      [name, leases.owner],
    );
    const token = Number(res.rows[0]?.token ?? 0);
    let onLost: () => void = () => undefined;
    const lost = new Promise<void>((resolve) => {
      onLost = resolve;
    });
    // Detached again at release: the client goes back to the pool and lives on for other
    // queries, and its later end is not this lease's loss.
    client.on('error', onLost);
    client.on('end', onLost);
    const detach = () => {
      client.off('error', onLost);
      client.off('end', onLost);
    };
    return {
      name, owner: leases.owner, token, lost,
      async release() {
        if (released) return;
        released = true;
        detach();
        try {
          await client.query(`UPDATE leases SET lease_until = now() WHERE name = $1 AND owner = $2 AND token = $3`, [name, leases.owner, token]);
          await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 11))', [name]);
          client.release();
        } catch {
          client.release(true);
        }
      },
    };
  } catch (err) {
    if (!released) client.release(true);
    throw err;
  }
}

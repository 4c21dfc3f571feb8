import type pg from 'pg';

export interface UsageCounts {
  apiRequests: number;
  egressBytes: number;
  ingressBytes: number;
}

export interface UsageLimits {
  apiRequestLimit: number;
  egressByteLimit: number;
  ingressByteLimit: number;
}

const zero = (): UsageCounts => ({ apiRequests: 0, egressBytes: 0, ingressBytes: 0 });

/** The last period formatted and the instants it spans, [start, end): every backend request asks for the period. */
let periodStartMs = Number.NaN;
let periodEndMs = Number.NaN;
let periodText = '';

/** `YYYY-MM` in UTC: the period monthly limits apply to. */
export function usagePeriod(at: Date): string {
  const ms = at.getTime();
  if (ms >= periodStartMs && ms < periodEndMs) return periodText;
  const text = at.toISOString().slice(0, 7);
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  periodStartMs = Date.UTC(year, month, 1);
  periodEndMs = Date.UTC(year, month + 1, 1);
  periodText = text;
  return text;
}

/**
 * Counts each backend's API requests and transfer in memory and checks them against the monthly
 * limits: effective usage = flushed baseline (usage_monthly) + this instance's unflushed counts
 * + the proposed operation. Flushing turns the unflushed counts into a UsageFlushed event.
 */
export class UsageMeter {
  private pending = new Map<string, UsageCounts>();
  private baseline = new Map<string, UsageCounts>();
  private baselinePeriod = '';

  constructor(private readonly clock: () => Date = () => new Date()) {}

  record(backend: string, delta: Partial<UsageCounts>): void {
    const c = this.pending.get(backend) ?? zero();
    c.apiRequests += delta.apiRequests ?? 0;
    c.egressBytes += delta.egressBytes ?? 0;
    c.ingressBytes += delta.ingressBytes ?? 0;
    this.pending.set(backend, c);
  }

  /** Current-period totals as this instance knows them. */
  effective(backend: string): UsageCounts {
    const b = this.baselinePeriod === usagePeriod(this.clock()) ? (this.baseline.get(backend) ?? zero()) : zero();
    const p = this.pending.get(backend) ?? zero();
    return { apiRequests: b.apiRequests + p.apiRequests, egressBytes: b.egressBytes + p.egressBytes, ingressBytes: b.ingressBytes + p.ingressBytes };
  }

  /** Whether one more operation of this shape would exceed a limit (0 = unlimited). */
  wouldExceed(backend: string, limits: UsageLimits, op: Partial<UsageCounts>): boolean {
    // No limit set (the default): nothing to add up.
    if (limits.apiRequestLimit <= 0 && limits.egressByteLimit <= 0 && limits.ingressByteLimit <= 0) return false;
    const e = this.effective(backend);
    return (
      (limits.apiRequestLimit > 0 && e.apiRequests + (op.apiRequests ?? 0) > limits.apiRequestLimit) ||
      (limits.egressByteLimit > 0 && e.egressBytes + (op.egressBytes ?? 0) > limits.egressByteLimit) ||
      (limits.ingressByteLimit > 0 && e.ingressBytes + (op.ingressBytes ?? 0) > limits.ingressByteLimit)
    );
  }

  /** Ratio of the closest limit across backends, for adaptive flushing. */
  highestRatio(limitsByBackend: ReadonlyMap<string, UsageLimits>): number {
    let max = 0;
    for (const [name, l] of limitsByBackend) {
      const e = this.effective(name);
      if (l.apiRequestLimit > 0) max = Math.max(max, e.apiRequests / l.apiRequestLimit);
      if (l.egressByteLimit > 0) max = Math.max(max, e.egressBytes / l.egressByteLimit);
      if (l.ingressByteLimit > 0) max = Math.max(max, e.ingressBytes / l.ingressByteLimit);
    }
    return max;
  }

  /** Takes the unflushed counts (to be appended as events); `restore` puts them back on failure. */
  drain(): { period: string; counts: Map<string, UsageCounts>; restore(): void } {
    const counts = this.pending;
    this.pending = new Map();
    return {
      period: usagePeriod(this.clock()),
      counts,
      restore: () => {
        for (const [b, c] of counts) this.record(b, c);
      },
    };
  }

  /**
   * Reloads the flushed totals of the current period: the usage_monthly projection's rows plus the
   * flushes it has not applied yet (one statement, one snapshot: the rows and the projection's
   * checkpoint agree). Without the latter, a process starting right after another one's last flush
   * would count from totals missing it until the projection caught up and the next refresh.
   */
  async refreshBaseline(db: pg.Pool): Promise<void> {
    const period = usagePeriod(this.clock());
    const res = await db.query<{ backend: string; api_requests: string; egress_bytes: string; ingress_bytes: string }>(
      `SELECT backend, sum(api_requests) AS api_requests, sum(egress_bytes) AS egress_bytes, sum(ingress_bytes) AS ingress_bytes FROM (
         SELECT backend, api_requests, egress_bytes, ingress_bytes FROM usage_monthly WHERE period = $1
         UNION ALL
         SELECT u.d->>'backend', (u.d->>'apiRequests')::bigint, (u.d->>'egressBytes')::bigint, (u.d->>'ingressBytes')::bigint
           FROM (SELECT CASE WHEN e.schema_version = s3o_event_current_version(e.type) THEN e.data
                             ELSE s3o_upcast(e.type, e.schema_version, e.data) END AS d
                   FROM events e, projection_checkpoints c
                  WHERE c.name = 'usage_monthly' AND e.type = 'UsageFlushed' AND (e.tx_id, e.seq) > (c.tx_id, c.seq)) u
          WHERE u.d->>'period' = $1
       ) t GROUP BY backend`,
      [period],
    );
    this.baseline = new Map(
      res.rows.map((r) => [r.backend, { apiRequests: Number(r.api_requests), egressBytes: Number(r.egress_bytes), ingressBytes: Number(r.ingress_bytes) }]),
    );
    this.baselinePeriod = period;
  }

  /** Adds just-flushed counts to the baseline, so they are not lost until the projection catches up. */
  addToBaseline(period: string, counts: ReadonlyMap<string, UsageCounts>): void {
    if (period !== this.baselinePeriod) return;
    for (const [b, c] of counts) {
      const base = this.baseline.get(b) ?? zero();
      base.apiRequests += c.apiRequests;
      base.egressBytes += c.egressBytes;
      base.ingressBytes += c.ingressBytes;
      this.baseline.set(b, base);
    }
  }
}

import type { AsyncProjection } from './projection.js';

/** Monthly API requests and transfer per backend, summed from usage flushes. */
export const usageMonthlyProjection: AsyncProjection = {
  name: 'usage_monthly',
  tables: ['usage_monthly'],
  eventTypes: ['UsageFlushed'],
  async applyBatch(db, events) {
    const sums = new Map<string, { backend: string; period: string; api: number; egress: number; ingress: number }>();
    for (const { event } of events) {
      if (event.type !== 'UsageFlushed') continue;
      const k = `${event.data.backend}\u0000${event.data.period}`;
      const acc = sums.get(k) ?? { backend: event.data.backend, period: event.data.period, api: 0, egress: 0, ingress: 0 };
      acc.api += event.data.apiRequests;
      acc.egress += event.data.egressBytes;
      acc.ingress += event.data.ingressBytes;
      sums.set(k, acc);
    }
    if (sums.size === 0) return;
    const rows = [...sums.values()];
    await db.query(
      `INSERT INTO usage_monthly AS u (backend, period, api_requests, egress_bytes, ingress_bytes)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
       ON CONFLICT (backend, period) DO UPDATE SET api_requests = u.api_requests + EXCLUDED.api_requests,
         egress_bytes = u.egress_bytes + EXCLUDED.egress_bytes, ingress_bytes = u.ingress_bytes + EXCLUDED.ingress_bytes`,
      [rows.map((r) => r.backend), rows.map((r) => r.period), rows.map((r) => r.api), rows.map((r) => r.egress), rows.map((r) => r.ingress)],
    );
  },
};

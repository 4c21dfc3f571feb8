import { defineAsyncProjection } from '../projection.js';

/** Monthly API requests and transfer per backend, summed from usage flushes. */
export const usageMonthlyProjection = defineAsyncProjection({
  name: 'usage_monthly',
  tables: ['usage_monthly'],
  home: new URL('./', import.meta.url),
  handles: ['UsageFlushed@1'],
  ignores: [
    'ObjectWritten@3', 'ReplicaAdded@1', 'ReplicaDropped@1', 'CopyMoved@1', 'ObjectDeleted@1',
    'BackendRegistered@1', 'BackendLimitsChanged@1', 'BackendDrainStarted@1', 'BackendDrained@1',
    'BackendDrainCancelled@1', 'BackendReactivated@1', 'BackendRemoved@1', 'BackendPurged@1',
    'OrphanRecorded@1', 'CleanupFailed@1', 'CleanupSucceeded@1', 'CleanupExhausted@1',
    'CleanupRetried@1', 'CleanupDismissed@1', 'MultipartUploadCreated@2', 'PartUploaded@3',
    'MultipartUploadCompleted@1', 'MultipartUploadAborted@1', 'MultipartUploadMoved@1', 'JobStarted@1', 'MoveStarted@1',
    'MoveCompleted@1', 'MoveSkipped@1', 'MoveFailed@1', 'JobCompleted@1', 'JobCancelled@1',
    'JobFailed@1', 'JobCheckpointed@1', 'AdminCommandIssued@1',
    'CopyVerified@1', 'CopyCorrupted@2', 'CopyRepaired@1', 'ChecksumBackfilled@1', 'ScrubPassCompleted@1',
    'StoredBytesRewritten@1', 'DataKeyRewrapped@1', 'RewriteStarted@1', 'RewriteCompleted@1', 'RewriteSkipped@1', 'RewriteFailed@1',
  ],
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
});

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MAX_SNAPSHOT_SECONDS, MIN_SNAPSHOT_SECONDS, type TraceSnapshots } from '../../services/telemetry/trace-snapshot.js';
import type { AdminAudit } from './admin-audit.js';
import { parseInput } from './admin-input.js';

export interface TraceRouteDeps {
  snapshots: TraceSnapshots;
  audit: AdminAudit;
}

const seconds = z.coerce.number({ error: 'must be a number' }).int('must be a whole number')
  .min(MIN_SNAPSHOT_SECONDS, `must be at least ${MIN_SNAPSHOT_SECONDS}`).max(MAX_SNAPSHOT_SECONDS, `must be at most ${MAX_SNAPSHOT_SECONDS}`);
const SnapshotInput = z.object({ seconds: seconds.optional() });
const defaultSeconds = 5;

/**
 * `POST trace-snapshot` (`seconds` in the query or a JSON body, default 5): the answering
 * instance's recent requests with their spans, a CPU profile of that many seconds and its heap
 * figures, as one JSON document.
 */
export function registerTraceRoutes(app: FastifyInstance, deps: TraceRouteDeps): void {
  app.post('/trace-snapshot', async (req) => {
    const asked = parseInput(SnapshotInput, req.query, 'query').seconds ?? parseInput(SnapshotInput, req.body ?? {}, 'body').seconds ?? defaultSeconds;
    await deps.audit.issue(req, 'trace-snapshot', { seconds: asked });
    return deps.snapshots.take(asked);
  });
}

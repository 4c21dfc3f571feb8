import type { FastifyInstance } from 'fastify';
import type { AdminAudit } from './admin-audit.js';
import type { ReplicationControl } from './controls.js';

export interface ReplicationRouteDeps {
  replication: ReplicationControl;
  audit: AdminAudit;
}

/**
 * `POST replicate` (a replication pass now), `GET over-replication` (what a pass would trim),
 * `POST over-replication[?execute]` (trim now), `POST rebalance` (plan a rebalance and start it
 * as a job; its progress is `GET jobs/:id`).
 */
export function registerReplicationRoutes(app: FastifyInstance, deps: ReplicationRouteDeps): void {
  app.post('/replicate', async (req) => {
    await deps.audit.issue(req, 'replicate', {});
    const r = await deps.replication.replicate();
    if (r.status === 'skipped') return { status: 'skipped', copies_created: 0, reason: r.reason };
    return { status: 'ok', copies_created: r.copiesCreated, objects_short: r.objectsShort };
  });

  app.get('/over-replication', async () => {
    const b = await deps.replication.backlog();
    return { factor: b.factor, pending: b.over };
  });

  app.post('/over-replication', async (req) => {
    await deps.audit.issue(req, 'over-replication', {});
    const r = await deps.replication.removeExcess();
    if (r.status === 'skipped') return { status: 'skipped', copies_removed: 0, reason: r.reason };
    return { status: 'ok', copies_removed: r.copiesRemoved };
  });

  app.post('/rebalance', async (req) => {
    const cause = await deps.audit.issue(req, 'rebalance', {});
    const r = await deps.replication.rebalance(cause);
    if (r.status === 'skipped') return { status: 'skipped', reason: r.reason, spread: r.spread ?? null };
    return { status: 'started', job_id: r.jobId, moves: r.moves, bytes: r.bytes, spread: r.spread, spread_after: r.spreadAfter };
  });
}

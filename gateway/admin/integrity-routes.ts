import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../domain/config/config.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { corruptCopies } from '../../projections/read/integrity-reads.js';
import type { AdminAudit } from './admin-audit.js';
import { parseInput } from './admin-input.js';
import type { IntegrityControl } from './controls.js';

export interface IntegrityRouteDeps {
  config(): Config;
  integrity: IntegrityControl;
  reads: Queryable;
  audit: AdminAudit;
}

const batchSize = z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(100_000, 'must be at most 100000');
/** `batch_size` in the query (the original's code) or in a JSON body (its documentation). */
const BatchInput = z.object({ batch_size: batchSize.optional() });
const batchFrom = (query: unknown, body: unknown): number | undefined =>
  parseInput(BatchInput, query, 'query').batch_size ?? parseInput(BatchInput, body ?? {}, 'body').batch_size;

/**
 * `POST scrub` (a scrub pass now), `POST backfill-checksums` (record the SHA-256 of objects
 * written before integrity was on; the original's docs call it `hash-existing`, also accepted),
 * `GET integrity` (the figures the metrics show, and the copies found corrupt and not repaired).
 */
export function registerIntegrityRoutes(app: FastifyInstance, deps: IntegrityRouteDeps): void {
  app.post('/scrub', async (req) => {
    const size = batchFrom(req.query, req.body);
    const cause = await deps.audit.issue(req, 'scrub', size === undefined ? {} : { batch_size: size });
    const r = await deps.integrity.scrub(size, cause);
    if (r.status === 'skipped') return { status: 'skipped', reason: r.reason };
    return {
      status: 'ok', pass_id: r.passId, checked: r.checked, failed: r.corrupt, repaired: r.repaired, unrepairable: r.unrepairable, skipped: r.skipped,
    };
  });

  const backfill = async (req: FastifyRequest) => {
    const size = batchFrom(req.query, req.body);
    const cause = await deps.audit.issue(req, 'backfill-checksums', size === undefined ? {} : { batch_size: size });
    const r = await deps.integrity.backfill(size, cause);
    if (r.status === 'skipped') return { status: 'skipped', reason: r.reason };
    return { status: 'ok', processed: r.processed, failed: r.failed, conflicts: r.conflicts };
  };
  app.post('/backfill-checksums', backfill);
  app.post('/hash-existing', backfill);

  app.get('/integrity', async () => {
    const [stats, corrupt] = await Promise.all([deps.integrity.stats(), corruptCopies(deps.reads, 100)]);
    return {
      enabled: deps.config().integrity.enabled,
      verify_on_read: deps.config().integrity.verify_on_read,
      never_verified_copies: stats.neverVerified,
      oldest_unverified_seconds: Math.round(stats.oldestUnverifiedSeconds),
      corrupt_copies: stats.corrupt,
      objects_without_hash: stats.withoutHash,
      corrupt: corrupt.map((c) => ({
        bucket: c.bucket, key: c.key, backend: c.backend, storage_key: c.storageKey, size: c.size, corrupt_since: c.corruptSince.toISOString(),
      })),
    };
  });
}

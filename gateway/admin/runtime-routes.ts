import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { projectionStatuses } from '../../projections/async/runner.js';
import { asyncProjections, inlineProjections } from '../../projections/registry.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { WorkerStatus } from '../../processes/worker-board.js';
import type { AdminAudit } from './admin-audit.js';
import { parseInput } from './admin-input.js';
import type { UsageControl } from './controls.js';

const logLevels = ['debug', 'info', 'warn', 'error'] as const;
const LogLevelBody = z.object({ level: z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` }) });

export interface RuntimeRouteDeps {
  /** This instance's logger, whose level the routes read and set. */
  logger: Logger;
  usage: Pick<UsageControl, 'flush' | 'period'>;
  /** The projections, read only (the async projections' checkpoints). */
  reads: Queryable;
  audit: AdminAudit;
  /** How each background worker has fared on this instance. */
  workers: { list(): WorkerStatus[] };
  instanceId: string;
}

/** `GET|PUT log-level` (this instance only, until restart or reload), `POST usage-flush`, `GET projections`, `GET workers` (this instance). */
export function registerRuntimeRoutes(app: FastifyInstance, deps: RuntimeRouteDeps): void {
  app.get('/log-level', async () => ({ level: deps.logger.level }));

  app.put('/log-level', async (req) => {
    const { level } = parseInput(LogLevelBody, req.body, 'body');
    const previous = deps.logger.level;
    await deps.audit.issue(req, 'log-level', { level, previous });
    deps.logger.level = level;
    return { level, previous };
  });

  app.post('/usage-flush', async (req) => {
    await deps.audit.issue(req, 'usage-flush', {});
    const backends = await deps.usage.flush();
    return { status: 'flushed', backends, usage_period: deps.usage.period() };
  });

  app.get('/workers', async () => ({
    instance: deps.instanceId,
    workers: deps.workers.list().map((w) => ({
      worker: w.worker, runs: w.runs, running: w.running, last_success_at: w.lastSuccessAt, last_failure_at: w.lastFailureAt,
      last_error: w.lastError, consecutive_failures: w.consecutiveFailures,
    })),
  }));

  app.get('/projections', async () => {
    const statuses = await projectionStatuses(deps.reads, asyncProjections);
    return {
      inline: inlineProjections.map((p) => ({ name: p.name, tables: p.tables, lag: 0 })),
      async: statuses.map((s) => ({ name: s.name, tables: asyncProjections.find((p) => p.name === s.name)?.tables ?? [], status: s.status, lag: s.lag, owner: s.owner, lease_until: s.leaseUntil, position: s.position ?? null })),
    };
  });
}

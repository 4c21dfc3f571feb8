import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { projectionStatuses } from '../../projections/async/runner.js';
import { asyncProjections, inlineProjections } from '../../projections/registry.js';
import type { GatewayContext } from '../context.js';
import { issueCommand } from './admin-audit.js';
import { parseInput } from './admin-input.js';

const logLevels = ['debug', 'info', 'warn', 'error'] as const;
const LogLevelBody = z.object({ level: z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` }) });

/** `GET|PUT log-level` (this instance only, until restart or reload), `POST usage-flush`, `GET projections`. */
export function registerRuntimeRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get('/log-level', async () => ({ level: ctx.logger.level }));

  app.put('/log-level', async (req) => {
    const { level } = parseInput(LogLevelBody, req.body, 'body');
    const previous = ctx.logger.level;
    await issueCommand(ctx, req, 'log-level', { level, previous });
    ctx.logger.level = level;
    return { level, previous };
  });

  app.post('/usage-flush', async (req) => {
    await issueCommand(ctx, req, 'usage-flush', {});
    const backends = await ctx.usage.flush();
    return { status: 'flushed', backends, usage_period: ctx.usage.period() };
  });

  app.get('/projections', async () => {
    const statuses = await projectionStatuses(ctx.pool, asyncProjections);
    return {
      inline: inlineProjections.map((p) => ({ name: p.name, tables: p.tables, lag: 0 })),
      async: statuses.map((s) => ({ name: s.name, tables: asyncProjections.find((p) => p.name === s.name)?.tables ?? [], status: s.status, lag: s.lag, owner: s.owner, lease_until: s.leaseUntil, position: s.position ?? null })),
    };
  });
}

import type { Config } from '../domain/config/config.js';
import type { LogRing } from '../infra/telemetry/log-ring.js';
import type { Logger } from '../infra/telemetry/logger.js';
import type { Metrics } from '../infra/telemetry/metrics.js';
import type { RequestTracer } from '../infra/telemetry/spans.js';
import type { AdminContext } from './admin/admin-context.js';
import type { S3Context } from './s3/s3-context.js';

/** Readiness and degradation as /health and /health/ready report them. */
export interface HealthState {
  ready: boolean;
  databaseHealthy(): boolean;
}

/** The HTTP server's dependencies, one group per API; built once by the composition root (ops/app.ts). */
export interface GatewayContext {
  /** The current configuration; replaced on reload. */
  config(): Config;
  logger: Logger;
  metrics: Metrics;
  health: HealthState;
  /** Set while `telemetry.tracing.enabled`: S3 requests then run in spans. */
  tracer: RequestTracer | undefined;
  s3: S3Context;
  admin: AdminContext;
  /** This process's recent log lines (the dashboard's log view). */
  recentLogs: LogRing;
}

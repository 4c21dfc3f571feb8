import type { UiConfig } from '../../domain/config/config.js';
import type { LogRing } from '../../infra/telemetry/log-ring.js';
import type { AdminContext } from '../admin/admin-context.js';
import type { S3Context } from '../s3/s3-context.js';
import type { LoginThrottle } from './login-throttle.js';
import type { SessionSigner } from './session.js';

/** Short messages shown once on the next page of a session (an action's outcome). */
export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

/**
 * What the dashboard is built from: the services the admin API and the S3 API use (so an action
 * here does exactly what the same command does there), this process's recent log lines, and the
 * dashboard's own state (sessions, login throttle, flashes).
 */
export interface UiContext {
  /** `ui` as the process started with it (the dashboard's settings are restart-only). */
  ui: UiConfig;
  s3: S3Context;
  admin: AdminContext;
  recentLogs: LogRing;
  sessions: SessionSigner;
  throttle: LoginThrottle;
  flashes: Map<string, Flash>;
}

/** `ui.path` + a path inside the dashboard. */
export function uiUrl(ctx: Pick<UiContext, 'ui'>, path: string): string {
  return `${ctx.ui.path}${path}`;
}

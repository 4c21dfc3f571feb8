import { z } from 'zod';
import type { Config } from '../../../domain/config/config.js';
import { configSecretKeys } from '../../../domain/config/secret-keys.js';
import type { RecentLogLine } from '../../../infra/telemetry/log-ring.js';
import { parseInput } from '../../admin/admin-input.js';
import { html, query } from '../html.js';
import { page } from '../layout.js';
import type { UiSession } from '../session.js';
import { uiUrl, type Flash, type UiContext } from '../ui-context.js';

const levels = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
const LogsQuery = z.object({
  level: z.enum(levels, { error: `must be one of ${levels.join(', ')}` }).default('info'),
  after: z.coerce.number({ error: 'must be a number' }).int().min(0).optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int().min(1).max(2000).default(300),
});

/** Every secret value of the configuration (six characters or more: shorter ones would mangle ordinary words). */
function secretValues(config: Config): string[] {
  const found: string[] = [];
  const walk = (value: unknown, secret: boolean): void => {
    if (Array.isArray(value)) value.forEach((v) => walk(v, secret));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, configSecretKeys.has(k));
    else if (secret && typeof value === 'string' && value.length >= 6) found.push(value);
  };
  walk(config, false);
  return found;
}

/**
 * Recent lines of this process, at or above a level. The logger already redacts secret fields;
 * any configured secret value that still appears in a line (inside a message, an error text) is
 * masked here as well before it is shown.
 */
export function recentLines(ctx: UiContext, q: unknown): { lines: RecentLogLine[]; level: string } {
  const { level, after, limit } = parseInput(LogsQuery, q, 'query');
  const wanted = new Set(levels.slice(levels.indexOf(level)));
  const secrets = secretValues(ctx.admin.config());
  const mask = (s: string) => secrets.reduce((acc, secret) => acc.split(secret).join('[redacted]'), s);
  const lines = ctx.recentLogs.recent({ limit, levels: wanted, ...(after !== undefined ? { afterSeq: after } : {}) })
    .map((l) => ({ ...l, msg: mask(l.msg), line: mask(l.line) }));
  return { lines, level };
}

export function logsPage(ctx: UiContext, session: UiSession, q: unknown, flash?: Flash): string {
  const { lines, level } = recentLines(ctx, q);
  const body = html`<form class="filters" method="get" action="${uiUrl(ctx, '/logs')}"><label>Level at least
<select name="level">${levels.map((l) => html`<option${l === level ? html` selected` : ''}>${l}</option>`)}</select></label>
<button type="submit">Show</button></form>
<p>The newest ${lines.length} lines shown (at most 300; <code>api/logs?limit=</code> up to 2,000). This instance keeps its last ${ctx.recentLogs.capacity} lines in memory; the full log is on its standard output.</p>
<table class="logs"><thead><tr><th>Time</th><th>Level</th><th>Message</th><th>Line</th></tr></thead>
<tbody>${lines.map((l) => html`<tr class="log-${l.level}"><td><time>${l.time}</time></td><td>${l.level}</td><td>${l.msg}</td><td><details><summary>JSON</summary><code>${l.line}</code></details></td></tr>`)}</tbody></table>
<p><a href="${uiUrl(ctx, '/logs')}${query({ level })}">Refresh</a></p>`;
  return page(ctx, session, 'logs', 'Recent logs', body, flash);
}

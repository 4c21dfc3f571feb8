/**
 * A human-readable summary of a validated config, printed by `s3o validate`. It shows
 * counts and limits, never a credential, token, password or admin secret.
 */
import type { BackendConfig, Config, DatabaseConfig } from '../../domain/config/config.js';
import { formatBytes, formatDuration } from './units.js';

function limit(value: number, format: (n: number) => string): string {
  return value === 0 ? 'unlimited' : format(value);
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function describeDatabase(db: DatabaseConfig): string {
  const pool = `pool ${db.min_conns}-${db.max_conns}`;
  if (db.driver === 'embedded') return `embedded PostgreSQL in ${db.path}${db.port === null ? '' : ` on port ${db.port}`} (${pool})`;
  return `postgres ${db.host}:${db.port}/${db.database} as ${db.user} (ssl ${db.ssl_mode}, ${pool})`;
}

/** The endpoint without any user:password part. */
function displayUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.username === '' && url.password === '') return endpoint;
  url.username = '';
  url.password = '';
  return url.toString();
}

function describeBackend(backend: BackendConfig): string[] {
  const monthly = [
    `api ${limit(backend.api_request_limit, String)}`,
    `egress ${limit(backend.egress_byte_limit, formatBytes)}`,
    `ingress ${limit(backend.ingress_byte_limit, formatBytes)}`,
  ].join(', ');
  return [
    `  ${backend.name}: ${displayUrl(backend.endpoint)} bucket ${backend.bucket} (region ${backend.region}${backend.force_path_style ? ', path-style' : ''})`,
    `    quota ${limit(backend.quota_bytes, formatBytes)}, max object ${limit(backend.max_object_size, formatBytes)}; monthly ${monthly}`,
  ];
}

export function summarizeConfig(config: Config): string {
  const { server, replication: rep, rebalance: reb, lifecycle, cleanup_queue: cleanup } = config;
  const lines = [
    `listen:      ${server.listen_addr} (log level ${server.log_level}, max object ${formatBytes(server.max_object_size)}, max ${server.max_concurrent_requests} concurrent requests)`,
    `database:    ${describeDatabase(config.database)}`,
    `buckets:     ${config.buckets.length}`,
    ...config.buckets.map((bucket) =>
      `  ${bucket.name}: ${plural(bucket.credentials.length, 'credential')}, max multipart uploads ${limit(bucket.max_multipart_uploads, String)}`),
    `backends:    ${config.backends.length}`,
    ...config.backends.flatMap(describeBackend),
    `routing:     ${config.routing_strategy}`,
    `replication: ${rep.factor === 1 ? 'off (1 copy)' : `factor ${rep.factor}, ${rep.write_copies} written synchronously, worker every ${formatDuration(rep.worker_interval)} (batch ${rep.batch_size}, concurrency ${rep.concurrency}), unhealthy after ${formatDuration(rep.unhealthy_threshold)}`}`,
    `rebalance:   ${reb.enabled ? `${reb.strategy} every ${formatDuration(reb.interval)} when utilisation differs by ≥ ${Math.round(reb.threshold * 1000) / 10}% (batch ${reb.batch_size}, concurrency ${reb.concurrency})` : 'off'}`,
    `lifecycle:   ${lifecycle.rules.length === 0 ? 'no rules' : `${plural(lifecycle.rules.length, 'rule')}, every ${formatDuration(lifecycle.interval)} (batch ${lifecycle.batch_size})`}`,
    ...lifecycle.rules.map((rule) =>
      `  ${rule.bucket ?? 'every bucket'}: keys under "${rule.prefix}" expire after ${plural(rule.expiration_days, 'day')}`),
    'workers:',
    `  cleanup queue: concurrency ${cleanup.concurrency}, up to ${cleanup.max_attempts} attempts; stale multipart uploads aborted after ${formatDuration(cleanup.multipart_stale_timeout)}; failed writes' bytes deleted ${formatDuration(cleanup.failed_write_grace)} after they failed`,
    `  usage flush: every ${formatDuration(config.usage_flush.interval)}${config.usage_flush.adaptive_enabled ? `, every ${formatDuration(config.usage_flush.fast_interval)} once a backend reaches ${Math.round(config.usage_flush.adaptive_threshold * 100)}% of a limit` : ''}`,
    `  reconcile: ${config.reconcile.enabled ? `every ${formatDuration(config.reconcile.interval)}` : 'off'}`,
    `rate limit:  ${config.rate_limit.enabled ? `${config.rate_limit.requests_per_sec}/s per client IP, burst ${config.rate_limit.burst}, ${plural(config.rate_limit.trusted_proxies.length, 'trusted proxy range')}` : 'off'}`,
    `metrics:     ${config.telemetry.metrics.enabled ? `${config.telemetry.metrics.path} on ${config.telemetry.metrics.listen ?? 'the main listener'}` : 'off'}`,
    `admin API:   ${config.ui.admin_key !== null || config.ui.admin_token !== null ? 'enabled (token configured)' : 'off (set ui.admin_token or ui.admin_key)'}`,
  ];
  return lines.join('\n');
}

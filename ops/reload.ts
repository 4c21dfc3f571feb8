import type { Config } from '../domain/config/config.js';

/**
 * The configuration a reload puts into effect: the current one with the reloadable settings
 * of the new file (log level, credentials, rate limit, backend quotas and usage limits,
 * rebalance, replication, usage flush, lifecycle, cleanup queue, object cache). Everything else keeps its
 * running value until a restart, however the file changed.
 */
export function mergeReloadable(current: Config, next: Config): Config {
  const nextBackends = new Map(next.backends.map((b) => [b.name, b]));
  return {
    ...current,
    server: { ...current.server, log_level: next.server.log_level },
    buckets: next.buckets,
    rate_limit: next.rate_limit,
    backends: current.backends.map((b) => {
      const n = nextBackends.get(b.name);
      return n
        ? { ...b, quota_bytes: n.quota_bytes, api_request_limit: n.api_request_limit, egress_byte_limit: n.egress_byte_limit, ingress_byte_limit: n.ingress_byte_limit }
        : b;
    }),
    rebalance: next.rebalance,
    replication: next.replication,
    usage_flush: next.usage_flush,
    lifecycle: next.lifecycle,
    cleanup_queue: next.cleanup_queue,
    cache: next.cache,
  };
}

/** host and port from `listen_addr` (`:9000`, `0.0.0.0:9000`, `127.0.0.1:9000`, `[::]:9000`). */
export function parseListenAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m?.[3]) throw new Error(`cannot parse listen address ${addr}`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port: Number(m[3]) };
}

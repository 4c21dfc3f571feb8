import { describe, expect, test } from 'vitest';
import { diffForReload } from '../../../ops/config/index.js';
import type { Config } from '../../../ops/config/index.js';
import { baseConfig, configOf, withSections } from './config-fixtures.js';

type Entry = Record<string, unknown>;

const backend = (name: string, extra: Entry = {}): Entry => ({
  name, endpoint: `http://${name}.local:9000`, region: 'us-east-1', bucket: name, access_key_id: `${name}-key`, secret_access_key: 'secret', quota_bytes: '1GiB', ...extra,
});

const three = (): Entry[] => [backend('b1'), backend('b2'), backend('b3')];

function diff(before: Record<string, unknown>, after: Record<string, unknown>) {
  return diffForReload(configOf(before), configOf(after));
}

const current: Config = configOf(withSections({ backends: three() }));

describe('diffForReload', () => {
  test('identical configs change nothing', () => {
    const result = diffForReload(current, configOf(withSections({ backends: three() })));
    expect(result.restartRequired).toEqual([]);
    expect(result.reloadable.paths).toEqual([]);
    expect(Object.entries(result.reloadable).filter(([, v]) => v === true)).toEqual([]);
  });

  test.each([
    ['log level', { server: { log_level: 'debug' } }, 'log_level', 'server.log_level'],
    ['bucket credentials', { buckets: [{ name: 'photos', credentials: [{ access_key_id: 'AKPHOTOS', secret_access_key: 'rotated' }] }] }, 'buckets', 'buckets[0].credentials[0].secret_access_key'],
    ['bucket multipart cap', { buckets: [{ name: 'photos', max_multipart_uploads: 5, credentials: (baseConfig().buckets as Entry[])[0]?.credentials }] }, 'buckets', 'buckets[0].max_multipart_uploads'],
    ['rate limit rate', { rate_limit: { requests_per_sec: 50 } }, 'rate_limit', 'rate_limit.requests_per_sec'],
    ['rate limit burst', { rate_limit: { burst: 10 } }, 'rate_limit', 'rate_limit.burst'],
    ['enabling the rate limit', { rate_limit: { enabled: true } }, 'rate_limit', 'rate_limit.enabled'],
    ['trusted proxies', { rate_limit: { trusted_proxies: ['10.0.0.0/8'] } }, 'rate_limit', 'rate_limit.trusted_proxies[0] (added)'],
    ['rebalance', { rebalance: { enabled: true, strategy: 'spread' } }, 'rebalance', 'rebalance.enabled'],
    ['replication factor', { replication: { factor: 2 } }, 'replication', 'replication.factor'],
    ['replication threshold', { replication: { unhealthy_threshold: '20m' } }, 'replication', 'replication.unhealthy_threshold'],
    ['usage flush', { usage_flush: { adaptive_enabled: true } }, 'usage_flush', 'usage_flush.adaptive_enabled'],
    ['lifecycle', { lifecycle: { rules: [{ prefix: 'tmp/', expiration_days: 1 }] } }, 'lifecycle', 'lifecycle.rules[0] (added)'],
    ['cleanup queue', { cleanup_queue: { concurrency: 3 } }, 'cleanup_queue', 'cleanup_queue.concurrency'],
    ['enabling the object cache', { cache: { enabled: true } }, 'cache', 'cache.enabled'],
    ['the object cache size', { cache: { max_size: '1GiB' } }, 'cache', 'cache.max_size'],
  ] as const)('%s is reloadable', (_name, sections, flag, path) => {
    const result = diffForReload(current, configOf(withSections({ backends: three(), ...sections })));
    expect(result.restartRequired).toEqual([]);
    expect(result.reloadable[flag]).toBe(true);
    expect(result.reloadable.paths).toContain(path);
  });

  test.each([
    ['quota_bytes', { quota_bytes: '2GiB' }],
    ['api_request_limit', { api_request_limit: 1000 }],
    ['egress_byte_limit', { egress_byte_limit: '1GiB' }],
    ['ingress_byte_limit', { ingress_byte_limit: '1GiB' }],
  ])('backend %s is reloadable', (field, change) => {
    const result = diffForReload(current, configOf(withSections({ backends: [backend('b1'), backend('b2', change), backend('b3')] })));
    expect(result.restartRequired).toEqual([]);
    expect(result.reloadable.backend_limits).toEqual(['b2']);
    expect(result.reloadable.paths).toEqual([`backends.b2.${field}`]);
  });

  test.each([
    ['server.listen_addr', { server: { listen_addr: ':9100' } }],
    ['server.read_timeout', { server: { read_timeout: '10m' } }],
    ['server.backend_timeout', { server: { backend_timeout: '1m' } }],
    ['server.shutdown_delay', { server: { shutdown_delay: '5s' } }],
    ['server.max_concurrent_requests', { server: { max_concurrent_requests: 5 } }],
    ['database.path', { database: { path: '/srv/pg' } }],
    ['telemetry.metrics.enabled', { telemetry: { metrics: { enabled: true } } }],
    ['ui.admin_token', { ui: { admin_token: 'new' } }],
    ['routing_strategy', { routing_strategy: 'spread' }],
    ['encryption.chunk_size', { encryption: { chunk_size: 4096 } }],
    ['circuit_breaker.open_timeout', { circuit_breaker: { open_timeout: '1m' } }],
    ['backend_circuit_breaker.enabled', { backend_circuit_breaker: { enabled: true } }],
    ['reconcile.enabled', { reconcile: { enabled: true } }],
  ])('%s needs a restart', (path, sections) => {
    const result = diffForReload(current, configOf(withSections({ backends: three(), ...sections })));
    expect(result.restartRequired).toEqual([path]);
    expect(result.reloadable.paths).toEqual([]);
  });

  test('a database switch lists the changed fields, never their values', () => {
    const result = diff(withSections({ database: { host: 'db1', database: 'd', user: 'u', password: 'old-password' } }),
      withSections({ database: { host: 'db1', database: 'd', user: 'u', password: 'new-password' } }));
    expect(result.restartRequired).toEqual(['database.password']);
    expect(JSON.stringify(result)).not.toMatch(/old-password|new-password/);
  });

  test.each([
    ['endpoint', { endpoint: 'http://elsewhere:9000' }],
    ['region', { region: 'eu-west-1' }],
    ['bucket', { bucket: 'other' }],
    ['access_key_id', { access_key_id: 'new-key' }],
    ['secret_access_key', { secret_access_key: 'new-secret' }],
    ['force_path_style', { force_path_style: true }],
    ['unsigned_payload', { unsigned_payload: false }],
    ['max_object_size', { max_object_size: '1MiB' }],
  ])('backend %s needs a restart', (field, change) => {
    const result = diffForReload(current, configOf(withSections({ backends: [backend('b1'), backend('b2', change), backend('b3')] })));
    expect(result.restartRequired).toEqual([`backends.b2.${field}`]);
    expect(result.reloadable.backend_limits).toEqual([]);
  });

  test('adding a backend needs a restart', () => {
    const result = diffForReload(current, configOf(withSections({ backends: [...three(), backend('b4')] })));
    expect(result.restartRequired).toEqual(['backends[3] (added)']);
  });

  test('removing a backend needs a restart', () => {
    const result = diffForReload(current, configOf(withSections({ backends: [backend('b1'), backend('b3')] })));
    expect(result.restartRequired).toEqual(['backends[1] (removed)']);
  });

  test('reordering backends needs a restart (pack fills them in order)', () => {
    const result = diffForReload(current, configOf(withSections({ backends: [backend('b2'), backend('b1'), backend('b3')] })));
    expect(result.restartRequired).toEqual(['backends (reordered)']);
  });

  test('renaming a backend is a removal and an addition', () => {
    const result = diffForReload(current, configOf(withSections({ backends: [backend('b1'), backend('b2x'), backend('b3')] })));
    expect(result.restartRequired).toEqual(['backends[1] (removed)', 'backends[1] (added)']);
  });

  test('reloadable and restart-only changes are reported together', () => {
    const result = diffForReload(current, configOf(withSections({
      backends: [backend('b1', { quota_bytes: '5GiB' }), backend('b2', { endpoint: 'http://moved:1' }), backend('b3'), backend('b4')],
      server: { log_level: 'warn', listen_addr: ':9999' },
      replication: { factor: 3 },
    })));
    expect(result.restartRequired).toEqual(['server.listen_addr', 'backends[3] (added)', 'backends.b2.endpoint']);
    expect(result.reloadable).toMatchObject({ log_level: true, replication: true, backend_limits: ['b1'], buckets: false });
    expect(result.reloadable.paths).toEqual(['server.log_level', 'backends.b1.quota_bytes', 'replication.factor']);
  });
});

import { describe, expect, test } from 'vitest';
import { loadConfig, parseConfigText } from '../../../ops/config/index.js';
import { baseConfig, configOf, errorsOf, errorsOfText, withSections } from './config-fixtures.js';

/** A config written for the Go original, using every key it documents (features left off). */
const originalConfig = `
server:
  listen_addr: "0.0.0.0:9000"
  log_level: info
  max_object_size: 5368709120
  max_concurrent_requests: 1000
  max_concurrent_reads: 0
  max_concurrent_writes: 0
  load_shed_threshold: 0
  admission_wait: 0
  backend_timeout: 30s
  read_header_timeout: 10s
  read_timeout: 5m
  write_timeout: 5m
  idle_timeout: 120s
  shutdown_delay: 0
  tls: { cert_file: "", key_file: "", min_version: 1.2, client_ca_file: "" }
database:
  host: postgres.internal
  port: 5432
  database: s3orchestrator
  user: s3orchestrator
  password: "\${DB_PASSWORD}"
  ssl_mode: require
  max_conns: 50
  min_conns: 10
  max_conn_lifetime: 5m
buckets:
  - name: default
    max_multipart_uploads: 100
    credentials:
      - { access_key_id: AKIADEFAULT, secret_access_key: "\${DEFAULT_SECRET}" }
      - { token: "\${LEGACY_TOKEN}" }
backends:
  - name: oci
    endpoint: https://namespace.compat.objectstorage.us-ashburn-1.oraclecloud.com
    region: us-ashburn-1
    bucket: my-bucket
    credential_source: static
    access_key_id: "\${OCI_ACCESS_KEY}"
    secret_access_key: "\${OCI_SECRET_KEY}"
    force_path_style: true
    unsigned_payload: true
    quota_bytes: 21474836480
    max_object_size: 0
    api_request_limit: 50000
    egress_byte_limit: 10737418240
    ingress_byte_limit: 0
  - name: b2
    endpoint: https://s3.us-west-004.backblazeb2.com
    region: us-west-004
    bucket: my-b2-bucket
    access_key_id: "\${B2_KEY}"
    secret_access_key: "\${B2_SECRET}"
    quota_bytes: 10737418240
routing_strategy: pack
encryption: { enabled: false, chunk_size: 65536, master_key: "", master_key_file: "", previous_keys: [] }
compression: { enabled: false, level: default, chunk_size: 1048576, min_size: 4096, min_ratio: 0.95 }
integrity: { enabled: false, verify_on_read: false, verify_on_replicate: false, scrubber_interval: 0, scrubber_batch_size: 100 }
cache: { enabled: false, max_size: 256MB, max_object_size: 10MB, ttl: 5m }
rebalance: { enabled: true, strategy: spread, interval: 6h, batch_size: 100, threshold: 0.1, concurrency: 5 }
replication: { factor: 2, worker_interval: 5m, batch_size: 50, unhealthy_threshold: 10m }
cleanup_queue: { concurrency: 10, multipart_stale_timeout: 24h }
lifecycle: { batch_size: 100, rules: [ { prefix: "tmp/", expiration_days: 7 } ] }
rate_limit: { enabled: true, requests_per_sec: 100, burst: 200, cleanup_interval: 1m, cleanup_max_age: 5m, trusted_proxies: ["10.0.0.0/8", "fd00::/8"] }
circuit_breaker: { failure_threshold: 3, open_timeout: 15s, cache_ttl: 60s, parallel_broadcast: false, degraded_broadcast_parallelism: 0 }
backend_circuit_breaker: { enabled: false, failure_threshold: 5, open_timeout: 5m }
usage_flush: { interval: 30s, adaptive_enabled: false, adaptive_threshold: 0.8, fast_interval: 5s }
notifications: { endpoints: [] }
reconcile: { enabled: false, interval: 24h }
telemetry:
  metrics: { enabled: true, path: /metrics, listen: "127.0.0.1:9091" }
  tracing: { enabled: false, endpoint: "", sample_rate: 1.0, insecure: false }
ui: { enabled: false, path: /ui, admin_key: "\${ADMIN_KEY}", admin_secret: "", session_secret: "", admin_token: "", force_secure_cookies: false }
`;

const originalEnv = {
  DB_PASSWORD: 'pw', DEFAULT_SECRET: 's', LEGACY_TOKEN: 't', OCI_ACCESS_KEY: 'k', OCI_SECRET_KEY: 's', B2_KEY: 'k', B2_SECRET: 's', ADMIN_KEY: 'a',
};

describe('accepted configs', () => {
  test('the reference sample parses with no warnings and the documented defaults', async () => {
    const result = await loadConfig(new URL('../../../ops/config/samples/reference.yaml', import.meta.url).pathname, {});
    if (!result.ok) expect.fail(result.errors.join('\n'));
    expect(result.warnings).toEqual([]);
    const { config } = result;
    expect(config.server).toMatchObject({ listen_addr: ':9000', max_object_size: 5 * 2 ** 30, small_body_buffer: 8 * 2 ** 20, backend_timeout: 30_000 });
    expect(config.database).toEqual({ driver: 'embedded', path: './data/postgres', port: null, max_conns: 10, min_conns: 2, max_conn_lifetime: 300_000, single_writer: null });
    expect(config.buckets[0]?.credentials).toHaveLength(2);
    expect(config.backends.map((b) => [b.name, b.quota_bytes])).toEqual([['b1', 10 * 2 ** 30], ['b2', 10 * 2 ** 30]]);
    expect(Object.isFrozen(config.backends[0])).toBe(true);
  });

  test("a config written for the original (every documented key) parses", () => {
    const result = parseConfigText(originalConfig, originalEnv);
    if (!result.ok) expect.fail(result.errors.join('\n'));
    const { config } = result;
    expect(config.database).toMatchObject({ driver: 'postgres', host: 'postgres.internal', password: 'pw', ssl_mode: 'require', max_conns: 50 });
    expect(config.server.tls.min_version).toBe('1.2');
    expect(config.rebalance).toEqual({ enabled: true, strategy: 'spread', interval: 21_600_000, batch_size: 100, threshold: 0.1, concurrency: 5 });
    expect(config.cache.max_size).toBe(256 * 2 ** 20);
    expect(config.rate_limit.trusted_proxies).toEqual(['10.0.0.0/8', 'fd00::/8']);
    expect(config.telemetry.metrics.listen).toBe('127.0.0.1:9091');
  });

  test('a minimal config gets every default', () => {
    const config = configOf(baseConfig());
    expect(config.server).toEqual({
      listen_addr: ':9000', log_level: 'info', max_object_size: 5_368_709_120, small_body_buffer: 8_388_608, write_failover_attempts: 2,
      region: 'us-east-1', additional_regions: [],
      max_concurrent_requests: 1000, max_concurrent_reads: 0, max_concurrent_writes: 0, load_shed_threshold: 0,
      admission_wait: 0, backend_timeout: 30_000, read_header_timeout: 10_000, read_timeout: 300_000, write_timeout: 300_000,
      idle_timeout: 120_000, shutdown_delay: 0, tls: { cert_file: null, key_file: null, min_version: '1.2', client_ca_file: null },
    });
    expect(config.routing_strategy).toBe('pack');
    expect(config.replication).toEqual({ factor: 1, write_copies: 1, worker_interval: 300_000, batch_size: 50, concurrency: 5, unhealthy_threshold: 600_000 });
    expect(config.rebalance).toEqual({ enabled: false, strategy: 'pack', interval: 21_600_000, batch_size: 100, threshold: 0.1, concurrency: 5 });
    expect(config.cleanup_queue).toEqual({ concurrency: 10, max_attempts: 10, multipart_stale_timeout: 86_400_000, failed_write_grace: 300_000 });
    expect(config.lifecycle).toEqual({ interval: 3_600_000, batch_size: 100, rules: [] });
    expect(config.reconcile).toEqual({ enabled: false, interval: 86_400_000 });
    expect(config.rate_limit).toEqual({ enabled: false, requests_per_sec: 100, burst: 200, cleanup_interval: 60_000, cleanup_max_age: 300_000, trusted_proxies: [] });
    expect(config.circuit_breaker).toEqual({ failure_threshold: 3, open_timeout: 15_000, cache_ttl: 60_000, parallel_broadcast: false, degraded_broadcast_parallelism: 0 });
    expect(config.backend_circuit_breaker).toEqual({ enabled: false, failure_threshold: 5, open_timeout: 300_000 });
    expect(config.usage_flush).toEqual({ interval: 30_000, adaptive_enabled: false, adaptive_threshold: 0.8, fast_interval: 5_000 });
    expect(config.telemetry).toEqual({ metrics: { enabled: false, path: '/metrics', listen: null }, tracing: { enabled: false, endpoint: null, sample_rate: 1, insecure: false } });
    expect(config.redis).toBeNull();
    expect(config.buckets[0]?.max_multipart_uploads).toBe(100);
    expect(config.backends[0]).toMatchObject({ region: 'us-east-1', credential_source: 'static', force_path_style: false, unsigned_payload: true, max_object_size: 0 });
  });

  test('sizes and durations are accepted in every written form', () => {
    const config = configOf(withSections({
      server: { max_object_size: '1GiB', small_body_buffer: 1048576, backend_timeout: 45, read_timeout: '1h30m', write_timeout: '2h', shutdown_delay: '500ms' },
      usage_flush: { interval: '1m', fast_interval: 10 },
    }));
    expect(config.server).toMatchObject({ max_object_size: 2 ** 30, small_body_buffer: 2 ** 20, backend_timeout: 45_000, read_timeout: 5_400_000, shutdown_delay: 500 });
    expect(config.usage_flush).toMatchObject({ interval: 60_000, fast_interval: 10_000 });
  });

  test('scalars are read by the field type: unquoted numbers keep their text in text fields; yes/no and quoted numbers work', () => {
    const text = `
server: { max_concurrent_requests: "250", tls: { min_version: 1.3 } }
rate_limit: { enabled: yes }
buckets:
  - name: "123"
    credentials: [ { access_key_id: 000123, secret_access_key: 0x1F } ]
backends:
  - { name: b1, endpoint: "http://h:1", bucket: one, access_key_id: 1, secret_access_key: true }
`;
    const result = parseConfigText(text, {});
    if (!result.ok) expect.fail(result.errors.join('\n'));
    expect(result.config.server.max_concurrent_requests).toBe(250);
    expect(result.config.server.tls.min_version).toBe('1.3');
    expect(result.config.rate_limit.enabled).toBe(true);
    expect(result.config.buckets[0]?.credentials[0]).toEqual({ access_key_id: '000123', secret_access_key: '0x1F', token: null });
    expect(result.config.backends[0]).toMatchObject({ access_key_id: '1', secret_access_key: 'true' });
  });

  test('anchors and merge keys work', () => {
    const result = parseConfigText(`
x-backend: &backend { region: eu-1, bucket: shared, access_key_id: k, secret_access_key: s, quota_bytes: 1GiB }
buckets: [ { name: photos, credentials: [ { token: t } ] } ]
backends:
  - { <<: *backend, name: b1, endpoint: "http://h:1" }
`, {});
    expect(result.ok ? [] : result.errors).toEqual(['x-backend: unknown key']);
    const ok = parseConfigText(`
buckets: [ { name: photos, credentials: [ { token: t } ] } ]
backends:
  - &first { name: b1, endpoint: "http://h:1", region: eu-1, bucket: shared, access_key_id: k, secret_access_key: s, quota_bytes: 1GiB }
  - { <<: *first, name: b2, endpoint: "http://h:2" }
`, {});
    if (!ok.ok) expect.fail(ok.errors.join('\n'));
    expect(ok.config.backends[1]).toMatchObject({ name: 'b2', endpoint: 'http://h:2', region: 'eu-1', quota_bytes: 2 ** 30 });
  });

  test('an empty section or value means its defaults', () => {
    const result = parseConfigText(`
server:
rebalance:
  strategy:
buckets: [ { name: photos, credentials: [ { token: t } ] } ]
backends: [ { name: b1, endpoint: "http://h:1", bucket: one, access_key_id: k, secret_access_key: s } ]
`, {});
    if (!result.ok) expect.fail(result.errors.join('\n'));
    expect(result.config.server.listen_addr).toBe(':9000');
    expect(result.config.rebalance.strategy).toBe('pack');
  });
});

describe('unknown keys', () => {
  test('are reported with their full path and a suggestion', () => {
    const config = baseConfig();
    (config.backends as Record<string, unknown>[])[1] = { ...(config.backends as Record<string, unknown>[])[1], quta_bytes: 5 };
    expect(errorsOf({ ...config, server: { listen_adr: ':1', tls: { certfile: 'x' } }, replicaton: { factor: 2 }, lifecycle: { rules: [{ prefix: 'a/', expiration_days: 1, bukcet: 'x' }] } })).toEqual([
      'replicaton: unknown key (did you mean replication?)',
      'server.tls.certfile: unknown key (did you mean cert_file?)',
      'server.listen_adr: unknown key (did you mean listen_addr?)',
      'backends[1].quta_bytes: unknown key (did you mean quota_bytes?)',
      'lifecycle.rules[0].bukcet: unknown key (did you mean bucket?)',
    ]);
  });

  test('a key with no close match gets no suggestion', () => {
    expect(errorsOf(withSections({ database: { flavour: 'x' } }))).toEqual(['database.flavour: unknown key']);
  });

  test('keys of newer original versions that we do not accept are unknown', () => {
    const config = baseConfig();
    (config.backends as Record<string, unknown>[])[0] = { ...(config.backends as Record<string, unknown>[])[0], disable_checksum: true };
    expect(errorsOf(config)).toEqual(['backends[0].disable_checksum: unknown key']);
  });
});

describe('field types', () => {
  test('wrong shapes and values name the field', () => {
    expect(errorsOfText(`
server: [1, 2]
buckets: { name: photos }
backends:
  - name: "bad name"
    endpoint: ftp://x
    bucket: one
    access_key_id: k
    secret_access_key: s
    quota_bytes: lots
    force_path_style: maybe
rebalance: { strategy: fill, threshold: 0 }
telemetry: { metrics: { path: metrics, listen: "9091" } }
`, {})).toEqual([
      'server: must be a mapping of keys to values',
      'buckets: must be a list',
      'backends[0].endpoint: must be an http:// or https:// URL',
      'backends[0].force_path_style: must be true or false',
      'backends[0].quota_bytes: must be a size: a number of bytes, or a number with a unit such as 256MB or 10MiB',
      'rebalance.strategy: must be one of: pack, spread (got "fill")',
      'rebalance.threshold: must be in (0, 1]',
      "telemetry.metrics.path: must start with '/'",
      'telemetry.metrics.listen: must be host:port or :port, e.g. ":9000" or "127.0.0.1:9000"',
    ]);
  });

  test('negative sizes and durations are rejected', () => {
    expect(errorsOf(withSections({ server: { shutdown_delay: '-5s', small_body_buffer: -1 } }))).toEqual([
      'server.small_body_buffer: must not be negative',
      'server.shutdown_delay: must not be negative',
    ]);
  });

  test('server.write_failover_attempts is a whole number from 0', () => {
    expect(configOf(withSections({ server: { write_failover_attempts: 0 } })).server.write_failover_attempts).toBe(0);
    expect(errorsOf(withSections({ server: { write_failover_attempts: -1 } })))
      .toEqual([expect.stringMatching(/^server\.write_failover_attempts: /)]);
    expect(errorsOf(withSections({ server: { write_failover_attempts: 1.5 } })))
      .toEqual([expect.stringMatching(/^server\.write_failover_attempts: /)]);
  });

  test('a top level that is not a mapping is rejected', () => {
    expect(errorsOfText('- a\n- b\n')).toEqual(['the config must be a mapping of sections (server:, buckets:, backends:, …)']);
  });

  test('an empty file reports the missing buckets and backends', () => {
    expect(errorsOfText('')).toEqual(['buckets: at least one bucket is required', 'backends: at least one backend is required']);
  });

  test('a missing file is reported', async () => {
    const result = await loadConfig('/nonexistent/s3o.yaml');
    expect(result).toEqual({ ok: false, errors: ['cannot read config file /nonexistent/s3o.yaml: file not found'], warnings: [] });
  });
});

describe('the reference sample', () => {
  test('mentions every key the schema accepts', async () => {
    const { readFile } = await import('node:fs/promises');
    const { knownKeysAt } = await import('../../../ops/config/issues.js');
    const { sectionSchemas } = await import('../../../ops/config/schema/index.js');
    const text = await readFile(new URL('../../../ops/config/samples/reference.yaml', import.meta.url), 'utf8');
    const written = new Set([...text.matchAll(/^[\s#-]*([a-z_]+):/gm)].map((m) => m[1]));
    const missing: string[] = [];
    const visit = (schema: unknown, path: (string | number)[], label: string): void => {
      for (const key of knownKeysAt(schema, path)) {
        if (!written.has(key)) missing.push(`${label}.${key}`);
        visit(schema, [...path, key], `${label}.${key}`);
        visit(schema, [...path, key, 0], `${label}.${key}[]`);
      }
    };
    for (const [name, schema] of Object.entries(sectionSchemas)) {
      if (!written.has(name)) missing.push(name);
      visit(schema, [], name);
      visit(schema, [0], `${name}[]`);
    }
    expect(missing).toEqual([]);
  });
});

import { describe, expect, test } from 'vitest';
import { baseConfig, configOf, errorsOf, parseObject, secrets, withSections } from './config-fixtures.js';

type Entry = Record<string, unknown>;

const backend = (name: string, extra: Entry = {}): Entry => ({
  name, endpoint: `http://127.0.0.1:9${name.length}01`, bucket: name, access_key_id: `${name}-key`, secret_access_key: secrets.backendSecret, ...extra,
});
const bucket = (name: string, credentials: Entry[] = [{ token: `${name}-token` }], extra: Entry = {}): Entry => ({ name, credentials, ...extra });

describe('buckets', () => {
  test.each([
    ['', 'buckets[0].name: is required'],
    ['a/b', "buckets[0].name: must not contain '/'"],
    ['ab', 'buckets[0].name: must be 3 to 63 characters long'],
    ['x'.repeat(64), 'buckets[0].name: must be 3 to 63 characters long'],
    ['Photos', "buckets[0].name: may contain only lowercase letters, digits, '-' and '.'"],
    ['my_bucket', "buckets[0].name: may contain only lowercase letters, digits, '-' and '.'"],
    ['-photos', 'buckets[0].name: must begin and end with a lowercase letter or digit'],
    ['a..b', "buckets[0].name: must not contain '..'"],
    ['192.168.1.1', 'buckets[0].name: must not be formatted as an IP address'],
  ])('name %j is rejected', (name, message) => {
    expect(errorsOf(withSections({ buckets: [bucket(name)] }))).toEqual([message]);
  });

  test('names must be unique', () => {
    expect(errorsOf(withSections({ buckets: [bucket('photos'), bucket('docs'), bucket('photos', [{ token: 'other' }])] })))
      .toEqual(['buckets[2].name: duplicate bucket name "photos" (also buckets[0])']);
  });

  test('at least one bucket, and at least one credential per bucket', () => {
    expect(errorsOf(withSections({ buckets: [] }))).toEqual(['buckets: at least one bucket is required']);
    expect(errorsOf(withSections({ buckets: [bucket('photos', [])] }))).toEqual(['buckets[0].credentials: at least one credential is required']);
  });

  test('a credential needs a key pair or a token', () => {
    expect(errorsOf(withSections({ buckets: [bucket('photos', [{ token: 't' }, { access_key_id: 'AK' }, {}])] }))).toEqual([
      'buckets[0].credentials[1]: must have access_key_id+secret_access_key or token',
      'buckets[0].credentials[2]: must have access_key_id+secret_access_key or token',
    ]);
    expect(errorsOf(withSections({ buckets: [bucket('photos', [{ secret_access_key: 's', token: 't' }])] })))
      .toEqual(['buckets[0].credentials[0].access_key_id: is required when the other half of the key pair is set']);
  });

  test('access key ids are unique across buckets; duplicate tokens are reported without the token', () => {
    const errors = errorsOf(withSections({
      buckets: [
        bucket('photos', [{ access_key_id: 'AKSHARED', secret_access_key: 'a' }, { token: secrets.bucketToken }]),
        bucket('docs', [{ access_key_id: 'AKSHARED', secret_access_key: 'b' }, { token: secrets.bucketToken }]),
      ],
    }));
    expect(errors).toEqual([
      'buckets[1].credentials[0].access_key_id: duplicate access_key_id "AKSHARED" (already used by buckets[0].credentials[0])',
      'buckets[1].credentials[1].token: the same token is already used by buckets[0].credentials[1]; each token must be unique',
    ]);
    expect(errors.join('\n')).not.toContain(secrets.bucketToken);
  });

  test('max_multipart_uploads: 0 is unlimited, negative is rejected', () => {
    expect(configOf(withSections({ buckets: [bucket('photos', undefined, { max_multipart_uploads: 0 })] })).buckets[0]?.max_multipart_uploads).toBe(0);
    expect(errorsOf(withSections({ buckets: [bucket('photos', undefined, { max_multipart_uploads: -1 })] })))
      .toEqual(['buckets[0].max_multipart_uploads: must not be negative']);
  });
});

describe('backends', () => {
  test('names must be unique and usable as identifiers', () => {
    expect(errorsOf(withSections({ backends: [backend('b1'), backend('b1'), backend('bad name')] }))).toEqual([
      "backends[2].name: must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit",
    ]);
    expect(errorsOf(withSections({ backends: [backend('b1', { quota_bytes: 1 }), backend('b1', { quota_bytes: 1 })] })))
      .toEqual(['backends[1].name: duplicate backend name "b1" (also backends[0])']);
  });

  test('endpoint, bucket and both keys are required', () => {
    expect(errorsOf(withSections({ backends: [{ name: 'b1' }] }))).toEqual([
      'backends[0].endpoint: is required',
      'backends[0].bucket: is required',
      'backends[0].access_key_id: is required',
      'backends[0].secret_access_key: is required',
    ]);
  });

  test('an unnamed backend is called backend-<index>, with a warning', () => {
    const { name: _name, ...unnamed } = backend('x');
    const result = parseObject(withSections({ backends: [unnamed] }));
    if (!result.ok) expect.fail(result.errors.join('\n'));
    expect(result.config.backends[0]?.name).toBe('backend-0');
    expect(result.warnings).toEqual([expect.stringContaining('backends[0].name is not set, so it is called "backend-0"')]);
  });

  test('at least one backend', () => {
    expect(errorsOf(withSections({ backends: [] }))).toEqual(['backends: at least one backend is required']);
  });

  test('quotas and limits must not be negative', () => {
    expect(errorsOf(withSections({ backends: [backend('b1', { quota_bytes: -1, api_request_limit: -1, egress_byte_limit: '-1MB', ingress_byte_limit: -5 })] }))).toEqual([
      'backends[0].quota_bytes: must not be negative',
      'backends[0].api_request_limit: must not be negative',
      'backends[0].egress_byte_limit: must not be negative',
      'backends[0].ingress_byte_limit: must not be negative',
    ]);
  });

  test('unlimited and quota-limited backends cannot be mixed', () => {
    expect(errorsOf(withSections({ backends: [backend('b1', { quota_bytes: '1GiB' }), backend('b2'), backend('b3')], replication: { factor: 2 } })))
      .toEqual([expect.stringMatching(/^backends: cannot mix unlimited \(quota_bytes: 0\) and quota-limited backends/)]);
  });

  test('two or more unlimited backends need replication.factor >= 2', () => {
    expect(errorsOf(withSections({ backends: [backend('b1'), backend('b2')] })))
      .toEqual([expect.stringMatching(/^backends: 2 backends have unlimited quota \(quota_bytes: 0\), which requires replication\.factor >= 2/)]);
    expect(configOf(withSections({ backends: [backend('b1'), backend('b2')], replication: { factor: 2 } })).replication.factor).toBe(2);
    expect(configOf(withSections({ backends: [backend('b1')] })).backends[0]?.quota_bytes).toBe(0);
  });

  test('replication.factor cannot exceed the number of backends', () => {
    expect(errorsOf(withSections({ replication: { factor: 3 } }))).toEqual(['replication.factor (3) exceeds the number of backends (2)']);
  });
});

describe('replication', () => {
  test('write_copies must not exceed factor', () => {
    expect(errorsOf(withSections({ replication: { factor: 2, write_copies: 3 } })))
      .toEqual(['replication.write_copies: (3) must not exceed replication.factor (2)']);
    expect(configOf(withSections({ replication: { factor: 2, write_copies: 2 } })).replication.write_copies).toBe(2);
  });

  test('unhealthy_threshold 0 is an error, not a silent default', () => {
    expect(errorsOf(withSections({ replication: { unhealthy_threshold: 0 } }))).toEqual(['replication.unhealthy_threshold: must be > 0']);
  });

  test('factor 0 and non-positive worker settings are rejected', () => {
    expect(errorsOf(withSections({ replication: { factor: 0, batch_size: 0, concurrency: -1, worker_interval: '0s' } }))).toEqual([
      'replication.factor: must be > 0',
      'replication.worker_interval: must be > 0',
      'replication.batch_size: must be > 0',
      'replication.concurrency: must be > 0',
    ]);
  });
});

describe('strategies, levels and ranges', () => {
  test('routing_strategy and rebalance.strategy are pack or spread', () => {
    expect(errorsOf(withSections({ routing_strategy: 'random', rebalance: { strategy: 'fill' } }))).toEqual([
      'routing_strategy: must be one of: pack, spread (got "random")',
      'rebalance.strategy: must be one of: pack, spread (got "fill")',
    ]);
  });

  test.each([[0, false], [1, true], [1.5, false], [0.5, true]])('rebalance.threshold %d accepted: %s', (threshold, ok) => {
    expect(parseObject(withSections({ rebalance: { threshold } })).ok).toBe(ok);
  });

  test('log_level is debug, info, warn or error', () => {
    expect(errorsOf(withSections({ server: { log_level: 'trace' } }))).toEqual(['server.log_level: must be one of: debug, info, warn, error (got "trace")']);
  });

  test.each([[0, true], [0.9, true], [1, false], [-0.1, false]])('load_shed_threshold %d accepted: %s', (load_shed_threshold, ok) => {
    expect(parseObject(withSections({ server: { load_shed_threshold } })).ok).toBe(ok);
  });

  test('timeouts: read_header_timeout <= read_timeout and backend_timeout <= write_timeout', () => {
    expect(errorsOf(withSections({ server: { read_header_timeout: '2m', read_timeout: '1m', backend_timeout: '10m' } }))).toEqual([
      'server.read_header_timeout: must not exceed server.read_timeout',
      'server.backend_timeout: must not exceed server.write_timeout',
    ]);
  });

  test('tls needs cert_file and key_file together', () => {
    expect(errorsOf(withSections({ server: { tls: { key_file: '/k.pem' } } }))).toEqual(['server.tls: requires both cert_file and key_file, or neither']);
  });

  test('usage_flush: fast_interval shorter than interval, adaptive_threshold in (0, 1)', () => {
    expect(errorsOf(withSections({ usage_flush: { interval: '10s', fast_interval: '10s', adaptive_threshold: 1 } }))).toEqual([
      'usage_flush.adaptive_threshold: must be in (0, 1)',
    ]);
    expect(errorsOf(withSections({ usage_flush: { interval: '10s', fast_interval: '10s' } }))).toEqual([
      'usage_flush.fast_interval: must be shorter than usage_flush.interval',
    ]);
  });

  test('trusted_proxies must be CIDRs, even while rate limiting is off', () => {
    expect(errorsOf(withSections({ rate_limit: { trusted_proxies: ['10.0.0.0/8', '10.0.0.1', '300.0.0.0/8', '::1/129', 'fd00::/8'] } }))).toEqual([
      'rate_limit.trusted_proxies[1]: must be a CIDR such as 10.0.0.0/8 or fd00::/8',
      'rate_limit.trusted_proxies[2]: must be a CIDR such as 10.0.0.0/8 or fd00::/8',
      'rate_limit.trusted_proxies[3]: must be a CIDR such as 10.0.0.0/8 or fd00::/8',
    ]);
  });

  test('split admission pools need both limits; a lone one is warned about', () => {
    const result = parseObject(withSections({ server: { max_concurrent_reads: 10 } }));
    expect(result.ok && result.warnings).toEqual([expect.stringContaining('only take effect when both are > 0')]);
  });
});

describe('lifecycle', () => {
  const lifecycle = (rules: Entry[]): Record<string, unknown> => withSections({ lifecycle: { rules } });

  test('rules need a non-empty prefix and expiration_days > 0', () => {
    expect(errorsOf(lifecycle([{ prefix: '', expiration_days: 0 }, { expiration_days: 3 }, { prefix: 'a/' }]))).toEqual([
      'lifecycle.rules[0].prefix: is required',
      'lifecycle.rules[0].expiration_days: must be > 0',
      'lifecycle.rules[1].prefix: is required',
      'lifecycle.rules[2].expiration_days: is required',
    ]);
  });

  test('a rule restricted to a bucket must name a configured bucket', () => {
    expect(errorsOf(lifecycle([{ bucket: 'nope', prefix: 'tmp/', expiration_days: 1 }])))
      .toEqual(['lifecycle.rules[0].bucket: no bucket named "nope" is configured']);
    expect(configOf(lifecycle([{ bucket: 'photos', prefix: 'tmp/', expiration_days: 1 }])).lifecycle.rules)
      .toEqual([{ bucket: 'photos', prefix: 'tmp/', expiration_days: 1 }]);
  });

  test('two rules for the same bucket and prefix are rejected', () => {
    expect(errorsOf(lifecycle([{ prefix: 'tmp/', expiration_days: 1 }, { prefix: 'tmp/', expiration_days: 2 }])))
      .toEqual(['lifecycle.rules[1]: duplicates lifecycle.rules[0] (same bucket and prefix)']);
  });

  test('a prefix written as bucket/key (the original internal form) gets a warning', () => {
    const result = parseObject(lifecycle([{ prefix: 'photos/tmp/', expiration_days: 1 }]));
    expect(result.ok && result.warnings).toEqual([expect.stringContaining('did you mean bucket: photos and prefix: tmp/?')]);
  });
});

describe('database', () => {
  test('driver sqlite is rejected with the alternatives', () => {
    expect(errorsOf(withSections({ database: { driver: 'sqlite', path: 'x.db' } })))
      .toEqual(['database.driver: sqlite is not supported; use embedded (zero-setup PostgreSQL, also the default) or postgres']);
  });

  test('an unknown driver is rejected', () => {
    expect(errorsOf(withSections({ database: { driver: 'mysql' } }))).toEqual(['database.driver: must be one of: embedded, postgres (got "mysql")']);
  });

  test('postgres is inferred from host and needs database and user', () => {
    expect(errorsOf(withSections({ database: { host: 'db.internal' } }))).toEqual([
      'database.database: is required with driver postgres',
      'database.user: is required with driver postgres',
    ]);
    expect(errorsOf(withSections({ database: { driver: 'postgres' } }))).toHaveLength(3);
  });

  test('postgres settings without a host are an error rather than a silent embedded database', () => {
    expect(errorsOf(withSections({ database: { database: 's3o', user: 's3o' } })))
      .toEqual([expect.stringMatching(/^database\.host: is required when database, user, password or ssl_mode are set/)]);
  });

  test('ssl_mode defaults to disable on the local machine and require elsewhere', () => {
    const pg = (host: string, extra: Entry = {}) => configOf(withSections({ database: { host, database: 'd', user: 'u', ...extra } })).database;
    expect(pg('localhost')).toMatchObject({ driver: 'postgres', ssl_mode: 'disable', port: 5432, max_conns: 10, min_conns: 2, max_conn_lifetime: 300_000 });
    expect(pg('127.0.0.1')).toMatchObject({ ssl_mode: 'disable' });
    expect(pg('/var/run/postgresql')).toMatchObject({ ssl_mode: 'disable' });
    expect(pg('db.internal')).toMatchObject({ ssl_mode: 'require' });
    expect(pg('db.internal', { ssl_mode: 'verify-full' })).toMatchObject({ ssl_mode: 'verify-full' });
    expect(errorsOf(withSections({ database: { host: 'h', database: 'd', user: 'u', ssl_mode: 'on' } })))
      .toEqual(['database.ssl_mode: must be one of: disable, allow, prefer, require, verify-ca, verify-full']);
  });

  test('min_conns must not exceed max_conns', () => {
    expect(errorsOf(withSections({ database: { max_conns: 3, min_conns: 5 } }))).toEqual(['database.min_conns: must not exceed max_conns (3)']);
  });

  test('keys of the other driver are ignored with a warning', () => {
    const embedded = parseObject(withSections({ database: { driver: 'embedded', host: 'db', path: '/var/lib/s3o' } }));
    expect(embedded.ok && embedded.config.database).toMatchObject({ driver: 'embedded', path: '/var/lib/s3o' });
    expect(embedded.warnings).toEqual(['database.host is ignored with driver embedded']);
    const postgres = parseObject(withSections({ database: { host: 'db', database: 'd', user: 'u', path: 'x' } }));
    expect(postgres.warnings).toEqual(['database.path is ignored with driver postgres']);
  });
});

test('the base fixture is valid', () => {
  expect(configOf(baseConfig()).buckets.map((b) => b.name)).toEqual(['photos']);
});

import { describe, expect, test } from 'vitest';
import { redactConfig, redacted, summarizeConfig } from '../../../ops/config/index.js';
import { configOf, secrets, withSections } from './config-fixtures.js';

const full = () => configOf(withSections({
  database: { host: 'db.internal', database: 's3o', user: 's3o', password: secrets.dbPassword },
  backends: [
    { name: 'b1', endpoint: 'https://s3.example.com', region: 'eu-1', bucket: 'one', access_key_id: 'b1-key', secret_access_key: secrets.backendSecret, quota_bytes: '10GiB', api_request_limit: 50000, egress_byte_limit: '1TiB' },
    { name: 'b2', endpoint: 'http://127.0.0.1:9002', bucket: 'two', access_key_id: 'b2-key', secret_access_key: secrets.backendSecret, quota_bytes: 1536, force_path_style: true },
  ],
  replication: { factor: 2, write_copies: 2 },
  rebalance: { enabled: true, strategy: 'spread', threshold: 0.25 },
  lifecycle: { rules: [{ bucket: 'photos', prefix: 'tmp/', expiration_days: 7 }, { prefix: 'logs/', expiration_days: 1 }] },
  rate_limit: { enabled: true, trusted_proxies: ['10.0.0.0/8'] },
  ui: { admin_key: secrets.adminKey, admin_secret: secrets.adminSecret, session_secret: secrets.sessionSecret, admin_token: secrets.adminToken },
  encryption: { master_key: 'bWFzdGVyLWtleS1mb3ItdGhlLXN1bW1hcnktdGVzdCE=', previous_keys: ['b2xkLW1hc3Rlci1rZXktZm9yLXN1bW1hcnktdGVzdCE='] },
}));

describe('summarizeConfig', () => {
  test('shows the shape of the deployment', () => {
    const summary = summarizeConfig(full());
    expect(summary).toContain('listen:      :9000 (log level info');
    expect(summary).toContain('database:    postgres db.internal:5432/s3o as s3o (ssl require, pool 2-10)');
    expect(summary).toContain('photos: 2 credentials, max multipart uploads 100');
    expect(summary).toContain('b1: https://s3.example.com bucket one (region eu-1)');
    expect(summary).toContain('quota 10 GiB, max object unlimited; monthly api 50000, egress 1 TiB, ingress unlimited');
    expect(summary).toContain('b2: http://127.0.0.1:9002 bucket two (region us-east-1, path-style)');
    expect(summary).toContain('quota 1.5 KiB');
    expect(summary).toContain('routing:     pack');
    expect(summary).toContain('replication: factor 2, 2 written synchronously, worker every 5m (batch 50, concurrency 5), unhealthy after 10m');
    expect(summary).toContain('rebalance:   spread every 6h when utilisation differs by ≥ 25% (batch 100, concurrency 5)');
    expect(summary).toContain('lifecycle:   2 rules, every 1h (batch 100)');
    expect(summary).toContain('photos: keys under "tmp/" expire after 7 days');
    expect(summary).toContain('every bucket: keys under "logs/" expire after 1 day');
    expect(summary).toContain('cleanup queue: concurrency 10, up to 10 attempts; stale multipart uploads aborted after 24h');
    expect(summary).toContain('rate limit:  100/s per client IP, burst 200, 1 trusted proxy range');
    expect(summary).toContain('admin API:   enabled (token configured)');
  });

  test('shows the embedded database and never a secret', () => {
    expect(summarizeConfig(configOf(withSections({}), {}))).toContain('database:    embedded PostgreSQL in ./data/postgres (pool 2-10)');
    const summary = summarizeConfig(full());
    for (const secret of [...Object.values(secrets), 'bWFzdGVyLWtleS1mb3ItdGhlLXN1bW1hcnktdGVzdCE=', 'b2xkLW1hc3Rlci1rZXktZm9yLXN1bW1hcnktdGVzdCE=', 'AKPHOTOS']) expect(summary).not.toContain(secret);
  });

  test('strips user:password from an endpoint URL', () => {
    const config = configOf(withSections({
      backends: [{ name: 'b1', endpoint: `https://user:${secrets.backendSecret}@s3.example.com`, bucket: 'one', access_key_id: 'k', secret_access_key: 's' }],
    }));
    const summary = summarizeConfig(config);
    expect(summary).toContain('b1: https://s3.example.com/ bucket one');
    expect(summary).not.toContain(secrets.backendSecret);
  });
});

describe('redactConfig', () => {
  test('replaces every secret and keeps everything else', () => {
    const config = full();
    const safe = redactConfig(config);
    const text = JSON.stringify(safe);
    for (const secret of [...Object.values(secrets), 'bWFzdGVyLWtleS1mb3ItdGhlLXN1bW1hcnktdGVzdCE=', 'b2xkLW1hc3Rlci1rZXktZm9yLXN1bW1hcnktdGVzdCE=']) expect(text).not.toContain(secret);
    expect(safe.database.driver === 'postgres' && safe.database.password).toBe(redacted);
    expect(safe.buckets[0]?.credentials).toEqual([
      { access_key_id: 'AKPHOTOS', secret_access_key: redacted, token: null },
      { access_key_id: null, secret_access_key: null, token: redacted },
    ]);
    expect(safe.backends[0]).toMatchObject({ access_key_id: 'b1-key', secret_access_key: redacted, quota_bytes: 10 * 2 ** 30 });
    expect(safe.ui).toMatchObject({ admin_key: redacted, admin_secret: redacted, session_secret: redacted, admin_token: redacted });
    expect(safe.encryption).toMatchObject({ master_key: redacted, previous_keys: [redacted] });
    expect({ ...safe, buckets: null, backends: null, database: null, ui: null, encryption: null })
      .toEqual({ ...config, buckets: null, backends: null, database: null, ui: null, encryption: null });
  });

  test('leaves the original untouched', () => {
    const config = full();
    redactConfig(config);
    expect(config.backends[0]?.secret_access_key).toBe(secrets.backendSecret);
  });
});

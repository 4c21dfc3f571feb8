import { describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../../../ops/config/index.js';
import { baseConfig, errorsOf, errorsOfText, secrets, withSections } from './config-fixtures.js';

describe('error collection', () => {
  test('a config with five problems in different places reports all five', () => {
    const config = baseConfig();
    const backends = config.backends as Record<string, unknown>[];
    backends[0] = { ...backends[0], quota_bytes: 'lots' };
    const errors = errorsOf({
      ...config,
      server: { log_level: 'loud' },
      database: { driver: 'sqlite' },
      replication: { unhealthy_threshold: 0 },
      rebalance: { strategee: 'pack' },
    });
    expect(errors).toEqual([
      'server.log_level: must be one of: debug, info, warn, error (got "loud")',
      expect.stringMatching(/^database\.driver: sqlite is not supported/),
      expect.stringMatching(/^backends\[0\]\.quota_bytes: must be a size/),
      'rebalance.strategee: unknown key (did you mean strategy?)',
      'replication.unhealthy_threshold: must be > 0',
    ]);
  });

  test('several problems inside one entry are all reported', () => {
    expect(errorsOf(withSections({ backends: [{ name: 'b1', endpoint: 'nope', quota_bytes: -1, force_path_style: 2 }] }))).toHaveLength(6);
  });

  test('YAML syntax errors give a line and column and no source text', () => {
    const errors = errorsOfText(`server:\n  listen_addr: ":9000"\nbuckets:\n  - name: photos\n    credentials: [ { secret_access_key: ${secrets.bucketSecret}: more } ]\n`);
    expect(errors[0]).toMatch(/^line 5, column \d+: /);
    expect(errors.join('\n')).not.toContain(secrets.bucketSecret);
  });

  test('duplicate keys are a YAML error', () => {
    expect(errorsOfText('server: {}\nserver: {}\n')).toEqual([expect.stringMatching(/^line 2, column 1: Map keys must be unique/)]);
  });
});

describe('secrets never appear in errors', () => {
  test('invalid secret-bearing fields are named, not quoted', () => {
    const text = stringify({
      database: { host: 'db', database: 'd', user: 'u', password: { nested: secrets.dbPassword } },
      buckets: [{ name: 'photos', credentials: [{ secret_access_key: secrets.bucketSecret }, { token: secrets.bucketToken }, { token: secrets.bucketToken }] }],
      backends: [{ name: 'b1', endpoint: `http://user:${secrets.backendSecret}@h`, bucket: 'x', access_key_id: 'k', secret_access_key: [secrets.backendSecret] }],
      ui: { admin_key: secrets.adminKey, admin_secret: [secrets.adminSecret], session_secret: { x: secrets.sessionSecret }, admin_token: 42, enabled: 'maybe' },
      encryption: { master_key: [secrets.adminToken] },
    });
    const result = parseConfigText(text, {});
    expect(result.ok).toBe(false);
    const output = result.ok ? '' : result.errors.join('\n');
    expect(output).toContain('database.password: must be a string');
    expect(output).toContain('backends[0].secret_access_key: must be a string');
    for (const secret of Object.values(secrets)) expect(output).not.toContain(secret);
  });

  test('values that came from the environment are not quoted either', () => {
    const errors = errorsOf(withSections({ server: { listen_addr: '${LISTEN}' } }), { LISTEN: secrets.adminToken });
    expect(errors).toEqual(['server.listen_addr: must be host:port or :port, e.g. ":9000" or "127.0.0.1:9000" (value from ${LISTEN})']);
  });
});

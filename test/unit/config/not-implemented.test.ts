import { describe, expect, test } from 'vitest';
import { notImplementedFeatures } from '../../../ops/config/index.js';
import { baseConfig, configOf, errorsOf, withSections } from './config-fixtures.js';

const withDefaultChain = (): Record<string, unknown> => {
  const config = baseConfig();
  const backends = config.backends as Record<string, unknown>[];
  backends[1] = { ...backends[1], credential_source: 'default_chain' };
  return config;
};

const cases: readonly [string, Record<string, unknown>, string][] = [
  ['compression', withSections({ compression: { enabled: true } }), 'compression.enabled: compression is not implemented'],
  ['redis', withSections({ redis: { address: 'redis:6379' } }), 'redis: shared usage counters in Redis are not implemented'],
  ['notifications', withSections({ notifications: { endpoints: [{ url: 'https://hook', events: ['*'] }] } }),
    'notifications.endpoints: webhook notifications are not implemented'],
  ['tls', withSections({ server: { tls: { cert_file: '/c.pem', key_file: '/k.pem' } } }), 'server.tls.cert_file: TLS termination is not implemented'],
  ['default_chain', withDefaultChain(), 'backends[1].credential_source: credential_source: default_chain is not implemented'],
  ['parallel_broadcast', withSections({ circuit_breaker: { parallel_broadcast: true } }), 'circuit_breaker.parallel_broadcast: parallel_broadcast is not implemented'],
  ['degraded_broadcast_parallelism', withSections({ circuit_breaker: { degraded_broadcast_parallelism: 4 } }),
    'circuit_breaker.degraded_broadcast_parallelism: degraded_broadcast_parallelism only applies to parallel_broadcast'],
];

describe('features not implemented yet', () => {
  test.each(cases)('%s is rejected, naming the field', (_name, config, message) => {
    const errors = errorsOf(config);
    expect(errors.some((error) => error.startsWith(message))).toBe(true);
  });

  test('every entry of the table is exercised above', () => {
    expect(cases).toHaveLength(notImplementedFeatures.length);
  });

  test('the features switched off (or left out) are accepted', () => {
    const config = configOf(withSections({
      encryption: { enabled: false, master_key: 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=' },
      compression: { enabled: false },
      integrity: { enabled: true, verify_on_replicate: false },
      cache: { enabled: false },
      notifications: { endpoints: [] },
      telemetry: { tracing: { enabled: false } },
      server: { tls: { cert_file: '', key_file: '' } },
      ui: { enabled: false, admin_token: 'token' },
      circuit_breaker: { parallel_broadcast: false },
    }));
    expect(config.encryption.enabled).toBe(false);
    expect(config.ui.admin_token).toBe('token');
  });

  test('all active features are reported together, and still with other problems', () => {
    const errors = errorsOf(withSections({
      encryption: { enabled: true, chunk_size: 'huge' },
      compression: { enabled: true },
      redis: {},
    }));
    expect(errors).toEqual([
      'encryption.chunk_size: must be a size: a number of bytes, or a number with a unit such as 256MB or 10MiB',
      expect.stringMatching(/^compression\.enabled: /),
      expect.stringMatching(/^redis: /),
    ]);
  });
});

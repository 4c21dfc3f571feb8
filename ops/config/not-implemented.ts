/**
 * Features the original has that this version does not implement yet. A config that
 * switches one on is rejected with a message naming the field, rather than being accepted
 * and silently ignored. When a feature lands, delete its entry (and add its own rules to
 * its schema in ./schema/features.ts).
 *
 * Conditions read the parsed YAML tree (before validation), so a feature is reported even
 * when another field of its section is also wrong.
 */
import { asFlag, asText } from './fields.js';

export interface NotImplementedFeature {
  readonly feature: string;
  /** Paths of the fields that switch the feature on in this config; empty when it is off. */
  readonly activeAt: (tree: Readonly<Record<string, unknown>>) => readonly string[];
  readonly message: string;
}

function valueAt(tree: unknown, path: readonly string[]): unknown {
  let current = tree;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Active when the boolean at `path` is true. */
function whenTrue(...path: string[]): NotImplementedFeature['activeAt'] {
  return (tree) => (asFlag(valueAt(tree, path)) === true ? [path.join('.')] : []);
}

/** Active when the text at `path` is set and not empty. */
function whenSet(...path: string[]): NotImplementedFeature['activeAt'] {
  return (tree) => {
    const value = asText(valueAt(tree, path));
    return value !== undefined && value !== '' ? [path.join('.')] : [];
  };
}

export const notImplementedFeatures: readonly NotImplementedFeature[] = [
  {
    feature: 'compression',
    activeAt: whenTrue('compression', 'enabled'),
    message: 'compression is not implemented in this version yet; remove the compression section or set enabled: false',
  },
  {
    feature: 'Redis usage counters',
    activeAt: (tree) => (valueAt(tree, ['redis']) !== undefined ? ['redis'] : []),
    message: 'shared usage counters in Redis are not implemented in this version yet; remove the redis section (usage counters are kept per instance and flushed to the database)',
  },
  {
    feature: 'webhook notifications',
    activeAt: (tree) => {
      const endpoints = valueAt(tree, ['notifications', 'endpoints']);
      return Array.isArray(endpoints) && endpoints.length > 0 ? ['notifications.endpoints'] : [];
    },
    message: 'webhook notifications are not implemented in this version yet; remove notifications.endpoints',
  },
  {
    feature: 'TLS termination',
    activeAt: whenSet('server', 'tls', 'cert_file'),
    message: 'TLS termination is not implemented in this version yet; terminate TLS in a reverse proxy and remove server.tls.cert_file and key_file',
  },
  {
    feature: 'AWS default credential chain',
    activeAt: (tree) => {
      const backends = valueAt(tree, ['backends']);
      if (!Array.isArray(backends)) return [];
      return backends.flatMap((backend, index) =>
        asText(valueAt(backend, ['credential_source'])) === 'default_chain' ? [`backends[${index}].credential_source`] : []);
    },
    message: 'credential_source: default_chain is not implemented in this version yet; use static (access_key_id and secret_access_key)',
  },
  {
    feature: 'parallel degraded-read broadcast',
    activeAt: whenTrue('circuit_breaker', 'parallel_broadcast'),
    message: 'parallel_broadcast is not implemented in this version yet; set it to false (degraded reads try the backends one at a time)',
  },
  {
    feature: 'parallel degraded-read broadcast',
    activeAt: (tree) => {
      const v = asText(valueAt(tree, ['circuit_breaker', 'degraded_broadcast_parallelism']));
      return v !== undefined && v.trim() !== '' && Number(v) !== 0 ? ['circuit_breaker.degraded_broadcast_parallelism'] : [];
    },
    message: 'degraded_broadcast_parallelism only applies to parallel_broadcast, which is not implemented in this version yet; remove it or set it to 0',
  },
];

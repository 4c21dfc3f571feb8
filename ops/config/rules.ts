/**
 * Rules that span fields of several entries or sections. Each runs only when the sections
 * it reads validated on their own, so one problem is not reported twice.
 */
import { issue, type ConfigIssue } from './issues.js';
import { postgresOnlyKeys } from './schema/database.js';
import type { Config } from '../../domain/config/config.js';
import { uiRules } from './ui-rules.js';

export interface RuleContext {
  /** The sections that validated. */
  readonly sections: Partial<Config>;
  /** The parsed YAML tree, to tell a defaulted value from a written one. */
  readonly tree: Readonly<Record<string, unknown>>;
  readonly errors: ConfigIssue[];
  readonly warnings: string[];
}

type Rule = (context: RuleContext) => void;

function entriesOf(tree: Readonly<Record<string, unknown>>, key: string): readonly Record<string, unknown>[] {
  const value = tree[key];
  return Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object') : [];
}

const bucketRules: Rule = ({ sections: { buckets }, errors }) => {
  if (!buckets) return;
  if (buckets.length === 0) errors.push(issue('buckets', 'at least one bucket is required'));
  const names = new Map<string, number>();
  const accessKeys = new Map<string, string>();
  const tokens = new Map<string, string>();
  buckets.forEach((bucket, b) => {
    const first = names.get(bucket.name);
    if (first !== undefined) errors.push(issue(`buckets[${b}].name`, `duplicate bucket name "${bucket.name}" (also buckets[${first}])`));
    else names.set(bucket.name, b);
    bucket.credentials.forEach((credential, c) => {
      const path = `buckets[${b}].credentials[${c}]`;
      if (credential.access_key_id !== null) {
        const owner = accessKeys.get(credential.access_key_id);
        if (owner) errors.push(issue(`${path}.access_key_id`, `duplicate access_key_id "${credential.access_key_id}" (already used by ${owner})`));
        else accessKeys.set(credential.access_key_id, path);
      }
      if (credential.token !== null) {
        const owner = tokens.get(credential.token);
        if (owner) errors.push(issue(`${path}.token`, `the same token is already used by ${owner}; each token must be unique`));
        else tokens.set(credential.token, path);
      }
    });
  });
};

const backendRules: Rule = ({ sections: { backends, replication }, tree, errors, warnings }) => {
  if (!backends) return;
  if (backends.length === 0) errors.push(issue('backends', 'at least one backend is required'));
  const names = new Map<string, number>();
  backends.forEach((backend, index) => {
    const first = names.get(backend.name);
    if (first !== undefined) errors.push(issue(`backends[${index}].name`, `duplicate backend name "${backend.name}" (also backends[${first}])`));
    else names.set(backend.name, index);
  });
  entriesOf(tree, 'backends').forEach((raw, index) => {
    if (raw.name === undefined || raw.name === '') {
      warnings.push(`backends[${index}].name is not set, so it is called "backend-${index}"; give it a name: the name is the backend's identity in the event log, and reordering unnamed backends would change which stored objects each name refers to`);
    }
  });
  const unlimited = backends.filter((backend) => backend.quota_bytes === 0).length;
  if (backends.length > 1 && unlimited > 0 && unlimited < backends.length) {
    errors.push(issue('backends', 'cannot mix unlimited (quota_bytes: 0) and quota-limited backends; either give every backend a quota (writes overflow from one to the next) or leave all unlimited and use replication'));
  }
  if (!replication) return;
  if (unlimited > 1 && replication.factor < 2) {
    errors.push(issue('backends', `${unlimited} backends have unlimited quota (quota_bytes: 0), which requires replication.factor >= 2; without quotas nothing overflows, so only the first backend would receive writes`));
  }
  if (backends.length > 0 && replication.factor > backends.length) {
    errors.push({ path: 'replication.factor', text: `replication.factor (${replication.factor}) exceeds the number of backends (${backends.length})` });
  }
};

const lifecycleRules: Rule = ({ sections: { lifecycle, buckets }, errors, warnings }) => {
  if (!lifecycle) return;
  const seen = new Map<string, number>();
  lifecycle.rules.forEach((rule, index) => {
    const path = `lifecycle.rules[${index}]`;
    if (buckets && rule.bucket !== null && !buckets.some((bucket) => bucket.name === rule.bucket)) {
      errors.push(issue(`${path}.bucket`, `no bucket named "${rule.bucket}" is configured`));
    }
    const identity = `${rule.bucket ?? ''}\u0000${rule.prefix}`;
    const first = seen.get(identity);
    if (first !== undefined) errors.push(issue(path, `duplicates lifecycle.rules[${first}] (same bucket and prefix)`));
    else seen.set(identity, index);
    const prefixedBucket = rule.bucket === null ? buckets?.find((bucket) => rule.prefix.startsWith(`${bucket.name}/`)) : undefined;
    if (prefixedBucket) {
      const inner = rule.prefix.slice(prefixedBucket.name.length + 1);
      warnings.push(`${path}.prefix "${rule.prefix}" starts with the bucket name "${prefixedBucket.name}/", but prefixes match keys inside a bucket; did you mean bucket: ${prefixedBucket.name} and prefix: ${inner === '' ? '(the whole bucket)' : inner}?`);
    }
  });
};

const databaseWarnings: Rule = ({ sections: { database }, tree, warnings }) => {
  const raw = tree.database;
  if (!database || raw === null || typeof raw !== 'object') return;
  const written = raw as Record<string, unknown>;
  const ignored = database.driver === 'embedded' ? postgresOnlyKeys : (['path'] as const);
  for (const key of ignored) {
    if (written[key] !== undefined && written[key] !== '') warnings.push(`database.${key} is ignored with driver ${database.driver}`);
  }
};

const serverWarnings: Rule = ({ sections: { server, circuit_breaker: breaker, integrity }, warnings }) => {
  if (server && (server.max_concurrent_reads > 0) !== (server.max_concurrent_writes > 0)) {
    warnings.push('server.max_concurrent_reads and server.max_concurrent_writes only take effect when both are > 0 (separate read and write pools); until then max_concurrent_requests applies to all requests');
  }
  if (integrity && integrity.verify_on_replicate && !integrity.enabled) {
    warnings.push('integrity.verify_on_replicate has no effect unless integrity.enabled is true');
  }
  if (breaker && breaker.degraded_broadcast_parallelism > 0 && !breaker.parallel_broadcast) {
    warnings.push('circuit_breaker.degraded_broadcast_parallelism has no effect unless parallel_broadcast is true');
  }
};

export const crossFieldRules: readonly Rule[] = [bucketRules, backendRules, lifecycleRules, databaseWarnings, serverWarnings, uiRules];

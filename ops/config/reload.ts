/**
 * What a SIGHUP reload can apply. The reloadable set is the operator manual's (log level,
 * bucket credentials, rate limit, backend quota and usage limits, rebalance, replication,
 * usage flush) plus lifecycle, cleanup_queue and cache; every other change is listed as needing a
 * restart, by field path (never by value). Backends are matched by name, their identity.
 */
import type { BackendConfig, Config } from '../../domain/config/config.js';

export interface ReloadableChanges {
  /** Every reloadable field path that changed, e.g. `server.log_level`, `backends.b1.quota_bytes`. */
  readonly paths: readonly string[];
  readonly log_level: boolean;
  readonly buckets: boolean;
  readonly rate_limit: boolean;
  /** Backends (present before and after) whose quota or monthly usage limits changed. */
  readonly backend_limits: readonly string[];
  readonly rebalance: boolean;
  readonly replication: boolean;
  readonly usage_flush: boolean;
  readonly lifecycle: boolean;
  readonly cleanup_queue: boolean;
  /** Applied by starting an empty cache with the new bounds (or none, when disabled). */
  readonly cache: boolean;
}

export interface ReloadDiff {
  readonly reloadable: ReloadableChanges;
  /** Field paths that changed and only take effect after a restart. */
  readonly restartRequired: readonly string[];
}

const reloadableSections = ['buckets', 'rate_limit', 'rebalance', 'replication', 'usage_flush', 'lifecycle', 'cleanup_queue', 'cache'] as const;

const backendLimitFields = ['quota_bytes', 'api_request_limit', 'egress_byte_limit', 'ingress_byte_limit'] as const satisfies readonly (keyof BackendConfig)[];

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Leaf paths at which two values differ; list entries beyond the shorter list are added/removed. */
export function changedPaths(before: unknown, after: unknown, path: string): string[] {
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: string[] = [];
    const length = Math.max(before.length, after.length);
    for (let i = 0; i < length; i += 1) {
      if (i >= after.length) out.push(`${path}[${i}] (removed)`);
      else if (i >= before.length) out.push(`${path}[${i}] (added)`);
      else out.push(...changedPaths(before[i], after[i], `${path}[${i}]`));
    }
    return out;
  }
  if (isRecord(before) && isRecord(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((key) => changedPaths(before[key], after[key], path === '' ? key : `${path}.${key}`));
  }
  return Object.is(before, after) ? [] : [path];
}

function diffBackends(current: readonly BackendConfig[], next: readonly BackendConfig[]) {
  const restart: string[] = [];
  const reloadable: string[] = [];
  const limits: string[] = [];
  const nextNames = new Set(next.map((b) => b.name));
  const currentByName = new Map(current.map((b) => [b.name, b]));
  current.forEach((backend, index) => {
    if (!nextNames.has(backend.name)) restart.push(`backends[${index}] (removed)`);
  });
  next.forEach((backend, index) => {
    if (!currentByName.has(backend.name)) restart.push(`backends[${index}] (added)`);
  });
  const keptBefore = current.filter((b) => nextNames.has(b.name)).map((b) => b.name);
  const keptAfter = next.filter((b) => currentByName.has(b.name)).map((b) => b.name);
  if (keptBefore.join('\u0000') !== keptAfter.join('\u0000')) restart.push('backends (reordered)');
  for (const backend of next) {
    const before = currentByName.get(backend.name);
    if (!before) continue;
    for (const path of changedPaths(before, backend, `backends.${backend.name}`)) {
      const field = path.slice(`backends.${backend.name}.`.length);
      if ((backendLimitFields as readonly string[]).includes(field)) reloadable.push(path);
      else restart.push(path);
    }
    if (backendLimitFields.some((field) => before[field] !== backend[field])) limits.push(backend.name);
  }
  return { restart, reloadable, limits };
}

export function diffForReload(current: Config, next: Config): ReloadDiff {
  const reloadablePaths: string[] = [];
  const restartRequired: string[] = [];
  const changedSections = new Set<string>();
  let backendLimits: string[] = [];
  for (const key of Object.keys(next) as (keyof Config)[]) {
    if (key === 'backends') {
      const backends = diffBackends(current.backends, next.backends);
      restartRequired.push(...backends.restart);
      reloadablePaths.push(...backends.reloadable);
      backendLimits = backends.limits;
      continue;
    }
    for (const path of changedPaths(current[key], next[key], key)) {
      if (path === 'server.log_level') {
        changedSections.add('log_level');
        reloadablePaths.push(path);
      } else if ((reloadableSections as readonly string[]).includes(key)) {
        changedSections.add(key);
        reloadablePaths.push(path);
      } else {
        restartRequired.push(path);
      }
    }
  }
  return {
    reloadable: {
      paths: reloadablePaths,
      log_level: changedSections.has('log_level'),
      buckets: changedSections.has('buckets'),
      rate_limit: changedSections.has('rate_limit'),
      backend_limits: backendLimits,
      rebalance: changedSections.has('rebalance'),
      replication: changedSections.has('replication'),
      usage_flush: changedSections.has('usage_flush'),
      lifecycle: changedSections.has('lifecycle'),
      cleanup_queue: changedSections.has('cleanup_queue'),
      cache: changedSections.has('cache'),
    },
    restartRequired,
  };
}

import { type AdminCommandSpec, type AdminContext, output, UsageError } from './command.js';
import { renderFields, size } from './format.js';

interface CacheStatsJson {
  instance: string;
  entries: number;
  size_bytes: number;
  max_size: number;
  max_object_size: number;
  ttl_seconds: number;
  hits: number;
  misses: number;
  evictions: number;
  hit_ratio: number | null;
}

interface CacheCommandJson {
  instance: string;
  dropped: number;
  broadcast: boolean;
  key?: string;
  prefix?: string;
}

/** `<bucket>/<rest>` from the positional argument or the option; the rest may be empty only for a prefix. */
function pathArg(c: AdminContext, option: 'key' | 'prefix'): string {
  const given = c.args[0] ?? c.values[option];
  const valid = given !== undefined && (option === 'prefix' ? /^[^/]+\/[^]*$/ : /^[^/]+\/[^]+$/).test(given);
  if (!valid) throw new UsageError(option === 'key' ? 'give the object as --key <bucket>/<key>' : 'give the prefix as --prefix <bucket>/<prefix> (<bucket>/ for the whole bucket)');
  return given;
}

const renderStats = (s: CacheStatsJson): string => renderFields([
  ['instance', s.instance],
  ['entries', String(s.entries)],
  ['size', `${size(s.size_bytes)} of ${size(s.max_size)} (objects up to ${size(s.max_object_size)}, ttl ${s.ttl_seconds} s)`],
  ['hits', String(s.hits)],
  ['misses', String(s.misses)],
  ['hit ratio', s.hit_ratio === null ? '-' : `${(s.hit_ratio * 100).toFixed(1)}%`],
  ['evictions', String(s.evictions)],
]);

/** What a flush or invalidation did here, and whether the other instances were told. */
function renderDropped(what: string) {
  return (r: CacheCommandJson): string => `${what}: ${r.dropped} ${r.dropped === 1 ? 'entry' : 'entries'} dropped on ${r.instance}; ${r.broadcast
    ? 'sent to the other instances'
    : 'NOT sent to the other instances (database unreachable): run it against each of them'}`;
}

export const cacheCommands: AdminCommandSpec[] = [
  {
    name: 'cache-stats', args: [], options: [], summary: "the object cache's entries, size, hits, misses and evictions on the instance answering",
    run: async (c) => output(c, await c.client.get<CacheStatsJson>('cache/stats'), renderStats),
  },
  {
    name: 'cache-flush', args: [], options: [], summary: 'drop every object cache entry, on every instance',
    run: async (c) => output(c, await c.client.post<CacheCommandJson>('cache/flush'), renderDropped('cache flushed')),
  },
  {
    name: 'cache-invalidate', args: ['<bucket>/<key>?'], options: ['key'], summary: "drop one object's cache entry, on every instance (--key <bucket>/<key>)",
    run: async (c) => output(c, await c.client.post<CacheCommandJson>('cache/invalidate', { key: pathArg(c, 'key') }), (r) => renderDropped(`${r.key ?? ''} invalidated`)(r)),
  },
  {
    name: 'cache-invalidate-prefix', args: ['<bucket>/<prefix>?'], options: ['prefix'], summary: 'drop the cache entries of every key under a prefix, on every instance (--prefix <bucket>/<prefix>)',
    run: async (c) => output(c, await c.client.post<CacheCommandJson>('cache/invalidate-prefix', { prefix: pathArg(c, 'prefix') }), (r) => renderDropped(`${r.prefix ?? ''} invalidated`)(r)),
  },
];

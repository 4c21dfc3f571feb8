import { bucketStatsProjection } from './async/bucket-stats.js';
import type { AsyncProjection } from './async/projection.js';
import { usageMonthlyProjection } from './async/usage-monthly.js';

export interface InlineProjectionInfo {
  kind: 'inline';
  name: string;
  tables: readonly string[];
}

export interface AsyncProjectionInfo {
  kind: 'async';
  name: string;
  tables: readonly string[];
  projection: AsyncProjection;
}

export type ProjectionInfo = InlineProjectionInfo | AsyncProjectionInfo;

/** Inline projections: SQL handlers run inside every append (infra/db/migrations/R_020_*). */
export const inlineProjections: readonly InlineProjectionInfo[] = [
  { kind: 'inline', name: 'locations', tables: ['objects', 'object_copies'] },
  { kind: 'inline', name: 'backends', tables: ['backend_state'] },
  { kind: 'inline', name: 'uploads', tables: ['multipart_uploads', 'multipart_parts'] },
  { kind: 'inline', name: 'cleanup', tables: ['cleanup_queue'] },
  { kind: 'inline', name: 'jobs', tables: ['jobs'] },
  { kind: 'inline', name: 'usage', tables: ['backend_usage', 'usage_pending_parts'] },
];

export const asyncProjections: readonly AsyncProjection[] = [bucketStatsProjection, usageMonthlyProjection];

export const allProjections: readonly ProjectionInfo[] = [
  ...inlineProjections,
  ...asyncProjections.map((p): AsyncProjectionInfo => ({ kind: 'async', name: p.name, tables: p.tables, projection: p })),
];

export function findProjections(name: string | undefined): ProjectionInfo[] {
  if (!name) return [...allProjections];
  const found = allProjections.filter((p) => p.name === name);
  if (found.length === 0) {
    throw new Error(`unknown projection "${name}"; known: ${allProjections.map((p) => p.name).join(', ')}`);
  }
  return found;
}

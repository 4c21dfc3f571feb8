import { bucketStatsProjection } from './async/bucket-stats/bucket-stats.js';
import type { AsyncProjection } from './async/projection.js';
import { usageMonthlyProjection } from './async/usage-monthly/usage-monthly.js';
import { backendsProjection } from './inline/backends/backends.js';
import { cleanupProjection } from './inline/cleanup/cleanup.js';
import type { InlineProjection } from './inline/inline-projection.js';
import { jobsProjection } from './inline/jobs/jobs.js';
import { locationsProjection } from './inline/locations/locations.js';
import { uploadsProjection } from './inline/uploads/uploads.js';
import { usageProjection } from './inline/usage/usage.js';

/**
 * Every projection, the one list the schema, the append's dispatch, replay, rebuild, verify and
 * the status commands are made from. Inline projections run in this order inside each append:
 * usage last, because its rows are the hottest and their locks should be held the shortest time.
 */
export const inlineProjections: readonly InlineProjection[] = [
  locationsProjection,
  backendsProjection,
  uploadsProjection,
  cleanupProjection,
  jobsProjection,
  usageProjection,
];

export const asyncProjections: readonly AsyncProjection[] = [bucketStatsProjection, usageMonthlyProjection];

export type ProjectionInfo = InlineProjection | AsyncProjection;

export const allProjections: readonly ProjectionInfo[] = [...inlineProjections, ...asyncProjections];

export function findProjections(name: string | undefined): ProjectionInfo[] {
  if (!name) return [...allProjections];
  const found = allProjections.filter((p) => p.name === name);
  if (found.length === 0) {
    throw new Error(`unknown projection "${name}"; known: ${allProjections.map((p) => p.name).join(', ')}`);
  }
  return found;
}

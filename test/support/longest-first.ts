import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest in `npm test` (measured on a 2-core machine), longest first. With
 * two workers, a long file started last is the run's tail; started first, it overlaps the many
 * short ones. A checkout that has run the suite orders by its own recorded durations too
 * (vitest's cache); a fresh clone has none, so this list decides there.
 */
export const longestFiles = [
  'test/e2e/clients/aws-cli-s3.test.ts',
  'test/e2e/clients/aws-cli-s3api.test.ts',
  'test/contract/backend-client.test.ts',
  'test/e2e/s3-multipart.test.ts',
  'test/integration/encryption-jobs.test.ts',
  'test/e2e/clients/boto3.test.ts',
  'test/e2e/s3-delete-objects.test.ts',
  'test/integration/set-based-replay.property.test.ts',
];

/** vitest's order (failed first, then by recorded duration or size), with `longestFiles` ahead of all. */
export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = longestFiles.findIndex((l) => f.moduleId.endsWith(`/${l}`));
      return i === -1 ? longestFiles.length : i;
    };
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}

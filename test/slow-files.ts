/**
 * The long crash and soak scenarios: `npm run test:slow` runs them (and CI, after `npm test`);
 * `npm test` leaves them out to stay within minutes. Paths from the repository root.
 */
export const slowTestFiles = [
  // A drain through repeated SIGKILLs of the orchestrator.
  'test/operations/drain-crash.test.ts',
  // encrypt-existing through 3 SIGKILLs and rotate-encryption-key through 1 (real processes).
  'test/operations/encryption-crash.test.ts',
  // PostgreSQL stopped and started under traffic.
  'test/operations/database-outage.test.ts',
  // Embedded PostgreSQL's life: init, stop/start, killed owners, stale locks, staged binaries.
  'test/integration/embedded-postgres.test.ts',
  // 1,000 slow uploads held open by one tenant.
  'test/operations/fair-admission.test.ts',
  // A fresh clone: npm ci, build, and the README's npx s3o commands.
  'test/operations/fresh-clone.test.ts',
  // The web dashboard driven in headless Chromium against an orchestrator process (about 2 minutes on a busy 2-core machine).
  'test/ui/dashboard-browser.test.ts',
  // A drain of 20,000 objects, its store reads counted per batch (about 7 minutes on a busy 2-core machine).
  'test/operations/drain-flat-cost.test.ts',
  // Encrypted multipart uploads of 5 MiB parts (the backends' minimum) with a restart, replication and a drain, on s3rver and Ceph RGW (~80 s).
  'test/e2e/s3-encryption-multipart.test.ts',
  // Encrypted objects written, the log lost, s3o sync into a fresh database, every object read back; s3rver and Ceph RGW (~100 s).
  'test/e2e/s3-encryption-recovery.test.ts',
];

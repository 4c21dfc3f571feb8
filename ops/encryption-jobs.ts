import type pg from 'pg';
import type { EventStore } from '../domain/eventstore/port.js';
import { rewriteJobKinds } from '../domain/jobs/job-state.js';
import type { Logger } from '../infra/telemetry/logger.js';
import type { Metrics } from '../infra/telemetry/metrics.js';
import { EncryptionRewriteDriver, type EncryptionJobSettings, type RewriteObserver } from '../processes/jobs/encryption-drivers.js';
import { EncryptionJobStarter } from '../processes/jobs/encryption-job-starter.js';
import type { Leases } from '../processes/leases.js';
import type { BackendDirectory } from '../services/backends/backend-directory.js';
import type { OrphanRecorder } from '../services/cleanup/orphans.js';
import type { Reclaimer } from '../services/cleanup/reclaimer.js';
import type { ObjectEncryption } from '../services/encryption/object-encryption.js';
import { StoredBytesRewriter } from '../services/rewrites/stored-bytes-rewriter.js';
import type { EventFactory } from '../services/event-factory.js';
import type { ObjectCommands } from '../services/objects/object-commands.js';
import type { PlaintextReader } from '../services/objects/plaintext-reader.js';

export interface EncryptionJobDeps {
  pool: pg.Pool;
  store: EventStore;
  events: EventFactory;
  objects: ObjectCommands;
  backends: BackendDirectory;
  plain: PlaintextReader;
  encryption: ObjectEncryption | undefined;
  orphans: OrphanRecorder;
  reclaimer: Reclaimer;
  leases: Leases;
  metrics: Metrics;
  logger: Logger;
  kickJobs: () => void;
}

const statusOf = { rewritten: 'success', failed: 'error', skipped: 'skipped' } as const;

/**
 * encrypt-existing, decrypt-existing and rotate-encryption-key: their drivers (run by the job
 * supervisor), the starter the admin API calls, and the rewriter (tests reach it to act during
 * a rewrite). Without keys configured the drivers fail a job they are handed and the starter
 * refuses to start one, each with a clear error.
 */
export function encryptionJobs(deps: EncryptionJobDeps, settings: () => EncryptionJobSettings) {
  const { pool, encryption, logger, metrics } = deps;
  const rewriter = encryption
    ? new StoredBytesRewriter(deps.objects, deps.backends, deps.plain, encryption, deps.orphans, deps.reclaimer, logger)
    : undefined;
  const counters = { 'encrypt-existing': metrics.encryption.encryptExisting, 'decrypt-existing': metrics.encryption.decryptExisting, 'rotate-encryption-key': metrics.encryption.keyRotation };
  const observe: RewriteObserver = (kind, outcome) => counters[kind].inc({ status: statusOf[outcome] });
  return {
    rewriter,
    drivers: [
      ...rewriteJobKinds.map((kind) => new EncryptionRewriteDriver(kind, pool, encryption, rewriter, settings, observe, logger)),
    ],
    starter: new EncryptionJobStarter(pool, deps.store, deps.events, deps.leases, encryption, deps.kickJobs, logger),
  };
}

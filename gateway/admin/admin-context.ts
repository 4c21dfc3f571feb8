import type { Config } from '../../domain/config/config.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { BackendAdmin } from '../../services/backends/backend-admin.js';
import type { BackendDirectory } from '../../services/backends/backend-directory.js';
import type { CacheAdmin } from '../../services/cache/cache-admin.js';
import { CleanupAdmin } from '../../services/cleanup/cleanup-admin.js';
import type { EventFactory } from '../../services/event-factory.js';
import type { WorkerStatus } from '../../processes/worker-board.js';
import { AdminAudit } from './admin-audit.js';
import type { BackendRouteDeps } from './backend-routes.js';
import type { CacheRouteDeps } from './cache-routes.js';
import type { CleanupRouteDeps } from './cleanup-routes.js';
import type { EncryptionJobControl, IntegrityControl, ReplicationControl, SyncControl, UsageControl } from './controls.js';
import type { EncryptionRouteDeps } from './encryption-routes.js';
import type { IntegrityRouteDeps } from './integrity-routes.js';
import type { JobRouteDeps } from './job-routes.js';
import type { ObjectRouteDeps } from './object-routes.js';
import type { ReplicationRouteDeps } from './replication-routes.js';
import type { RuntimeRouteDeps } from './runtime-routes.js';
import type { StatusRouteDeps } from './status-route.js';
import type { TraceRouteDeps } from './trace-routes.js';
import type { TraceSnapshots } from '../../services/telemetry/trace-snapshot.js';

/** The admin API: its own checks, and each route group with only what it uses. */
export interface AdminContext {
  /** The current configuration: the admin token. */
  config(): Config;
  logger: Logger;
  /** Records each operator command (AdminCommandIssued); the dashboard's actions go through it too. */
  audit: AdminAudit;
  status: StatusRouteDeps;
  jobs: JobRouteDeps;
  backends: BackendRouteDeps;
  objects: ObjectRouteDeps;
  cleanup: CleanupRouteDeps;
  runtime: RuntimeRouteDeps;
  replication: ReplicationRouteDeps;
  integrity: IntegrityRouteDeps;
  cache: CacheRouteDeps;
  encryption: EncryptionRouteDeps;
  trace: TraceRouteDeps;
  /** Only the dashboard runs a sync in the server; the admin API has no route for it (the CLI runs its own). */
  sync: SyncControl;
}

/** What the admin API is built from, once at startup. */
export interface AdminServices {
  config(): Config;
  logger: Logger;
  /** The database the projections are read from. */
  db: Queryable;
  store: EventStore;
  events: EventFactory;
  backends: BackendDirectory;
  backendAdmin: BackendAdmin;
  usage: UsageControl;
  replication: ReplicationControl;
  integrity: IntegrityControl;
  /** The object cache's figures and the operator's flush and invalidations. */
  cache: CacheAdmin;
  encryptionJobs: EncryptionJobControl;
  /** Runs pending cleanup now instead of at the next tick. */
  kickCleanup(): void;
  /** How each background worker has fared on this instance. */
  workers: { list(): WorkerStatus[] };
  instanceId: string;
  /** This instance's trace snapshots. */
  snapshots: TraceSnapshots;
  sync: SyncControl;
}

/** Hands each admin route group its dependencies; the services they share are built here once. */
export function adminContext(s: AdminServices): AdminContext {
  const audit = new AdminAudit(s.store, s.events);
  const reads = s.db;
  return {
    config: s.config,
    logger: s.logger,
    audit,
    status: { config: s.config, usage: s.usage, reads, backends: s.backends },
    jobs: { reads, backendAdmin: s.backendAdmin, encryptionJobs: s.encryptionJobs, audit },
    backends: { config: s.config, backends: s.backends, reads, backendAdmin: s.backendAdmin, audit },
    objects: { reads, log: s.store },
    cleanup: {
      reads, cleanup: new CleanupAdmin(s.store, s.db, s.events, s.kickCleanup), audit,
      failedWriteGraceMs: () => s.config().cleanup_queue.failed_write_grace,
    },
    runtime: { logger: s.logger, usage: s.usage, reads, audit, workers: s.workers, instanceId: s.instanceId },
    replication: { replication: s.replication, audit },
    integrity: { config: s.config, integrity: s.integrity, reads, audit },
    cache: { cache: s.cache, audit },
    encryption: { jobs: s.encryptionJobs, reads, audit },
    trace: { snapshots: s.snapshots, audit },
    sync: s.sync,
  };
}

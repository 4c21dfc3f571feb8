import type pg from 'pg';
import type { EventStore } from '../domain/eventstore/port.js';
import type { Metrics } from '../infra/telemetry/metrics.js';
import type { Logger } from '../infra/telemetry/logger.js';
import type { Config } from '../domain/config/config.js';
import type { BackendAdmin } from '../services/backends/backend-admin.js';
import type { BackendDirectory } from '../services/backends/backend-directory.js';
import type { OrphanRecorder } from '../services/cleanup/orphans.js';
import type { Reclaimer } from '../services/cleanup/reclaimer.js';
import type { EventFactory } from '../services/event-factory.js';
import type { MultipartService } from '../services/multipart/multipart-service.js';
import type { DegradedLookup } from '../services/objects/degraded-lookup.js';
import type { LocationCache } from '../services/objects/location-cache.js';
import type { ObjectCommands } from '../services/objects/object-commands.js';
import type { ObjectReader } from '../services/objects/object-reader.js';
import type { ObjectWriter } from '../services/objects/object-writer.js';
import type { WritePlacement } from '../services/placement/write-placement.js';
import type { UsageCounts } from '../services/usage/usage-meter.js';
import type { RebalanceReport } from '../processes/rebalance/rebalance-worker.js';
import type { OverReplicationReport, ReplicationReport } from '../processes/replication/replication-worker.js';
import type { Cause } from '../services/event-factory.js';
import type { SigningKeyCache } from './auth/index.js';
import type { CredentialStore } from './s3/credential-store.js';

/** Readiness and degradation as /health and /health/ready report them. */
export interface HealthState {
  ready: boolean;
  databaseHealthy(): boolean;
}

/** Monthly backend usage as this instance sees it, and a flush on demand (admin usage-flush). */
export interface UsageControl {
  /** `YYYY-MM`: the period monthly limits apply to now. */
  period(): string;
  /** Flushed totals of the period plus this instance's unflushed counts. */
  effective(backend: string): UsageCounts;
  /** Appends this instance's unflushed counts now; returns how many backends had any. Throws when the append fails. */
  flush(): Promise<number>;
}

/** Replication, over-replication and rebalancing on demand (admin API). */
export interface ReplicationControl {
  /** A replication pass now (waits for one already running here). */
  replicate(): Promise<ReplicationReport>;
  /** Objects short of copies (`under`) and with too many (`over`). */
  backlog(): Promise<{ factor: number; under: number; over: number }>;
  /** An over-replication pass now. */
  removeExcess(): Promise<OverReplicationReport>;
  /** Plans a rebalance run now and starts it as a job. */
  rebalance(cause: Cause): Promise<RebalanceReport>;
}

/** Everything a request handler needs; built once by the composition root (ops/serve.ts). */
export interface GatewayContext {
  /** The current configuration; replaced on reload. */
  config(): Config;
  logger: Logger;
  metrics: Metrics;
  pool: pg.Pool;
  store: EventStore;
  events: EventFactory;
  objects: ObjectCommands;
  writer: ObjectWriter;
  /** Which backends could take new bytes now. */
  placement: WritePlacement;
  reader: ObjectReader;
  reclaimer: Reclaimer;
  orphans: OrphanRecorder;
  multipart: MultipartService;
  backends: BackendDirectory;
  credentials: CredentialStore;
  signingKeys: SigningKeyCache;
  backendAdmin: BackendAdmin;
  /** Recently seen object versions, served only while the database is unreachable. */
  locations: LocationCache;
  /** Finds the newest version of a key on the backends when neither the database nor the cache can. */
  degraded: DegradedLookup;
  /** Runs pending cleanup now instead of at the next tick. */
  kickCleanup(): void;
  usage: UsageControl;
  replication: ReplicationControl;
  health: HealthState;
  startedAtMs: number;
  instanceId: string;
}

import type { Config } from '../../domain/config/config.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { Metrics } from '../../infra/telemetry/metrics.js';
import type { AuditLog } from '../../services/telemetry/audit-log.js';
import type { RecentRequests } from '../../services/telemetry/recent-requests.js';
import type { BackendDirectory } from '../../services/backends/backend-directory.js';
import type { ObjectCache } from '../../services/cache/object-cache.js';
import type { Reclaimer } from '../../services/cleanup/reclaimer.js';
import type { MultipartService } from '../../services/multipart/multipart-service.js';
import type { DegradedLookup } from '../../services/objects/degraded-lookup.js';
import type { LocationCache } from '../../services/objects/location-cache.js';
import type { IntegrityService } from '../../services/integrity/integrity-service.js';
import type { ObjectCommands } from '../../services/objects/object-commands.js';
import type { ObjectReader } from '../../services/objects/object-reader.js';
import type { PlaintextReader } from '../../services/objects/plaintext-reader.js';
import type { ObjectEncryption } from '../../services/encryption/object-encryption.js';
import type { ObjectWriter } from '../../services/objects/object-writer.js';
import type { WritePlacement } from '../../services/placement/write-placement.js';
import type { SigningKeyCache } from '../auth/index.js';
import type { CredentialStore } from './credential-store.js';

/** What the S3 API (gateway/s3/) serves with; each handler names the part it uses. */
export interface S3Context {
  /** The current configuration; replaced on reload. */
  config(): Config;
  logger: Logger;
  metrics: Metrics;
  /** One audit line per S3 request. */
  audit: Pick<AuditLog, 'request'>;
  /** The latest requests, for a trace snapshot. */
  recentRequests: Pick<RecentRequests, 'record'>;
  /** The projections, read only: listings, parts, the current version of a key. */
  reads: Queryable;
  credentials: CredentialStore;
  signingKeys: SigningKeyCache;
  objects: ObjectCommands;
  writer: ObjectWriter;
  /** Which backends could take new bytes now. */
  placement: WritePlacement;
  reader: ObjectReader;
  /** The client's bytes of a version (decrypted when it is encrypted). */
  plain: PlaintextReader;
  /** Encryption at rest; undefined when no key is configured. */
  encryption: ObjectEncryption | undefined;
  reclaimer: Reclaimer;
  multipart: MultipartService;
  backends: BackendDirectory;
  /** Recently seen object versions, served only while the database is unreachable. */
  locations: LocationCache;
  /** Finds the newest version of a key on the backends when neither the database nor the cache can. */
  degraded: DegradedLookup;
  /** Whole objects' bytes recently read, per version (cache.enabled; a no-op while off). */
  cache: ObjectCache;
  /** Copy checks and repairs: verify_on_read reports corrupt copies to it. */
  integrity: IntegrityService;
  startedAtMs: number;
}

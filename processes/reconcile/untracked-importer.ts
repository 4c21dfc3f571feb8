import type { ObjectEncryption } from '../../services/encryption/object-encryption.js';
import { storedEncrypted } from '../../services/encryption/stored-format.js';
import { describeStoredObject, type StoredObjectFacts } from './stored-import.js';
import { newUlid } from '../../infra/ids.js';
import { ConcurrencyError, InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import type { WriteObjectCommand } from '../../domain/objects/object-decider.js';
import { objectStreamId, type ObjectState } from '../../domain/objects/object-state.js';
import type { ListedObject } from '../../infra/backend/index.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { loadObject } from '../../projections/read/object-reads.js';
import type { BackendDirectory } from '../../services/backends/backend-directory.js';
import type { OrphanRecorder } from '../../services/cleanup/orphans.js';
import type { Cause, EventFactory } from '../../services/event-factory.js';
import { cleanupIds, ObjectCommands } from '../../services/objects/object-commands.js';
import { parseStorageKey } from '../../domain/objects/storage-keys.js';
import { isMultipartTemporary, type Destination, type ImportScope } from './import-scope.js';

/**
 * Our own keys younger than this are left alone: a write, multipart completion or move may
 * have put the bytes there and not committed yet. Importing them would make the commit
 * displace (and delete) its own bytes; recording them as orphans would delete them.
 */
export const OWN_KEY_MIN_AGE_MS = 60 * 60 * 1000;
const BATCH = 500;

export type SkipReason =
  /** A live copy. */
  | 'tracked'
  /** An orphan already in the cleanup queue (pending or exhausted). */
  | 'pending-cleanup'
  /** An open multipart upload's object, or a multipart temporary. */
  | 'multipart'
  /** Our key, younger than `OWN_KEY_MIN_AGE_MS`. */
  | 'recent'
  /** Our key of a bucket out of scope, or a foreign key the scope does not map. */
  | 'out-of-scope'
  /** A foreign key whose bucket and key already have a current version. */
  | 'key-exists'
  /** Deleted from the backend before it could be imported. */
  | 'gone'
  /** The key changed in the log while it was being imported. */
  | 'raced'
  /** Stored encrypted (a v2 segment header) and no encryption key is configured: its bytes are not the object's. */
  | 'encrypted';

export interface ScanItem {
  action: 'import' | 'orphan';
  backend: string;
  storageKey: string;
  size: number;
  bucket: string;
  key: string;
}

export interface ScanReport {
  scanned: number;
  imported: number;
  importedBytes: number;
  /** Our own untracked keys recorded for cleanup (never imported: the log knows their key). */
  orphans: number;
  orphanBytes: number;
  failed: number;
  skipped: Partial<Record<SkipReason, number>>;
  /** False when the scan stopped early (its lease was lost). */
  complete: boolean;
}

export interface ScanOptions {
  /** Only backend keys starting with this. */
  prefix: string;
  scope: ImportScope;
  /** Decide and report, write nothing. */
  dryRun: boolean;
  now: Date;
  cause: Cause;
  onItem?: (item: ScanItem) => void;
  /** Called between batches; false stops the scan (e.g. a lost lease). */
  keepAlive?: () => Promise<boolean>;
}

interface Candidate {
  obj: ListedObject;
  dest: Destination;
  /** Set for our own keys. */
  writeId?: string;
}

export function emptyScanReport(): ScanReport {
  return { scanned: 0, imported: 0, importedBytes: 0, orphans: 0, orphanBytes: 0, failed: 0, skipped: {}, complete: true };
}

/**
 * Finds objects on a backend that the log does not know and brings them under its records:
 *
 * - our own keys (`<bucket>/<key>~<writeId>[-<placementId>]`) are imported only when the log
 *   has never heard of their key (a lost log: the newest version found wins); when it has, the
 *   key's current version is elsewhere or it was deleted, so the bytes are an orphan of ours and
 *   go to the cleanup queue — never resurrected (the original's #1325), never imported over a
 *   committed version;
 * - foreign keys are imported where the scope maps them, when their key has no current version;
 * - live copies, queued orphans, open uploads and multipart temporaries are left alone.
 *
 * An encrypted object (v2 segment headers) is imported only when it decrypts completely with the
 * configured keys: its import records the envelope, the client's size, ETag and SHA-256 its bytes
 * give (describeStoredObject); without keys it is skipped, and one that does not decrypt fails.
 *
 * An import is `ObjectWritten` with `origin: 'import'`, appended with the key's stream revision
 * as the expected one, so it can never replace a version committed meanwhile; the inline usage
 * projection accounts its bytes like any write (including the quota check).
 */
export class UntrackedImporter {
  constructor(
    private readonly db: Queryable,
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly backends: BackendDirectory,
    private readonly orphans: OrphanRecorder,
    private readonly logger: Logger,
    private readonly encryption?: ObjectEncryption,
  ) {
    this.objects = new ObjectCommands(store, db, events);
  }

  private readonly objects: ObjectCommands;

  async scan(backend: string, opts: ScanOptions): Promise<ScanReport> {
    const client = this.backends.require(backend).client;
    const report = emptyScanReport();
    // Keys a dry run would have imported: the log does not show them, the rest of the run must.
    const claimed = new Set<string>();
    let batch: ListedObject[] = [];
    for await (const obj of client.listObjects(opts.prefix)) {
      report.scanned++;
      batch.push(obj);
      if (batch.length < BATCH) continue;
      await this.processBatch(backend, batch, opts, report, claimed);
      batch = [];
      if (opts.keepAlive && !(await opts.keepAlive())) {
        report.complete = false;
        return report;
      }
    }
    if (batch.length > 0) await this.processBatch(backend, batch, opts, report, claimed);
    return report;
  }

  private async processBatch(backend: string, batch: ListedObject[], opts: ScanOptions, report: ScanReport, claimed: Set<string>): Promise<void> {
    const known = await this.knownKeys(backend, batch.map((o) => o.key));
    const candidates: Candidate[] = [];
    for (const obj of batch) {
      const reason = known.get(obj.key) ?? (isMultipartTemporary(obj.key) ? 'multipart' : undefined);
      if (reason) {
        skip(report, reason);
        continue;
      }
      const own = parseStorageKey(obj.key);
      if (own) {
        if (opts.scope.ownBucket(own.bucket)) candidates.push({ obj, dest: { bucket: own.bucket, key: own.key }, writeId: own.writeId });
        else skip(report, 'out-of-scope');
        continue;
      }
      const dest = opts.scope.foreign(obj.key);
      if (dest) candidates.push({ obj, dest });
      else skip(report, 'out-of-scope');
    }
    // Our keys before foreign ones (after a lost log, our version of a key is its data), and the
    // newest version of a key first: it is the one imported, older ones then become orphans.
    const own = candidates.filter((c) => c.writeId !== undefined)
      .sort((a, b) => compare(a.dest.bucket, b.dest.bucket) || compare(a.dest.key, b.dest.key) || compare(b.writeId ?? '', a.writeId ?? ''));
    for (const c of [...own, ...candidates.filter((c) => c.writeId === undefined)]) {
      try {
        await this.consider(backend, c, opts, report, claimed);
      } catch (err) {
        report.failed++;
        this.logger.warn({ err, backend, storageKey: c.obj.key }, 'could not reconcile an untracked object');
      }
    }
  }

  private async consider(backend: string, c: Candidate, opts: ScanOptions, report: ScanReport, claimed: Set<string>): Promise<void> {
    if (c.writeId !== undefined && c.obj.lastModified.getTime() > opts.now.getTime() - OWN_KEY_MIN_AGE_MS) {
      skip(report, 'recent');
      return;
    }
    const state = await loadObject(this.db, c.dest.bucket, c.dest.key);
    // Checked again after loading the key: a delete that committed before the load has queued
    // its bytes by now, and one that commits after it fails our append's revision check.
    const known = (await this.knownKeys(backend, [c.obj.key])).get(c.obj.key);
    if (known) {
      skip(report, known);
      return;
    }
    const claim = objectStreamId(c.dest.bucket, c.dest.key);
    if (c.writeId !== undefined && (state.revision !== 'no_stream' || claimed.has(claim))) {
      await this.recordOrphan(backend, c, opts, report);
      return;
    }
    if (state.current || claimed.has(claim)) {
      skip(report, 'key-exists');
      return;
    }
    if (opts.dryRun) claimed.add(claim);
    await this.importObject(backend, c, state, opts, report);
  }

  private async recordOrphan(backend: string, c: Candidate, opts: ScanOptions, report: ScanReport): Promise<void> {
    if (!opts.dryRun) {
      const item = await this.orphans.record(backend, c.obj.key, c.obj.size, 'reconcile_untracked', opts.cause, { reclaimNow: false });
      if (!item) {
        report.failed++;
        return;
      }
      this.backends.noteUsage(backend, { orphan: c.obj.size });
    }
    report.orphans++;
    report.orphanBytes += c.obj.size;
    opts.onItem?.({ action: 'orphan', backend, storageKey: c.obj.key, size: c.obj.size, ...c.dest });
  }

  private async importObject(backend: string, c: Candidate, state: ObjectState, opts: ScanOptions, report: ScanReport): Promise<void> {
    if (opts.dryRun) {
      report.imported++;
      report.importedBytes += c.obj.size;
      opts.onItem?.({ action: 'import', backend, storageKey: c.obj.key, size: c.obj.size, ...c.dest });
      return;
    }
    const client = this.backends.require(backend).client;
    const head = await client.headObject(c.obj.key);
    if (!head) {
      skip(report, 'gone');
      return;
    }
    let sealed: StoredObjectFacts | undefined;
    if (await storedEncrypted(client, c.obj.key, head.contentLength)) {
      if (!this.encryption) {
        this.logger.warn({ backend, storageKey: c.obj.key }, 'not imported: the object is stored encrypted and no encryption key is configured (set encryption.master_key, master_key_file or vault)');
        skip(report, 'encrypted');
        return;
      }
      try {
        sealed = await describeStoredObject(client, c.obj.key, this.encryption.requireKeyring());
      } catch (err) {
        report.failed++;
        this.logger.warn({ err, backend, storageKey: c.obj.key }, 'not imported: the encrypted object does not decrypt with the configured keys (unknown key, or damaged bytes)');
        return;
      }
    }
    const lastModified = [head.lastModified, c.obj.lastModified, opts.now].find((d) => d.getTime() > 0) ?? opts.now;
    const cmd: WriteObjectCommand = {
      writeId: c.writeId ?? newUlid(this.events.now().getTime()),
      size: sealed?.size ?? head.contentLength,
      etag: sealed?.etag ?? head.etag,
      contentType: head.contentType ?? 'binary/octet-stream',
      metadata: head.metadata,
      headers: {},
      checksum: null,
      contentSha256: sealed?.contentSha256 ?? null,
      parts: sealed?.parts ?? null,
      lastModified: lastModified.toISOString(),
      copies: [{ backend, storageKey: c.obj.key, size: head.contentLength }],
      origin: 'import',
      encryption: sealed?.envelope ?? null,
    };
    // The key has no current version, so nothing is displaced; a write racing the import wins.
    try {
      await this.objects.change(c.dest.bucket, c.dest.key, { type: 'Write', version: cmd, ids: cleanupIds }, opts.cause, { initial: state, maxAttempts: 1 });
    } catch (err) {
      if (err instanceof ConcurrencyError) {
        skip(report, 'raced');
        return;
      }
      if (err instanceof InvariantViolationError && err.invariant === 'quota') {
        report.failed++;
        this.logger.warn({ backend, storageKey: c.obj.key, size: head.contentLength }, 'untracked object not imported: the backend would exceed its quota');
        return;
      }
      throw err;
    }
    this.backends.noteUsage(backend, { used: head.contentLength, count: 1 });
    report.imported++;
    report.importedBytes += head.contentLength;
    opts.onItem?.({ action: 'import', backend, storageKey: c.obj.key, size: head.contentLength, ...c.dest });
  }

  /** Which of `keys` on `backend` the records already account for, and how. */
  private async knownKeys(backend: string, keys: string[]): Promise<Map<string, SkipReason>> {
    const res = await this.db.query<{ storage_key: string; reason: SkipReason }>(
      `SELECT storage_key, 'tracked' AS reason FROM object_copies WHERE backend = $1 AND storage_key = ANY($2::text[])
       UNION ALL SELECT storage_key, 'pending-cleanup' FROM cleanup_queue WHERE backend = $1 AND storage_key = ANY($2::text[])
       UNION ALL SELECT storage_key, 'multipart' FROM multipart_uploads WHERE backend = $1 AND storage_key = ANY($2::text[])`,
      [backend, keys],
    );
    return new Map(res.rows.map((r) => [r.storage_key, r.reason]));
  }
}

function skip(report: ScanReport, reason: SkipReason): void {
  report.skipped[reason] = (report.skipped[reason] ?? 0) + 1;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Adds `b` into `a`. */
export function addScanReports(a: ScanReport, b: ScanReport): ScanReport {
  const skipped = { ...a.skipped };
  for (const [reason, n] of Object.entries(b.skipped) as [SkipReason, number][]) skipped[reason] = (skipped[reason] ?? 0) + n;
  return {
    scanned: a.scanned + b.scanned, imported: a.imported + b.imported, importedBytes: a.importedBytes + b.importedBytes,
    orphans: a.orphans + b.orphans, orphanBytes: a.orphanBytes + b.orphanBytes, failed: a.failed + b.failed, skipped,
    complete: a.complete && b.complete,
  };
}

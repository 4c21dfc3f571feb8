import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { createEncryptionMetrics } from '../../infra/telemetry/encryption-metrics.js';
import { newUlid } from '../../infra/ids.js';
import { migrateSchema } from '../../projections/schema/plan.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { createLogger } from '../../infra/telemetry/logger.js';
import { Leases } from '../../processes/leases.js';
import { runSync, syncSummary } from '../../processes/reconcile/sync-run.js';
import { UntrackedImporter, type ScanItem } from '../../processes/reconcile/untracked-importer.js';
import { flushUsage } from '../../processes/usage-flusher.js';
import { BackendDirectory } from '../../services/backends/backend-directory.js';
import { OrphanRecorder } from '../../services/cleanup/orphans.js';
import { Reclaimer } from '../../services/cleanup/reclaimer.js';
import { createEventFactory } from '../../services/event-factory.js';
import { UsageMeter } from '../../services/usage/usage-meter.js';
import { backendSettings, breakerSettings } from '../backend-settings.js';
import { openDatabase } from '../database.js';
import { openEncryption } from '../encryption-setup.js';
import type { ObjectEncryption } from '../../services/encryption/object-encryption.js';
import { configForCommand } from './load-config.js';

const usage = 'usage: s3o sync --backend NAME --bucket BUCKET [--prefix PREFIX] [--dry-run] [--config FILE]';

export interface SyncIo {
  out(line: string): void;
  err(line: string): void;
  /** The time our own keys' age is measured against (they are left alone for an hour). */
  now(): Date;
}

const consoleIo: SyncIo = { out: (l) => console.log(l), err: (l) => console.error(l), now: () => new Date() };

function describe(item: ScanItem, dryRun: boolean): string {
  const from = `${item.backend}:${item.storageKey}`;
  const size = `(${item.size} bytes)`;
  if (item.action === 'import') return `${dryRun ? 'would import' : 'imported'} ${from} as ${item.bucket}/${item.key} ${size}`;
  return `${dryRun ? 'would record' : 'recorded'} ${from} for cleanup: an untracked version of ${item.bucket}/${item.key} ${size}`;
}

/**
 * `s3o sync`: imports the objects of one backend that the log does not know into a bucket
 * (see `UntrackedImporter` for what is imported and what is left alone). Takes the reconcile
 * lease, so it never runs beside the reconciler. `--dry-run` writes nothing. With a key source
 * in the `encryption` section, encrypted objects are imported readable (recovery from the
 * backend's bytes and the master key); without one they are skipped.
 */
export async function syncCommand(argv: string[], io: SyncIo = consoleIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' }, backend: { type: 'string' }, bucket: { type: 'string' },
      prefix: { type: 'string', default: '' }, 'dry-run': { type: 'boolean', default: false },
    },
  });
  const { backend, bucket, prefix } = values;
  const dryRun = values['dry-run'];
  if (!backend || !bucket) {
    io.err(usage);
    return 2;
  }
  const config = await configForCommand(values.config);
  if (!config.buckets.some((b) => b.name === bucket)) throw new Error(`no bucket named "${bucket}" is configured`);
  if (!config.backends.some((b) => b.name === backend)) throw new Error(`no backend named "${backend}" is configured`);

  const logger = createLogger('warn');
  const db = await openDatabase(config.database, logger, 'client');
  // Its API calls count against the backend's monthly usage like the orchestrator's own.
  const meter = new UsageMeter();
  const backends = new BackendDirectory(backendSettings(config), breakerSettings(config), meter);
  let encryption: ObjectEncryption | undefined;
  try {
    encryption = await openEncryption(config.encryption, createEncryptionMetrics(new Registry()), logger);
    await migrateSchema(db.pool);
    const owner = `sync-${hostname()}-${process.pid}`;
    const store = new PostgresEventStore(db.pool);
    const events = createEventFactory(owner);
    const orphans = new OrphanRecorder(store, events, new Reclaimer(store, events, backends, logger), logger);
    const importer = new UntrackedImporter(db.pool, store, events, backends, orphans, logger, encryption);
    const cause = { actor: 'operator:sync', correlationId: `sync-${newUlid()}` };
    const deps = { db: db.pool, importer, leases: new Leases(db.pool, owner, 120_000), buckets: config.buckets.map((b) => b.name) };
    const report = await runSync(deps, {
      backend, bucket, prefix, dryRun, now: io.now(), cause,
      onItem: (item) => io.out(describe(item, dryRun)),
      // A dry run writes nothing, not even an audit record.
      started: () => store.appendToStream('admin', [events.event('AdminCommandIssued', { command: 'sync', args: { backend, bucket, prefix } }, cause)], { expected: 'any' }).then(() => undefined),
    });
    if (!dryRun) await flushUsage(store, events, meter, logger);
    io.out(syncSummary(report, dryRun));
    if (!report.complete) io.err('the scan stopped early: its lease was lost; run it again');
    return report.failed > 0 || !report.complete ? 1 : 0;
  } finally {
    await encryption?.close();
    await backends.close();
    await db.close();
  }
}

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { adminContext } from '../gateway/admin/admin-context.js';
import { SigningKeyCache } from '../gateway/auth/index.js';
import type { GatewayContext } from '../gateway/context.js';
import { CredentialStore } from '../gateway/s3/credential-store.js';
import { buildServer } from '../gateway/server.js';
import { guardPool } from '../infra/db/guarded-pool.js';
import { migrateSchema } from '../projections/schema/plan.js';
import { CircuitBreaker } from '../infra/resilience/circuit-breaker.js';
import { PostgresEventStore } from '../infra/eventstore/postgres-event-store.js';
import { LogRing } from '../infra/telemetry/log-ring.js';
import { createLogger, teeDestination, type Logger } from '../infra/telemetry/logger.js';
import { createMetrics, type Metrics } from '../infra/telemetry/metrics.js';
import { CleanupWorker } from '../processes/cleanup-worker.js';
import { DrainDriver } from '../processes/jobs/drain-driver.js';
import { JobSupervisor } from '../processes/jobs/job-supervisor.js';
import { RemoveDriver } from '../processes/jobs/remove-driver.js';
import { Leases } from '../processes/leases.js';
import { Periodic } from '../processes/periodic.js';
import { WorkerBoard } from '../processes/worker-board.js';
import { AuditLog } from '../services/telemetry/audit-log.js';
import { flushUsage } from '../processes/usage-flusher.js';
import { ProjectionRunner, projectionStatuses } from '../projections/async/runner.js';
import { AppendWakeups } from '../projections/async/wakeups.js';
import { asyncProjections } from '../projections/registry.js';
import { BackendAdmin } from '../services/backends/backend-admin.js';
import { BackendDirectory } from '../services/backends/backend-directory.js';
import { reconcileBackends } from '../services/backends/backend-lifecycle.js';
import { CacheAdmin } from '../services/cache/cache-admin.js';
import { cacheInvalidation, ObjectCache } from '../services/cache/object-cache.js';
import { OrphanRecorder } from '../services/cleanup/orphans.js';
import { Reclaimer } from '../services/cleanup/reclaimer.js';
import { createEventFactory, type EventFactory } from '../services/event-factory.js';
import { MultipartService } from '../services/multipart/multipart-service.js';
import { Mover } from '../services/moves/mover.js';
import { DegradedLookup } from '../services/objects/degraded-lookup.js';
import { LocationCache } from '../services/objects/location-cache.js';
import { ObjectChangeFeed } from '../services/objects/object-change-feed.js';
import { ObjectStateCache } from '../services/objects/object-state-cache.js';
import { ObjectCommands } from '../services/objects/object-commands.js';
import { ObjectReader } from '../services/objects/object-reader.js';
import { PlaintextReader } from '../services/objects/plaintext-reader.js';
import { ObjectWriter } from '../services/objects/object-writer.js';
import { WritePlacement } from '../services/placement/write-placement.js';
import { UsageMeter, usagePeriod } from '../services/usage/usage-meter.js';
import { backendDeclarations, backendSettings, breakerSettings, usageLimits } from './backend-settings.js';
import { diffForReload } from './config/reload.js';
import { durabilityWorkers, type DurabilityWorkers } from './durability-workers.js';
import { integrityWorkers } from './integrity-workers.js';
import { replicationWorkers, type ReplicationWorkers } from './replication-workers.js';
import { observeAppends, wireScrapeMetrics } from './telemetry.js';
import type { Config } from '../domain/config/config.js';
import { objectChanges } from '../domain/objects/object-changes.js';
import { openDatabase, type DatabaseHandle } from './database.js';
import { openEncryption } from './encryption-setup.js';
import { startTracing } from './tracing-setup.js';
import { replicaCopier } from '../services/integrity/replica-copier.js';
import { RecentRequests } from '../services/telemetry/recent-requests.js';
import { TraceSnapshots } from '../services/telemetry/trace-snapshot.js';
import type { SpanExporter } from '../infra/telemetry/tracer-provider.js';
import { encryptionJobs } from './encryption-jobs.js';
import type { StoredBytesRewriter } from '../services/rewrites/stored-bytes-rewriter.js';
import { mergeReloadable, parseListenAddr } from './reload.js';
import { VERSION } from './version.js';

/** Keys whose committed state a single-writer orchestrator keeps (roughly 1 KiB each). */
const OBJECT_STATE_CACHE_ENTRIES = 100_000;

/** The shared services, for a caller that reaches into a running orchestrator (tests, an operator tool). */
export interface OrchestratorServices {
  logger: Logger;
  pool: pg.Pool;
  store: PostgresEventStore;
  events: EventFactory;
  objects: ObjectCommands;
  reclaimer: Reclaimer;
  orphans: OrphanRecorder;
  multipart: MultipartService;
  backends: BackendDirectory;
  backendAdmin: BackendAdmin;
  /** Rewrites objects for encrypt-existing and decrypt-existing (undefined without encryption keys). */
  rewriter: StoredBytesRewriter | undefined;
}

export interface Orchestrator {
  services: OrchestratorServices;
  app: FastifyInstance;
  /** `http://host:port` the S3 API listens on. */
  url: string;
  /** `http://host:port/path` of the metrics, when they are on (on their own listener with `telemetry.metrics.listen`). */
  metricsUrl: string | undefined;
  /** Applies a new configuration file's reloadable settings; returns the paths that need a restart. */
  reload(next: Config): Promise<{ applied: string[]; restartRequired: string[] }>;
  /** The cleanup worker, so a caller (tests, admin) can run a pass now instead of waiting for its period. */
  cleanup: CleanupWorker;
  /**
   * Lifecycle, stale multipart expiry, reconcile, replication, over-replication and rebalance,
   * so a caller can run a pass now (`runOnce`).
   */
  workers: DurabilityWorkers & ReplicationWorkers;
  /** Runs the jobs (drain, remove, rebalance…) this instance holds the lease of. */
  jobs: JobSupervisor;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** The lines `logger` wrote lately, for the dashboard's log view (empty when the caller keeps none). */
  recentLogs?: LogRing;
  /** An already open database (tests); otherwise the configured one is opened. */
  database?: { pool: pg.Pool };
  /** With tracing on, spans go to this exporter instead of the configured OTLP endpoint (tests). */
  spanExporter?: SpanExporter;
  /** False: the cleanup worker runs only when called or kicked, not every 10 s (tests that count its passes). */
  scheduledCleanup?: boolean;
}

/** Wires every part of the orchestrator from a configuration and starts serving. */
export async function startOrchestrator(initial: Config, opts: StartOptions = {}): Promise<Orchestrator> {
  let config = initial;
  const recentLogs = opts.recentLogs ?? new LogRing();
  const logger = opts.logger ?? createLogger(config.server.log_level, {}, teeDestination(recentLogs.stream()));
  const instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const db: DatabaseHandle | undefined = opts.database ? undefined : await openDatabase(config.database, logger, 'server');
  const databaseBreaker = new CircuitBreaker({
    enabled: true, failureThreshold: config.circuit_breaker.failure_threshold, openTimeoutMs: config.circuit_breaker.open_timeout,
  }, Date.now, Math.random, (from, to) => logger.warn({ from, to }, `database circuit breaker ${to === 'open' ? 'opened: serving reads in degraded mode, refusing writes' : to}`));
  const pool = guardPool(opts.database?.pool ?? (db as DatabaseHandle).pool, databaseBreaker);
  if (db) logger.info({ database: db.description }, 'database open');
  try {
    await migrateSchema(pool, logger);
  } catch (err) {
    await db?.close();
    throw err;
  }
  const metrics: Metrics = createMetrics(VERSION);
  const tracing = startTracing(config, pool, instanceId, logger, opts.spanExporter, metrics.registry);
  const recentRequests = new RecentRequests();
  const snapshots = new TraceSnapshots({ requests: recentRequests, spans: tracing?.spans, sampleRate: config.telemetry.tracing.sample_rate, instanceId, version: VERSION });
  let encryption;
  try {
    encryption = await openEncryption(config.encryption, metrics.encryption, logger);
  } catch (err) {
    await db?.close();
    throw err;
  }
  const store = new PostgresEventStore(pool);
  const events = createEventFactory(instanceId);
  const system = { actor: 'system:config' };

  const report = await reconcileBackends(store, events, backendDeclarations(config), system);
  for (const name of report.registered) logger.info({ backend: name }, 'backend registered');
  for (const name of report.limitsChanged) logger.info({ backend: name }, 'backend limits changed');
  for (const { name, state } of report.excluded) {
    logger.warn({ backend: name, state }, `backend ${name} is ${state} but still in the configuration: it takes no writes until "s3o admin backend-reactivate ${name}"`);
  }

  const meter = new UsageMeter();
  const backends = new BackendDirectory(backendSettings(config), breakerSettings(config), meter, {
    onBreakerTransition: (backend, from, to) => {
      metrics.circuitTransitions.inc({ name: backend, to });
      metrics.circuitState.set({ name: backend }, to === 'closed' ? 0 : to === 'open' ? 1 : 2);
      logger.warn({ backend, from, to }, 'backend circuit breaker changed state');
    },
    onCall: (backend, op, info) => {
      metrics.backendRequests.labels(backend, op, info.outcome).inc();
      metrics.backendDuration.labels(backend, op).observe(info.durationMs / 1000);
    },
  });
  await backends.refresh(pool);
  await meter.refreshBaseline(pool);

  // The only writer keeps every key's committed state current itself: lookups need no round trip.
  const singleWriter = config.database.single_writer ?? (config.database.driver === 'embedded' && opts.database === undefined);
  const objectStates = singleWriter ? new ObjectStateCache(OBJECT_STATE_CACHE_ENTRIES) : undefined;
  const objects = new ObjectCommands(store, pool, events, objectStates);
  const reclaimer = new Reclaimer(store, events, backends, logger);
  const orphans = new OrphanRecorder(store, events, reclaimer, logger);
  const placement = new WritePlacement(backends, {
    strategy: () => config.routing_strategy,
    failoverAttempts: () => config.server.write_failover_attempts,
  });
  const writer = new ObjectWriter(backends, placement, objects, orphans, reclaimer, events, {
    bufferLimit: () => config.server.small_body_buffer,
    writeCopies: () => config.replication.write_copies,
  }, logger, encryption);
  const reader = new ObjectReader(backends, logger);
  const plain = new PlaintextReader(reader, encryption, (version, copy, err) => {
    logger.error({ writeId: version.writeId, backend: copy.backend, storageKey: copy.storageKey, err }, 'a stored copy failed decryption');
    // Recorded as a bad copy and replaced from a healthy one (the integrity service is built below, before any read).
    integrity.service.reportUndecryptable(version, copy, { actor: 'system:read' });
  }, logger);
  const multipart = new MultipartService(pool, store, events, backends, placement, writer, objects, orphans, logger, encryption);
  const credentials = new CredentialStore(config.buckets);
  const signingKeys = new SigningKeyCache();
  const health = { ready: false, databaseHealthy: () => databaseBreaker.current() === 'closed' };

  const leases = new Leases(pool, instanceId);
  const runner = new ProjectionRunner(pool, asyncProjections, { owner: instanceId, logger });
  const cache = new ObjectCache(config.cache, metrics.cache);
  const changes = new ObjectChangeFeed();
  changes.subscribe(cacheInvalidation(cache));
  const wakeups = new AppendWakeups((pool as unknown as { options: pg.ClientConfig }).options, pool, instanceId, {
    wake: () => runner.wake(),
    changed: (changed) => changes.publish(changed),
    unknown: () => changes.publishUnknown(),
    message: (message) => cacheAdmin.applyRemote(message),
  }, logger);
  const cacheAdmin = new CacheAdmin(cache, instanceId, (command) => wakeups.broadcast(command), logger);
  const countAppends = observeAppends(metrics);
  const audit = new AuditLog(logger, metrics);
  store.onAppended = (results, appends) => {
    backends.committed(results, appends);
    objectStates?.appended(results, appends);
    runner.appended(appends.flatMap((a) => a.events.map((e) => e.type)));
    const changed = objectChanges(appends);
    wakeups.appended(changed);
    changes.publish(changed);
    countAppends(appends);
    audit.appended(appends);
  };
  store.onAppendFailed = (appends) => objectStates?.failed(appends);
  const cleanup = new CleanupWorker(pool, store, events, backends, leases, () => ({
    concurrency: config.cleanup_queue.concurrency, maxAttempts: config.cleanup_queue.max_attempts, batchSize: 50,
    failedWriteGraceMs: config.cleanup_queue.failed_write_grace,
  }), logger, (outcome) => metrics.cleanupProcessed.inc({ outcome }));
  const cleanupTick = new Periodic('cleanup', () => 10_000, () => cleanup.runOnce(), logger);
  // Replicas and moved copies are checked against the recorded SHA-256 while integrity.verify_on_replicate is on.
  const copy = replicaCopier({ backends, reader, plain, integrity: () => integrity.service },
    () => config.integrity.enabled && config.integrity.verify_on_replicate);
  const mover = new Mover(objects, events, backends, reader, placement, orphans, reclaimer, { replicationFactor: () => config.replication.factor, copy }, logger);
  const replication = replicationWorkers({
    pool, store, events, backends, reader, placement, orphans, reclaimer, mover, copy, leases, metrics, logger, kickJobs: () => jobs.kick(),
  }, () => config);
  const encryptionJobRunners = encryptionJobs({
    pool, store, events, objects, backends, plain, encryption, orphans, reclaimer, leases, metrics, logger, kickJobs: () => jobs.kick(),
  }, () => ({ batchSize: 100, concurrency: config.rebalance.concurrency }));
  const jobs = new JobSupervisor(pool, store, events, leases, [
    ...encryptionJobRunners.drivers,
    replication.rebalanceDriver,
    new DrainDriver(pool, store, events, mover, multipart, () => ({ batchSize: 100, concurrency: config.rebalance.concurrency }), () => cleanupTick.kick(), reclaimer, logger),
    new RemoveDriver('remove', pool, store, events, multipart, () => cleanupTick.kick(), logger),
    new RemoveDriver('purge', pool, store, events, multipart, () => cleanupTick.kick(), logger),
  ], logger);
  const backendAdmin = new BackendAdmin(store, pool, events, () => jobs.kick());
  const board = new WorkerBoard();
  const integrity = integrityWorkers({ pool, store, events, backends, reader, plain, placement, orphans, reclaimer, leases, metrics, logger }, () => config);
  const durability = durabilityWorkers({ pool, store, events, objects, reclaimer, orphans, multipart, backends, leases, metrics, logger, encryption }, () => config);
  const ctx: GatewayContext = {
    config: () => config, logger, metrics, health, recentLogs, tracer: tracing?.requests,
    s3: {
      config: () => config, logger, metrics, audit, reads: pool, credentials, signingKeys, objects, writer, placement, reader, plain, encryption, reclaimer, multipart,
      backends, locations: new LocationCache(config.circuit_breaker.cache_ttl), degraded: new DegradedLookup(backends, logger), startedAtMs: Date.now(),
      integrity: integrity.service, cache, recentRequests,
    },
    admin: adminContext({
      config: () => config, logger, db: pool, store, events, backends, backendAdmin, kickCleanup: () => cleanupTick.kick(),
      usage: {
        period: () => usagePeriod(new Date()),
        effective: (backend) => meter.effective(backend),
        flush: () => flushUsage(store, events, meter, logger, { throwOnError: true }),
      },
      replication: replication.control,
      workers: board,
      instanceId,
      integrity: integrity.control,
      cache: cacheAdmin,
      encryptionJobs: encryptionJobRunners.starter,
      snapshots,
      sync: durability.sync,
    }),
  };

  const workers = [
    ...durability.schedules,
    ...replication.schedules,
    ...integrity.schedules,
    new Periodic('backend-refresh', () => 1000, async () => {
      await backends.refresh(pool);
    }, logger, { jitter: false }),
    cleanupTick,
    new Periodic('projection-lag', () => 10_000, async () => {
      for (const st of await projectionStatuses(pool, asyncProjections)) metrics.projectionLag.set({ projection: st.name }, st.lag);
    }, logger),
    new Periodic('usage-flush', () => usageFlushInterval(config, meter), async () => {
      // Baseline first: the usage_monthly projection has not applied this flush yet, so a refresh
      // after it would replace the flushed counts flushUsage just added with older totals.
      await meter.refreshBaseline(pool);
      await flushUsage(store, events, meter, logger);
    }, logger, { jitter: false }),
  ];

  for (const w of workers) w.reportTo(board);
  jobs.reportTo(board);
  wireScrapeMetrics({ pool, metrics, backends, meter, board, logger });
  metrics.onScrape(async () => void cache.stats());

  const app = await buildServer(ctx);
  const { host, port } = parseListenAddr(config.server.listen_addr);
  await app.listen({ host, port });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${boundPort}`;
  const metricsServer = await startMetricsListener(config, metrics);
  const metricsUrl = !config.telemetry.metrics.enabled ? undefined
    : `${metricsServer ? localUrl(metricsServer) : url}${config.telemetry.metrics.path}`;

  runner.start();
  await wakeups.start();
  for (const w of workers) if (w !== cleanupTick || opts.scheduledCleanup !== false) w.start();
  jobs.start();
  health.ready = true;
  logger.info({ url, instanceId, version: VERSION }, 's3-orchestrator ready');

  let stopping: Promise<void> | undefined;
  return {
    services: { logger, pool, store, events, objects, reclaimer, orphans, multipart, backends, backendAdmin, rewriter: encryptionJobRunners.rewriter },
    app,
    url,
    metricsUrl,
    jobs,
    cleanup,
    workers: { ...durability.workers, ...replication.workers },
    async reload(nextFile) {
      const diff = diffForReload(config, nextFile);
      for (const path of diff.restartRequired) logger.warn({ field: path }, `${path} changed but only takes effect after a restart`);
      const next = mergeReloadable(config, nextFile);
      // The only step that can fail runs first, so a failed reload changes nothing.
      if (diff.reloadable.backend_limits.length > 0) {
        const changed = backendDeclarations(next).filter((d) => diff.reloadable.backend_limits.includes(d.name));
        await reconcileBackends(store, events, changed, { actor: 'system:reload' });
      }
      if (diff.reloadable.log_level) logger.level = next.server.log_level;
      if (diff.reloadable.cache) cache.configure(next.cache);
      if (diff.reloadable.buckets) {
        credentials.replace(next.buckets);
        signingKeys.clear();
      }
      for (const b of next.backends) backends.updateLimits(b.name, b.quota_bytes, usageLimits(b));
      config = next;
      await backends.refresh(pool).catch(() => undefined);
      // Enabling replication (or rebalancing) acts on existing data now, not at the next tick.
      if (diff.reloadable.replication) replication.kick('replication');
      if (diff.reloadable.rebalance) replication.kick('rebalance');
      logger.info({ applied: diff.reloadable.paths }, 'configuration reloaded');
      return { applied: [...diff.reloadable.paths], restartRequired: [...diff.restartRequired] };
    },
    stop() {
      stopping ??= (async () => {
        health.ready = false;
        if (config.server.shutdown_delay > 0) await new Promise((r) => setTimeout(r, config.server.shutdown_delay));
        await app.close();
        await jobs.stop();
        await Promise.all(workers.map((w) => w.stop()));
        await integrity.service.idle();
        await reclaimer.drain();
        await flushUsage(store, events, meter, logger);
        await wakeups.stop();
        await runner.stop();
        await backends.close();
        await encryption?.close();
        await new Promise<void>((r) => (metricsServer ? metricsServer.close(() => r()) : r()));
        await tracing?.shutdown().catch((err: unknown) => logger.warn({ err }, 'tracing: the last spans could not be exported'));
        await db?.close();
        logger.info('s3-orchestrator stopped');
      })();
      return stopping;
    },
  };
}

function usageFlushInterval(config: Config, meter: UsageMeter): number {
  const f = config.usage_flush;
  if (!f.adaptive_enabled) return f.interval;
  const limits = new Map(config.backends.map((b) => [b.name, usageLimits(b)]));
  return meter.highestRatio(limits) >= f.adaptive_threshold ? f.fast_interval : f.interval;
}

function localUrl(server: Server): string {
  const a = server.address();
  if (!a || typeof a !== 'object') throw new Error('the metrics listener has no address');
  const host = a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return `http://${host}:${a.port}`;
}

async function startMetricsListener(config: Config, metrics: Metrics): Promise<Server | undefined> {
  const m = config.telemetry.metrics;
  if (!m.enabled || !m.listen) return undefined;
  const { host, port } = parseListenAddr(m.listen);
  const server = createServer((req, res) => {
    if (req.url !== m.path) {
      res.writeHead(404).end();
      return;
    }
    void metrics.exposition().then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body));
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}

import { S3Client } from '@aws-sdk/client-s3';
import { parseConfigText } from '../../ops/config/loader.js';
import type { Config } from '../../domain/config/config.js';
import { startOrchestrator, type Orchestrator, type StartOptions } from '../../ops/app.js';
import { createLogger } from '../../infra/telemetry/logger.js';
import type { S3rverInstance } from './s3rver.js';
import { s3rverImplementation, type BackendImplementation, type BackendStore } from './backend-stores.js';
import { createMigratedDatabase, type MigratedDatabase } from './store.js';

export interface TestBackend {
  name?: string;
  quota?: number;
  extra?: string;
  /** Where the orchestrator reaches this backend's store, when not directly (e.g. through a fault-injecting proxy). */
  endpoint?: (store: BackendStore) => Promise<string>;
}

export interface TestBucket {
  name: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A legacy `X-Proxy-Token` credential as well, when set. */
  token?: string;
}

export interface TestStack {
  orchestrator: Orchestrator;
  config: Config;
  db: MigratedDatabase;
  /** The implementation the backends run on. */
  on: BackendImplementation;
  /** One bucket per configured backend, in config order. */
  stores: BackendStore[];
  /** The s3rver processes behind the stores (empty on RGW). */
  s3rvers: S3rverInstance[];
  buckets: TestBucket[];
  url: string;
  client(bucket?: string, overrides?: Record<string, unknown>): S3Client;
  /** Builds the YAML the stack was started with, with other top-level sections appended. */
  yaml(extra?: string): string;
  restart(extraYaml?: string): Promise<void>;
  stop(): Promise<void>;
}

export const defaultBuckets: TestBucket[] = [
  { name: 'alpha', accessKeyId: 'ALPHAKEY', secretAccessKey: 'alpha-secret' },
  { name: 'beta', accessKeyId: 'BETAKEY', secretAccessKey: 'beta-secret' },
];

function renderYaml(stores: BackendStore[], endpoints: string[], backends: TestBackend[], buckets: TestBucket[], extra: string, serverYaml: string): string {
  const b = backends.map((be, i) => {
    const s = stores[i] as BackendStore;
    return [
      `  - name: ${be.name ?? `b${i + 1}`}`,
      `    endpoint: "${endpoints[i]}"`,
      `    bucket: ${s.bucket}`,
      `    access_key_id: ${s.accessKeyId}`,
      `    secret_access_key: ${s.secretAccessKey}`,
      '    force_path_style: true',
      `    quota_bytes: ${be.quota ?? 0}`,
      ...(be.extra ? [be.extra] : []),
    ].join('\n');
  });
  const k = buckets.map((bk) => [
    `  - name: ${bk.name}`,
    '    credentials:',
    `      - access_key_id: ${bk.accessKeyId}`,
    `        secret_access_key: ${bk.secretAccessKey}`,
    ...(bk.token === undefined ? [] : [`      - token: ${bk.token}`]),
  ].join('\n'));
  return [
    'server:',
    '  listen_addr: "127.0.0.1:0"',
    '  log_level: warn',
    ...(serverYaml ? [serverYaml] : []),
    'buckets:',
    ...k,
    'backends:',
    ...b,
    extra,
  ].join('\n');
}

/**
 * A test's config: unless its YAML sets cleanup_queue.failed_write_grace, failed writes' orphans
 * wait one second (not the product's five minutes) before the cleanup worker deletes them, so a
 * test that settles the cleanup queue need not wait long; an aborted PUT s3rver still stores does
 * so within milliseconds. Every config a test builds gets it, so a reload from `stack.yaml()`
 * changes only what the test changed.
 */
export function parseOrThrow(yaml: string): Config {
  const parsed = parseConfigText(yaml, {});
  if (!parsed.ok) throw new Error(`test config invalid:\n${parsed.errors.join('\n')}`);
  const config = parsed.config;
  return /^\s+failed_write_grace:/m.test(yaml) ? config : { ...config, cleanup_queue: { ...config.cleanup_queue, failed_write_grace: 1_000 } };
}

/**
 * A whole orchestrator in-process on a fresh database, with real backends — s3rver processes,
 * or buckets on the run's Ceph RGW when `on` says so (see each-backend.ts) — and S3 clients with default SDK settings (trailing checksums on).
 * `serverYaml` adds lines to the `server:` section (indented by two spaces, e.g.
 * `  small_body_buffer: 1MiB`); `extraYaml` appends other top-level sections.
 */
export async function startStack(opts: {
  backends?: TestBackend[]; buckets?: TestBucket[]; extraYaml?: string; serverYaml?: string; start?: StartOptions; on?: BackendImplementation;
} = {}): Promise<TestStack> {
  const backends = opts.backends ?? [{ quota: 0 }];
  const buckets = opts.buckets ?? defaultBuckets;
  const db = await createMigratedDatabase(20);
  const on = opts.on ?? s3rverImplementation;
  const { stores, s3rvers, release } = await on.provision(backends.length);
  const endpoints = await Promise.all(backends.map((be, i) => be.endpoint?.(stores[i] as BackendStore) ?? (stores[i] as BackendStore).endpoint));
  const yaml = (extra = opts.extraYaml ?? '') => renderYaml(stores, endpoints, backends, buckets, extra, opts.serverYaml ?? '');
  let config = parseOrThrow(yaml());
  const logger = createLogger((process.env.S3O_TEST_LOG as 'debug' | undefined) ?? 'silent');
  let orchestrator = await startOrchestrator(config, { logger, database: { pool: db.pool }, ...opts.start });
  const clients: S3Client[] = [];
  const stack: TestStack = {
    get orchestrator() {
      return orchestrator;
    },
    get config() {
      return config;
    },
    get url() {
      return orchestrator.url;
    },
    db,
    on,
    stores,
    s3rvers,
    buckets,
    yaml,
    client(bucket = buckets[0]?.name ?? 'alpha', overrides = {}) {
      const b = buckets.find((x) => x.name === bucket) ?? (buckets[0] as TestBucket);
      const c = new S3Client({
        endpoint: orchestrator.url,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: b.accessKeyId, secretAccessKey: b.secretAccessKey },
        maxAttempts: 1,
        ...overrides,
      });
      clients.push(c);
      return c;
    },
    async restart(extraYaml) {
      await orchestrator.stop();
      config = parseOrThrow(yaml(extraYaml ?? opts.extraYaml ?? ''));
      orchestrator = await startOrchestrator(config, { logger, database: { pool: db.pool }, ...opts.start });
      for (const c of clients) c.destroy();
      clients.length = 0;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await orchestrator.stop();
      await release();
      await db.close();
    },
  };
  return stack;
}

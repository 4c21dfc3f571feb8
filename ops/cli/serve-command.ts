import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { stopAllEmbeddedPostgres } from '../../infra/db/embedded-postgres.js';
import { keepFreedBufferMemory } from '../../infra/native-heap.js';
import { LogRing } from '../../infra/telemetry/log-ring.js';
import { createLogger, teeDestination } from '../../infra/telemetry/logger.js';
import { startOrchestrator, type Orchestrator } from '../app.js';
import { loadConfig } from '../config/loader.js';
import type { Config } from '../../domain/config/config.js';
import { startDemo, type Demo } from '../demo/demo.js';

/** What to change when the S3 endpoint's address is taken or not allowed. */
function listenHint(err: unknown, configPath: string | undefined): string {
  const e = err as NodeJS.ErrnoException & { syscall?: string };
  if (e.syscall !== 'listen' || (e.code !== 'EADDRINUSE' && e.code !== 'EACCES' && e.code !== 'EADDRNOTAVAIL')) return '';
  return configPath === undefined
    ? ' (the demo\'s S3 endpoint: set S3O_LISTEN to another address, e.g. S3O_LISTEN=127.0.0.1:9001)'
    : ` (set server.listen_addr in ${configPath} to another address)`;
}

/**
 * `s3o serve [--config FILE]`: runs the orchestrator until SIGINT/SIGTERM (graceful: in-flight
 * requests finish, workers stop, embedded PostgreSQL stops). SIGHUP reloads the reloadable
 * settings from FILE, all or nothing. Without --config it runs the built-in demo.
 */
export async function serveCommand(argv: string[]): Promise<number> {
  // V8 sweeps dead young ArrayBuffers on a background thread after a scavenge, but checks the
  // old generation's limit (which counts their bytes) before that sweep has freed them. A server
  // moving large bodies in 64 KiB buffers then starts a full mark-compact after nearly every
  // scavenge once its heap sits near its limit (after a while of small requests): measured 50
  // full GCs in 6 s of 64 MiB transfers, 2-3x the CPU per GB. Swept at once, the bytes are gone
  // before the check.
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
  // After a full GC V8 sets the next one's trigger at live size × a factor it derives from how
  // much of the recent time went to GC. Once large transfers made GC busy, that factor fell to
  // ~1.1-1.4 (a limit ~24 MB above ~58 MB live after the small requests), the next marking
  // started right after each full GC, and each slowed the next: 2-5 full GCs per encrypted
  // 64 MiB PUT, its CPU per GB doubled. A fixed factor of 2 leaves room for the garbage.
  setFlagsFromString('--heap-growing-percent=100');
  // Socket buffers freed by a scavenge are reused instead of given back and faulted in again:
  // the plain 64 MiB GET's CPU per GB, 2-4x the proxy's in some processes, is then at the proxy's.
  keepFreedBufferMemory();
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } } });
  let demo: Demo | undefined;
  let config: Config;
  if (values.config) {
    const loaded = await loadConfig(values.config);
    for (const w of loaded.warnings) console.error(`warning: ${w}`);
    if (!loaded.ok) {
      console.error(`${values.config} is not valid:`);
      for (const e of loaded.errors) console.error(`  ${e}`);
      return 1;
    }
    config = loaded.config;
  } else {
    try {
      demo = await startDemo();
    } catch (err) {
      console.error(`s3-orchestrator could not start: ${(err as Error).message}`);
      return 1;
    }
    config = demo.config;
  }
  const recentLogs = new LogRing();
  const logger = createLogger(config.server.log_level, {}, teeDestination(recentLogs.stream()));
  let orchestrator: Orchestrator;
  try {
    orchestrator = await startOrchestrator(config, { logger, recentLogs });
  } catch (err) {
    await demo?.stop();
    await stopAllEmbeddedPostgres();
    console.error(`s3-orchestrator could not start: ${(err as Error).message}${listenHint(err, values.config)}`);
    return 1;
  }
  if (demo) process.stdout.write(demo.banner(orchestrator.url.replace('127.0.0.1', 'localhost')));

  return new Promise<number>((resolve) => {
    let shuttingDown = false;
    const shutdown = (signal: string) => {
      if (shuttingDown) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      shuttingDown = true;
      logger.info({ signal }, 'shutting down');
      void orchestrator.stop().then(async () => {
        await demo?.stop();
        resolve(0);
      }, async (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        await stopAllEmbeddedPostgres();
        resolve(1);
      });
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGHUP', () => {
      if (!values.config) {
        logger.warn('SIGHUP ignored: the demo configuration is built in');
        return;
      }
      void loadConfig(values.config).then(async (loaded) => {
        if (!loaded.ok) {
          logger.error({ errors: loaded.errors }, 'configuration reload rejected: the file is invalid; keeping the current configuration');
          return;
        }
        await orchestrator.reload(loaded.config);
      }).catch((err: unknown) => logger.error({ err }, 'configuration reload failed; keeping the current configuration'));
    });
  });
}

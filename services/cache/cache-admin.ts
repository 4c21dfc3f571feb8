import type { Logger } from '../../infra/telemetry/logger.js';
import type { CacheStats, ObjectCache } from './object-cache.js';

/** An operator's cache command, as broadcast to the other instances. */
export type CacheCommand =
  | { cache: 'flush' }
  | { cache: 'invalidate'; bucket: string; key: string }
  | { cache: 'invalidate-prefix'; bucket: string; prefix: string };

/** What a command dropped here, and whether the other instances were told. */
export interface CacheCommandResult {
  dropped: number;
  broadcast: boolean;
}

/**
 * The operator's view of the object cache (`s3o admin cache-*`). Figures are this instance's; a
 * flush or an invalidation applies here at once and is broadcast to every other instance on the
 * database (AppendWakeups), which apply it when the notice arrives.
 */
export class CacheAdmin {
  constructor(
    private readonly cache: ObjectCache,
    readonly instanceId: string,
    private readonly broadcast: (command: CacheCommand) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  enabled(): boolean {
    return this.cache.enabled;
  }

  stats(): CacheStats {
    return this.cache.stats();
  }

  flush(): Promise<CacheCommandResult> {
    return this.run({ cache: 'flush' });
  }

  invalidate(bucket: string, key: string): Promise<CacheCommandResult> {
    return this.run({ cache: 'invalidate', bucket, key });
  }

  invalidatePrefix(bucket: string, prefix: string): Promise<CacheCommandResult> {
    return this.run({ cache: 'invalidate-prefix', bucket, prefix });
  }

  /** A command another instance broadcast; anything else is ignored. */
  applyRemote(message: unknown): void {
    const command = commandOf(message);
    if (command) this.apply(command);
  }

  private async run(command: CacheCommand): Promise<CacheCommandResult> {
    const dropped = this.apply(command);
    try {
      await this.broadcast(command);
      return { dropped, broadcast: true };
    } catch (err) {
      this.logger.warn({ err, command: command.cache }, 'the cache command could not be sent to the other instances; run it on each of them');
      return { dropped, broadcast: false };
    }
  }

  private apply(command: CacheCommand): number {
    switch (command.cache) {
      case 'flush': return this.cache.flush();
      case 'invalidate': return this.cache.invalidate(command.bucket, command.key) ? 1 : 0;
      case 'invalidate-prefix': return this.cache.invalidatePrefix(command.bucket, command.prefix);
    }
  }
}

function commandOf(m: unknown): CacheCommand | undefined {
  if (m === null || typeof m !== 'object') return undefined;
  const c = m as Record<string, unknown>;
  if (c.cache === 'flush') return { cache: 'flush' };
  if (c.cache === 'invalidate' && typeof c.bucket === 'string' && typeof c.key === 'string') return { cache: 'invalidate', bucket: c.bucket, key: c.key };
  if (c.cache === 'invalidate-prefix' && typeof c.bucket === 'string' && typeof c.prefix === 'string') {
    return { cache: 'invalidate-prefix', bucket: c.bucket, prefix: c.prefix };
  }
  return undefined;
}

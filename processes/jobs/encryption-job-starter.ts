import type pg from 'pg';
import { DomainError } from '../../domain/errors.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { decideJob } from '../../domain/jobs/job-decider.js';
import { initialJobState, isRewriteJob, jobStreamId, rewriteJobKinds, type RewriteJobKind } from '../../domain/jobs/job-state.js';
import { newUlid } from '../../infra/ids.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { aliasRecorded, countSelected, type EncryptionSelection } from '../../projections/read/encryption-reads.js';
import { handleCommand } from '../../services/commands/handle-command.js';
import { loadJob } from '../../services/jobs/job-stream.js';
import type { ObjectEncryption } from '../../services/encryption/object-encryption.js';
import type { Cause, EventFactory } from '../../services/event-factory.js';
import type { Leases } from '../leases.js';

export interface EncryptionJobStart {
  jobId: string;
  kind: RewriteJobKind;
  /** Objects selected when it started. */
  total: number;
  /** False when a run of the same job was already going: this start joined it. */
  started: boolean;
}

interface Plan {
  selection: EncryptionSelection;
  params: Record<string, unknown>;
}

/**
 * Starts encrypt-existing, decrypt-existing and rotate-encryption-key jobs, which the job
 * supervisor then runs in one instance. At most one encryption job runs at a time: asking for
 * the one that is running joins it; asking for another kind meanwhile is refused (they would
 * undo each other's work). Refused with a clear error when the configuration cannot do the job.
 */
export class EncryptionJobStarter {
  constructor(
    private readonly pool: pg.Pool,
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly leases: Leases,
    private readonly encryption: ObjectEncryption | undefined,
    private readonly kickJobs: () => void,
    private readonly logger: Logger,
  ) {}

  async start(kind: RewriteJobKind, options: { oldKeyId?: string }, cause: Cause): Promise<EncryptionJobStart> {
    const plan = await this.plan(kind, options);
    const result = await this.leases.runExclusive('worker:encryption-jobs', async (): Promise<EncryptionJobStart> => {
      const running = await this.pool.query<{ job_id: string; kind: RewriteJobKind; params: Record<string, unknown>; objects_total: string }>(
        "SELECT job_id, kind, params, objects_total FROM jobs WHERE state = 'running' AND kind = ANY($1::text[]) ORDER BY started_at LIMIT 1",
        [rewriteJobKinds],
      );
      const other = running.rows[0];
      if (other) {
        if (other.kind !== kind || (kind === 'rotate-encryption-key' && other.params.oldKeyId !== plan.params.oldKeyId)) {
          throw new DomainError('Conflict', `${other.kind} job ${other.job_id} is running${other.kind === kind ? ` for --old-key-id ${String(other.params.oldKeyId)}` : ''}; wait for it to finish (s3o admin job ${other.job_id})`);
        }
        return { jobId: other.job_id, kind, total: Number(other.objects_total), started: false };
      }
      const selected = await countSelected(this.pool, plan.selection);
      const jobId = newUlid(this.events.now().getTime());
      const start = { jobId, kind, objectsTotal: selected.objects, bytesTotal: selected.bytes, params: plan.params };
      await handleCommand(this.store, this.events, {
        streamId: jobStreamId(jobId),
        load: () => Promise.resolve(initialJobState(jobId)),
        decide: (job) => ({ events: decideJob({ type: 'Start', start }, job), value: undefined }),
        cause: { correlationId: jobId, ...cause },
        maxAttempts: 1,
      });
      this.logger.info({ jobId, kind, objects: selected.objects, bytes: selected.bytes, ...plan.params }, `${kind} started`);
      this.kickJobs();
      return { jobId, kind, total: selected.objects, started: true };
    });
    if (!result) throw new DomainError('Conflict', 'another instance is starting an encryption job right now; try again');
    return result;
  }

  /**
   * Cancels a running encryption job, as an operator cancels a drain: its owner stops between
   * objects (a rewrite in flight is not committed and its new bytes are cleaned up), what was
   * rewritten stays rewritten, and starting the job again does only what is left. Appended
   * without expecting the job's revision: its owner keeps appending steps, which do not change
   * whether it runs, and its next append then fails and stops it.
   */
  async cancel(jobId: string, cause: Cause): Promise<RewriteJobKind> {
    const job = await loadJob(this.store, jobId);
    if (!isRewriteJob(job.kind)) throw new DomainError('InternalError', `job ${jobId} is not an encryption job`);
    const kind = job.kind;
    await this.store.appendToStreams([{
      streamId: jobStreamId(jobId),
      events: decideJob({ type: 'Cancel' }, job).map((e) => this.events.record(e, { correlationId: jobId, ...cause })),
      expected: 'stream_exists',
    }]);
    this.logger.info({ jobId, kind }, `${kind} cancelled`);
    return kind;
  }

  /** What the job selects, or a clear refusal when this configuration cannot run it. */
  private async plan(kind: RewriteJobKind, options: { oldKeyId?: string }): Promise<Plan> {
    const encryption = this.encryption;
    if (kind === 'encrypt-existing') {
      if (!encryption?.encryptsWrites) {
        throw new DomainError('BadRequest', 'encryption is not enabled: set encryption.enabled: true with a key source and restart before encrypt-existing');
      }
      return { selection: { kind: 'plaintext' }, params: {} };
    }
    if (!encryption) {
      throw new DomainError('BadRequest', `no encryption key is configured: ${kind} needs the keys that wrapped the data keys (keep the encryption section and its keys until it has finished)`);
    }
    if (kind === 'decrypt-existing') return { selection: { kind: 'encrypted' }, params: {} };

    const oldKeyId = options.oldKeyId?.trim() ?? '';
    if (oldKeyId === '') throw new DomainError('BadRequest', 'old_key_id is required: the alias (config-0, config-1…, file-0, the Vault key name) or key id whose data keys to re-wrap');
    const keyring = encryption.requireKeyring();
    const resolvedKeyId = keyring.resolve(oldKeyId) ?? null;
    if (resolvedKeyId === null && !(await aliasRecorded(this.pool, oldKeyId))) {
      const known = keyring.describe().map((k) => `${[...k.aliases, k.keyId].join(' = ')}${k.primary ? ' (primary)' : ''}`).join('; ');
      throw new DomainError('BadRequest', `unknown old_key_id "${oldKeyId}": no configured key has that alias or id and no data key was wrapped under it. Configured keys: ${known}`);
    }
    return {
      selection: { kind: 'wrapped', primaryKeyId: keyring.primaryKeyId, alias: oldKeyId, keyId: resolvedKeyId },
      params: { oldKeyId, resolvedKeyId },
    };
  }
}

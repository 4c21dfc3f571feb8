import { DomainError } from '../../domain/errors.js';
import type { StoredCopy } from '../../domain/events/common.js';
import { InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { BackendCandidate } from '../../domain/placement/placement.js';
import { recordFailedUpload, streamToBackend, type UploadContext } from './backend-upload.js';
import { copyStoredBytes } from './copy-version.js';
import type { PutObjectInput, PutObjectResult, VerifiedDigests } from './put-object.js';

/** What the synchronous fan-out needs from the writer of one PUT. */
export interface FanOutContext extends UploadContext {
  /** Backends beyond the first `want` a PUT may be retried on. */
  failoverAttempts: number;
  rankFor(size: number, exclude: ReadonlySet<string>): BackendCandidate[];
  /** Commits the new version with these copies (one ObjectWritten). */
  commit(copies: StoredCopy[], digests: VerifiedDigests): Promise<PutObjectResult>;
}

/** How a backend checks a buffered body it receives: Content-MD5, or the signed SHA-256 of the payload when the MD5 was not computed. */
export function bodyCheck(digests: VerifiedDigests): { contentMd5Base64: string } | { payloadSha256Hex: string } {
  if (digests.md5Hex === '' && digests.sha256Hex !== undefined) return { payloadSha256Hex: digests.sha256Hex };
  return { contentMd5Base64: Buffer.from(digests.md5Hex, 'hex').toString('base64') };
}

/**
 * `replication.write_copies` > 1 for a buffered body: the same buffer is uploaded to the best
 * `want` backends in parallel (a failed backend is replaced by the next one in the ranking),
 * then one ObjectWritten commits them all, so the PUT answers only with `want` copies recorded.
 */
export async function putBufferedCopies(ctx: FanOutContext, input: PutObjectInput, data: Buffer, digests: VerifiedDigests, storageKey: string, want: number): Promise<PutObjectResult> {
  const check = bodyCheck(digests);
  return fillAndCommit(ctx, input, storageKey, digests, want, [], async (backend) => {
    await ctx.backends.require(backend).client.putObject(storageKey, data, { contentLength: data.length, contentType: input.contentType, ...check });
  });
}

/**
 * `replication.write_copies` > 1 for a streamed body: the body is streamed once, to the best
 * backend, with bounded memory; once it is verified, the other copies are copied from that
 * backend (ETag checked against the body's MD5), and one ObjectWritten commits them all. Chosen
 * over teeing the body to every backend at once: a tee runs at the pace of the slowest backend
 * and one failing backend fails the whole upload (a streamed body cannot be sent again), while
 * copying afterwards can fail over to another backend for each extra copy. The cost is latency:
 * the extra copies are written after the body arrived, before the PUT answers.
 */
export async function putStreamedCopies(ctx: FanOutContext, input: PutObjectInput, primary: BackendCandidate, storageKey: string, want: number): Promise<PutObjectResult> {
  const digests = await streamToBackend(ctx, input, primary.name, storageKey);
  const first: StoredCopy = { backend: primary.name, storageKey, size: digests.size };
  return fillAndCommit(ctx, input, storageKey, digests, want, [first], async (backend, placed) => {
    const source = placed[0] as StoredCopy;
    await copyStoredBytes(
      { client: ctx.backends.require(source.backend).client, storageKey },
      { client: ctx.backends.require(backend).client, storageKey },
      digests.size, input.contentType, digests.md5Hex,
    );
  });
}

/**
 * Places copies until there are `want`, then commits. When the commit loses a quota race on one
 * backend, that copy is given up (recorded as an orphan) and replaced; when no backend is left
 * (or `failoverAttempts` replacements were tried), every placed copy is recorded as an orphan and
 * the PUT fails.
 */
async function fillAndCommit(
  ctx: FanOutContext,
  input: PutObjectInput,
  storageKey: string,
  digests: VerifiedDigests,
  want: number,
  placed: StoredCopy[],
  place: (backend: string, placed: readonly StoredCopy[]) => Promise<void>,
): Promise<PutObjectResult> {
  const tried = new Set(placed.map((c) => c.backend));
  const maxBackends = want + ctx.failoverAttempts;
  let quotaLost = false;
  for (;;) {
    while (placed.length < want) {
      const next = ctx.rankFor(digests.size, new Set([...tried, ...placed.map((c) => c.backend)]))
        .slice(0, Math.max(0, Math.min(want - placed.length, maxBackends - tried.size)));
      if (next.length === 0) {
        await Promise.all(placed.map((c) => ctx.orphans.record(c.backend, c.storageKey, c.size, 'fan_out_incomplete', input.cause)));
        if (quotaLost) throw new DomainError('InsufficientStorage');
        throw new DomainError('ServiceUnavailable', `Only ${placed.length} of the ${want} copies this PUT must write could be stored; please retry.`);
      }
      const results = await Promise.all(next.map(async (candidate) => {
        tried.add(candidate.name);
        try {
          await place(candidate.name, placed);
          return { backend: candidate.name, storageKey, size: digests.size };
        } catch (err) {
          ctx.failed(candidate.name, err);
          ctx.logger.warn({ err, backend: candidate.name }, 'backend write of a synchronous copy failed; trying another');
          await recordFailedUpload(ctx.orphans, candidate.name, storageKey, input.cause);
          return undefined;
        }
      }));
      for (const r of results) if (r) placed.push(r);
    }
    try {
      return await ctx.commit(placed, digests);
    } catch (err) {
      const full = err instanceof InvariantViolationError ? placed.findIndex((c) => c.backend === err.detail.backend) : -1;
      const lost = placed[full];
      if (!lost) {
        await Promise.all(placed.map((c) => ctx.orphans.record(c.backend, c.storageKey, c.size, 'commit_failed', input.cause)));
        if (err instanceof InvariantViolationError) throw new DomainError('InsufficientStorage');
        throw err;
      }
      quotaLost = true;
      placed.splice(full, 1);
      await ctx.orphans.record(lost.backend, lost.storageKey, lost.size, 'commit_failed', input.cause);
    }
  }
}

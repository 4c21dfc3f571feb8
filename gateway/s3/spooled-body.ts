import { randomBytes } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadStream } from 'node:fs';
import { DomainError } from '../../domain/errors.js';
import type { BodyDigests, BodyPipeline } from '../body/index.js';

/** Fails the spool as soon as the body passes the largest object allowed. */
class SizeLimit extends Transform {
  private size = 0;

  constructor(private readonly max: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.max) {
      callback(new DomainError('EntityTooLarge', undefined, { MaxSizeAllowed: this.max }));
      return;
    }
    callback(null, chunk);
  }
}

/**
 * A body sent with plain `Transfer-Encoding: chunked` and no length: placement and the backend
 * PUT need the size first, so the verified bytes go to an anonymous temp file (created, then
 * unlinked at once: nothing is left behind, even after a crash) and are streamed from there,
 * with their size known, once every check passed. Memory stays bounded by the stream buffers;
 * a body over `maxObjectSize` is refused as soon as it gets there.
 */
export interface SpooledBody {
  digests: BodyDigests;
  /** The verified bytes from the start; closes the file when it ends or is destroyed. */
  stream: ReadStream;
}

export async function spoolBody(body: BodyPipeline, maxObjectSize: number): Promise<SpooledBody> {
  const path = join(tmpdir(), `s3o-spool-${randomBytes(12).toString('hex')}`);
  // Two handles (one to write, one to read back) on a file that is gone from the directory at once.
  const writing = await open(path, 'wx', 0o600);
  let reading: FileHandle | undefined;
  try {
    reading = await open(path, 'r');
    await rm(path);
    await pipeline(body.stream, new SizeLimit(maxObjectSize), writing.createWriteStream());
    return { digests: await body.digests(), stream: reading.createReadStream({ start: 0 }) };
  } catch (err) {
    await writing.close().catch(() => undefined);
    await reading?.close();
    await rm(path, { force: true });
    throw err;
  }
}

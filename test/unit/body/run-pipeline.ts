import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBodyPipeline, type BodyDigests, type BodyExpectations } from '../../../gateway/body/index.js';
import type { PipelineOptions } from '../../../gateway/body/pipeline.js';
import { DomainError } from '../../../domain/errors.js';

export interface PipelineRun {
  out: Buffer;
  digests?: BodyDigests;
  /** DomainError code, if the stream failed. */
  error?: string;
  /** Whether the consumer saw a clean end of the decoded stream. */
  ended: boolean;
}

/** How a body is cut into writes: a fixed size, 'random' (1..300 bytes, deterministic), or these sizes in turn. */
export type WriteSizes = number | 'random' | readonly number[];

/** Splits `input` into writes as `size` says. */
export function split(input: Buffer, size: WriteSizes): Buffer[] {
  const pieces: Buffer[] = [];
  let seed = 12345;
  for (let off = 0, i = 0; off < input.length; i++) {
    let n: number;
    if (typeof size === 'object') {
      n = Math.max(1, size[i % size.length] ?? 1);
    } else if (size === 'random') {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      n = 1 + (seed % 300);
    } else {
      n = size;
    }
    pieces.push(Buffer.from(input.subarray(off, off + n)));
    off += n;
  }
  return pieces;
}

/** Feeds `input` through a body pipeline in writes of `size` bytes and collects what comes out. */
export async function runPipeline(exp: BodyExpectations, input: Buffer, size: WriteSizes = 65536, options?: PipelineOptions): Promise<PipelineRun> {
  const body = createBodyPipeline(exp, options);
  const chunks: Buffer[] = [];
  let ended = false;
  body.stream.on('end', () => {
    ended = true;
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  const run: PipelineRun = { out: Buffer.alloc(0), ended: false };
  try {
    await pipeline(Readable.from(split(input, size)), body.stream, sink);
    run.digests = await body.digests();
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    run.error = e.code;
    await body.digests().then(
      () => { throw new Error('digests() resolved for a failed body'); },
      (d: unknown) => { if (d !== e) throw new Error('digests() rejected with another error'); },
    );
  }
  run.out = Buffer.concat(chunks);
  run.ended = ended;
  return run;
}

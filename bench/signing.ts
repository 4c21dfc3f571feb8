import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** The AWS reference signer wired to node:crypto: the benchmark clients sign like an SDK would. */

type SourceData = string | ArrayBuffer | ArrayBufferView;

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** A SHA-256 for @smithy/signature-v4 backed by node:crypto (also used by the tests' reference signer). */
export class NodeSha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: SourceData): void {
    this.h.update(toBuffer(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {
    throw new Error('NodeSha256 is single-use');
  }
}

export const BENCH_BUCKET = 'bench';
export const BENCH_CREDENTIALS = { accessKeyId: 'BENCHKEY', secretAccessKey: 'BENCHSECRET' } as const;
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export type BenchMethod = 'GET' | 'PUT' | 'HEAD' | 'DELETE';

/** A request ready for undici: path-style target and headers, `authorization` included. */
export interface SignedRequest {
  method: BenchMethod;
  path: string;
  headers: Record<string, string>;
}

/**
 * Signs path-style object requests for one origin (the Host header, port included, is signed).
 * Bodies are `UNSIGNED-PAYLOAD` with a signed Content-Length; body-less requests sign the empty hash.
 * A signature is valid for 15 minutes, so a batch signed just before a run stays usable throughout.
 */
export class BenchSigner {
  readonly #signer = new SignatureV4({
    credentials: BENCH_CREDENTIALS, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false,
  });
  readonly #hostname: string;
  readonly #port: number;

  constructor(origin: string) {
    const url = new URL(origin);
    this.#hostname = url.hostname;
    this.#port = Number(url.port);
  }

  /** `key` must already be URL-safe (benchmark keys are [a-z0-9/_-]). */
  async sign(method: BenchMethod, key: string, contentLength?: number): Promise<SignedRequest> {
    const path = `/${BENCH_BUCKET}/${key}`;
    const headers: Record<string, string> = { host: `${this.#hostname}:${this.#port}` };
    if (contentLength === undefined) {
      headers['x-amz-content-sha256'] = EMPTY_SHA256;
    } else {
      headers['x-amz-content-sha256'] = UNSIGNED_PAYLOAD;
      headers['content-length'] = String(contentLength);
      headers['content-type'] = 'application/octet-stream';
    }
    const out = await this.#signer.sign({ method, protocol: 'http:', hostname: this.#hostname, port: this.#port, path, query: {}, headers });
    // The signer's header values are strings concatenated from many pieces, which V8 keeps as a
    // tree of those pieces: ~2 KB per request. Copied flat, 81,920 signed PUTs hold ~40 MB, not ~160.
    return { method, path, headers: JSON.parse(JSON.stringify(out.headers)) as Record<string, string> };
  }

  async signAll(method: BenchMethod, keys: readonly string[], contentLength?: number): Promise<SignedRequest[]> {
    const out: SignedRequest[] = [];
    for (const key of keys) out.push(await this.sign(method, key, contentLength));
    return out;
  }
}

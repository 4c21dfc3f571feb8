import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

type SourceData = string | ArrayBuffer | ArrayBufferView;

const toBuffer = (data: SourceData): Buffer => {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
};

/** SHA-256 / HMAC-SHA-256 from node:crypto in the shape the smithy signer expects. */
class NodeSha256 {
  readonly #secret: Buffer | undefined;
  #hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.#secret = secret === undefined ? undefined : toBuffer(secret);
    this.#hash = this.#create();
  }

  update(data: SourceData): void {
    this.#hash.update(toBuffer(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.#hash.digest());
  }

  reset(): void {
    this.#hash = this.#create();
  }

  #create(): Hash | Hmac {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', this.#secret);
  }
}

export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

export interface RequestToSign {
  method: string;
  protocol: string;
  hostname: string;
  port: number | undefined;
  /** Already encoded, exactly as sent. */
  path: string;
  /** Decoded names and values; the signer encodes them as `buildQueryString` does. */
  query: Record<string, string>;
  /** Exactly the headers to sign, lower-case names, including `host`. */
  headers: Record<string, string>;
}

/**
 * SigV4 for S3 with the SDK's own signer. Only the headers handed in are signed (host, the
 * x-amz-* set, content-md5/content-type, range); the payload hash is decided by the caller.
 */
export class RequestSigner {
  readonly #signer: SignatureV4;

  constructor(region: string, accessKeyId: string, secretAccessKey: string) {
    // The credentials live only inside the signer's closure, out of reach of util.inspect.
    const credentials = { accessKeyId, secretAccessKey };
    this.#signer = new SignatureV4({
      service: 's3',
      region,
      credentials: () => Promise.resolve(credentials),
      sha256: NodeSha256,
      uriEscapePath: false,
      applyChecksum: false,
    });
  }

  /** Returns the headers to send: the input plus x-amz-date, x-amz-content-sha256 and authorization. */
  async sign(request: RequestToSign, payloadHash: string): Promise<Record<string, string>> {
    const headers = { ...request.headers, 'x-amz-content-sha256': payloadHash };
    const signed = await this.#signer.sign({ ...request, headers });
    return signed.headers;
  }
}

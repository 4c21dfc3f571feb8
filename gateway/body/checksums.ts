import { createHash, type Hash } from 'node:crypto';
import zlib from 'node:zlib';
import { Crc32 } from '@aws-crypto/crc32';
import { Crc32c } from '@aws-crypto/crc32c';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { DomainError } from '../../domain/errors.js';
import type { ChecksumAlgorithm } from './types.js';

export const CHECKSUM_PREFIX = 'x-amz-checksum-';

/** x-amz-checksum-* names that are not checksums of the body. */
const NON_CHECKSUM_SUFFIXES = new Set(['type', 'algorithm', 'mode']);

const ALGORITHMS: Record<string, ChecksumAlgorithm> = {
  crc32: 'CRC32', crc32c: 'CRC32C', crc64nvme: 'CRC64NVME', sha1: 'SHA1', sha256: 'SHA256',
};

const DIGEST_LENGTH: Record<ChecksumAlgorithm, number> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 };

/**
 * The algorithm an `x-amz-checksum-<name>` header or trailer carries; undefined for names that are
 * not body checksums (x-amz-checksum-type …). Throws NotImplemented for algorithms we cannot verify.
 */
export function checksumAlgorithmOf(name: string): ChecksumAlgorithm | undefined {
  const lower = name.toLowerCase();
  if (!lower.startsWith(CHECKSUM_PREFIX)) return undefined;
  const suffix = lower.slice(CHECKSUM_PREFIX.length);
  if (NON_CHECKSUM_SUFFIXES.has(suffix)) return undefined;
  const algorithm = ALGORITHMS[suffix];
  if (algorithm === undefined) throw new DomainError('NotImplemented', `The checksum ${name} is not supported.`);
  return algorithm;
}

/** Decodes a base64 checksum value; a wrong length or non-canonical base64 is InvalidRequest. */
export function decodeChecksumValue(algorithm: ChecksumAlgorithm, name: string, value: string, where: string): Buffer {
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== DIGEST_LENGTH[algorithm] || bytes.toString('base64') !== value) {
    throw new DomainError('InvalidRequest', `Value for ${name} ${where} is invalid.`);
  }
  return bytes;
}

export interface ChecksumHasher {
  update(data: Buffer): void;
  digest(): Promise<Buffer>;
}

function uint32BigEndian(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

/** zlib.crc32 (Node ≥ 20.15) runs at GB/s; the pure-JS CRC32 is ~40× slower and only a fallback. */
const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

function crc32Hasher(): ChecksumHasher {
  if (zlibCrc32 !== undefined) {
    const crc = zlibCrc32;
    let value = 0;
    return {
      update: (data) => { value = crc(data, value); },
      digest: () => Promise.resolve(uint32BigEndian(value)),
    };
  }
  const js = new Crc32();
  return { update: (data) => { js.update(data); }, digest: () => Promise.resolve(uint32BigEndian(js.digest())) };
}

function hashHasher(hash: Hash): ChecksumHasher {
  return { update: (data) => { hash.update(data); }, digest: () => Promise.resolve(hash.digest()) };
}

export function createChecksumHasher(algorithm: ChecksumAlgorithm): ChecksumHasher {
  switch (algorithm) {
    case 'CRC32':
      return crc32Hasher();
    case 'CRC32C': {
      const c = new Crc32c();
      return { update: (data) => { c.update(data); }, digest: () => Promise.resolve(uint32BigEndian(c.digest())) };
    }
    case 'CRC64NVME': {
      const c = new Crc64Nvme();
      return { update: (data) => { c.update(data); }, digest: async () => Buffer.from(await c.digest()) };
    }
    case 'SHA1':
      return hashHasher(createHash('sha1'));
    case 'SHA256':
      return hashHasher(createHash('sha256'));
  }
}

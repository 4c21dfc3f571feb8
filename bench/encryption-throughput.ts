/**
 * Encryption micro-benchmark, in one process, no I/O: MB/s to encrypt and decrypt a large body
 * through the streams the data path will use (per chunk size), and µs per 4 KiB object for the
 * work encryption adds to a PUT and a GET, step by step as the gateway does it.
 * The streams are also given as a ratio to raw one-call AES-256-GCM timed in the same round;
 * raw GCM and MD5 (which a PUT computes anyway) are printed as yardsticks.
 *
 *   node dist/bench/encryption-throughput.js [--mib 64] [--ops 20000] [--rounds 3]
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { EncryptionEnvelope } from '../domain/encryption/envelope.js';
import { FORMAT_VERSION } from '../domain/encryption/layout.js';
import { planFullRead, planWholeObject } from '../domain/encryption/read-plan.js';
import type { EventData } from '../domain/events/catalog.js';
import { encodeEvent } from '../domain/events/codec.js';
import { createDataKey, createKeyring, createRangeDecryptStream, decryptPlanned, openDataKey, SegmentEncryptStream, SegmentSealer, type DataKey, type Keyring } from '../infra/crypto/index.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '64' }, ops: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } } });
const MIB = 2 ** 20;
const bodyBytes = Number(values.mib) * MIB;
const ops = Number(values.ops);
const rounds = Number(values.rounds);
const block = randomBytes(MIB);

/** The best of `rounds` runs, in seconds. */
async function best(run: () => Promise<void> | void): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < rounds; i += 1) {
    const started = performance.now();
    await run();
    fastest = Math.min(fastest, (performance.now() - started) / 1000);
  }
  return fastest;
}

const body = () => Readable.from((function* () {
  for (let sent = 0; sent < bodyBytes; sent += MIB) yield block;
})(), { objectMode: false });

function sink(onChunk: (chunk: Buffer) => void = () => undefined): Writable {
  return new Writable({ write(chunk: Buffer, _e, cb) { onChunk(chunk); cb(); } });
}

async function encryptOnce(dataKey: DataKey): Promise<{ stored: Buffer; encryptor: SegmentEncryptStream }> {
  const parts: Buffer[] = [];
  const encryptor = new SegmentEncryptStream(dataKey, 0);
  await pipeline(body(), encryptor, sink((c) => parts.push(c)));
  return { stored: Buffer.concat(parts), encryptor };
}

function rawGcmSeconds(key: Buffer): number {
  const started = performance.now();
  const cipher = createCipheriv('aes-256-gcm', key, randomBytes(12));
  for (let sent = 0; sent < bodyBytes; sent += MIB) cipher.update(block);
  cipher.final();
  return (performance.now() - started) / 1000;
}

async function seconds(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/**
 * Each round times raw one-call GCM of the body right before the stream it is compared with, so
 * the ratio holds up on a busy machine better than either figure alone.
 */
async function largeBody(keyring: Keyring, chunkSize: number): Promise<string[]> {
  const dataKey = await createDataKey(keyring, chunkSize);
  const { stored, encryptor } = await encryptOnce(dataKey);
  const envelope: EncryptionEnvelope = { format: FORMAT_VERSION, chunkSize, headerLength: dataKey.headerLength, key: dataKey.key, segments: [encryptor.facts()] };
  const plan = planFullRead(envelope);
  if (!plan) throw new Error('empty body');
  const fetched = stored.subarray(plan.backendRange.start);
  const rawKey = randomBytes(32);
  const encrypt: number[] = [];
  const decrypt: number[] = [];
  const encryptRatio: number[] = [];
  const decryptRatio: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    let raw = rawGcmSeconds(rawKey);
    const encryptSeconds = await seconds(() => pipeline(body(), new SegmentEncryptStream(dataKey, 0), sink()));
    encrypt.push(encryptSeconds);
    encryptRatio.push(raw / encryptSeconds);
    raw = rawGcmSeconds(rawKey);
    let received = 0;
    const pieces = (function* () {
      for (let at = 0; at < fetched.length; at += MIB) yield fetched.subarray(at, at + MIB);
    })();
    const decryptSeconds = await seconds(() => pipeline(Readable.from(pieces, { objectMode: false }), createRangeDecryptStream(plan, envelope, dataKey), sink((c) => { received += c.length; })));
    if (received !== bodyBytes) throw new Error(`decrypted ${received} bytes, expected ${bodyBytes}`);
    decrypt.push(decryptSeconds);
    decryptRatio.push(raw / decryptSeconds);
  }
  const mbps = (s: number) => (bodyBytes / 1e6 / s).toFixed(0);
  return [
    `${chunkSize / 1024} KiB chunks`, mbps(Math.min(...encrypt)), median(encryptRatio).toFixed(2), mbps(Math.min(...decrypt)), median(decryptRatio).toFixed(2),
    `${((stored.length / bodyBytes - 1) * 100).toFixed(3)} %`,
  ];
}

/** An ObjectWritten of a 4 KiB single PUT, as the writer commits it (`encryption` null for plaintext). */
function objectWritten(encryption: EncryptionEnvelope | null): EventData<'ObjectWritten'> {
  return {
    bucket: 'bench', key: 'small/000123', writeId: '01JBENCHBENCHBENCHBENCHBEN', size: 4096, previousSize: null,
    etag: 'd41d8cd98f00b204e9800998ecf8427e', contentType: 'application/octet-stream', metadata: {}, headers: {},
    checksum: null, contentSha256: null, parts: null, lastModified: '2026-01-01T00:00:00.000Z',
    copies: [{ backend: 'b1', storageKey: 'bench/small/000123/01JBENCHBENCHBENCHBENCHBEN', size: 4096 }], displaced: [], origin: 'put',
    encryption,
  };
}

/**
 * The per-object work a 4 KiB object's encryption adds to the gateway, step by step as the data
 * path does it: a buffered PUT seals the body in one buffer and hashes the stored bytes (their
 * Content-MD5), and its event carries the envelope to validate; a whole GET finds the data key
 * in the opened-key cache, plans the read and opens the one chunk in place (an unwrap only on a
 * cache miss). These rows are the floor the gateway's encrypted-vs-plain ratio can reach.
 */
async function smallObjects(keyring: Keyring, uncached: Keyring): Promise<string[][]> {
  const plaintext = randomBytes(4096);
  const seal = async (): Promise<{ dataKey: DataKey; stored: Buffer; envelope: EncryptionEnvelope }> => {
    const dataKey = await createDataKey(keyring, 65_536);
    const sealer = new SegmentSealer(dataKey, 0);
    const stored = sealer.sealWhole(plaintext);
    return { dataKey, stored, envelope: { format: FORMAT_VERSION, chunkSize: 65_536, headerLength: dataKey.headerLength, key: dataKey.key, segments: [sealer.facts()] } };
  };
  const put = await best(async () => {
    for (let i = 0; i < ops; i += 1) await seal();
  });
  const { dataKey, stored, envelope } = await seal();
  const md5 = await best(() => {
    for (let i = 0; i < ops; i += 1) createHash('md5').update(stored).digest('hex');
  });
  const plainEvent = await best(() => {
    for (let i = 0; i < ops; i += 1) encodeEvent('ObjectWritten', objectWritten(null));
  });
  const sealedEvent = await best(() => {
    for (let i = 0; i < ops; i += 1) encodeEvent('ObjectWritten', objectWritten(envelope));
  });
  const get = await best(() => {
    for (let i = 0; i < ops; i += 1) {
      const plan = planWholeObject(envelope);
      if (!plan) throw new Error('empty object');
      const [plain] = decryptPlanned(plan, envelope, dataKey, [stored]);
      if (plain?.length !== plaintext.length) throw new Error('short read');
    }
  });
  const unwrap = await best(async () => {
    for (let i = 0; i < ops; i += 1) await openDataKey(uncached, envelope);
  });
  const perOp = (seconds: number) => (seconds / ops * 1e6).toFixed(1);
  const row = (name: string, seconds: number) => [name, perOp(seconds), (ops / seconds).toFixed(0)];
  return [
    row('4 KiB PUT: data key, wrap, header, seal in one buffer', put),
    row('4 KiB PUT: MD5 of the stored bytes (Content-MD5)', md5),
    ['4 KiB PUT: event validation, with envelope minus without', perOp(sealedEvent - plainEvent), '-'],
    row('4 KiB GET: plan, open in place (data key cached)', get),
    row('4 KiB GET: unwrap (data key not cached)', unwrap),
  ];
}

function yardsticks(): string[][] {
  const key = randomBytes(32);
  const gcm = bodyBytes / 1e6 / Math.min(...Array.from({ length: rounds }, () => rawGcmSeconds(key)));
  const md5 = bodyBytes / 1e6 / Math.min(...Array.from({ length: rounds }, () => {
    const started = performance.now();
    const hash = createHash('md5');
    for (let sent = 0; sent < bodyBytes; sent += MIB) hash.update(block);
    hash.digest();
    return (performance.now() - started) / 1000;
  }));
  return [['raw AES-256-GCM, one call', gcm.toFixed(0)], ['MD5 (the ETag a PUT computes anyway)', md5.toFixed(0)]];
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const keySettings = { master_key: randomBytes(32).toString('base64'), master_key_file: null, vault: null, previous_keys: [] };
const keyring = await createKeyring(keySettings);
/** The same key without the keyring's cache of unwrapped data keys: what a GET of a key not read lately pays. */
const uncachedKeyring = await createKeyring(keySettings, { unwrapCache: { max: 0, ttlMs: 0 } });
console.log(`encryption micro-benchmark: ${values.mib} MiB bodies, ${ops} small objects, best of ${rounds}; node ${process.version}\n`);
const large: string[][] = [];
for (const chunkSize of [4096, 65_536, 1 << 20]) large.push(await largeBody(keyring, chunkSize));
console.log(table([`${values.mib} MiB body`, 'encrypt MB/s', '× raw GCM', 'decrypt MB/s', '× raw GCM', 'size overhead'], large));
console.log();
console.log(table(['yardstick', 'MB/s'], yardsticks()));
console.log();
console.log(table(['per object', 'µs/op', 'ops/s'], await smallObjects(keyring, uncachedKeyring)));
await keyring.close();
await uncachedKeyring.close();

/**
 * The stored copies of an object straight from its backends, bypassing the orchestrator: what the
 * encryption tests read to see ciphertext, and overwrite to damage it.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { storeClient, type BackendStore } from './backend-stores.js';
import type { TestStack } from './orchestrator.js';

export interface CopyRow { backend: string; storage_key: string; size: string }

export const bytesOf = async (p: Promise<{ Body?: unknown }>): Promise<Buffer> =>
  Buffer.from(await ((await p).Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());

export function rawCopies(stack: TestStack) {
  const storeOf = (backend: string): BackendStore => stack.stores[stack.config.backends.findIndex((b) => b.name === backend)] as BackendStore;
  const withClient = async <T>(backend: string, use: (client: ReturnType<typeof storeClient>, bucket: string) => Promise<T>): Promise<T> => {
    const store = storeOf(backend);
    const client = storeClient(store);
    try {
      return await use(client, store.bucket);
    } finally {
      client.destroy();
    }
  };
  return {
    async copiesOf(bucket: string, key: string): Promise<CopyRow[]> {
      return (await stack.db.pool.query<CopyRow>('SELECT backend, storage_key, size FROM object_copies WHERE bucket = $1 AND key = $2 ORDER BY backend', [bucket, key])).rows;
    },
    rawGet(copy: Pick<CopyRow, 'backend' | 'storage_key'>): Promise<Buffer> {
      return withClient(copy.backend, (client, bucket) => bytesOf(client.send(new GetObjectCommand({ Bucket: bucket, Key: copy.storage_key }))));
    },
    async rawPut(copy: Pick<CopyRow, 'backend' | 'storage_key'>, body: Buffer): Promise<void> {
      await withClient(copy.backend, (client, bucket) => client.send(new PutObjectCommand({ Bucket: bucket, Key: copy.storage_key, Body: body })));
    },
  };
}

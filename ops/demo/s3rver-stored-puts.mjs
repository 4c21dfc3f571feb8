// s3rver answers a PUT (object or part) once it has read the request body, before its file write
// is done: a GET right after can find the file empty or short and answer those bytes (an
// encryption-jobs test run copied a just-written key and read 0 of its 667 bytes). This makes its
// store answer only once the file holds every byte, as S3's read-after-write consistency promises.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

// The same fs-extra s3rver's store uses.
const fs = createRequire(import.meta.url)('fs-extra');

/** Writes `content` (a stream or a Buffer) to `file`; resolves once the file is written and closed. */
async function writeStored(file, content) {
  await fs.mkdirp(dirname(file));
  const md5 = createHash('md5');
  let size = 0;
  const count = new Transform({
    transform(chunk, _encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(Buffer.isBuffer(content) ? Readable.from([content]) : content, count, fs.createWriteStream(file));
  return { size, md5: md5.digest('hex') };
}

/** Replaces `store`'s putObject and putPart (an s3rver FilesystemStore) with ones that answer once stored. */
export function answerPutsOnceStored(store) {
  store.putObject = async (object) => {
    const stored = await writeStored(store.getResourcePath(object.bucket, object.key, 'object'), object.content);
    await store.putMetadata(object.bucket, object.key, object.metadata, stored.md5);
    return stored;
  };
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const partPath = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, partNumber.toString());
    const stored = await writeStored(partPath, content);
    await fs.writeFile(`${partPath}.md5`, stored.md5);
    return stored;
  };
}

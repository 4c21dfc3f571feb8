// One s3rver in its own process, for tests and the demo. Plain JS so it runs without a TS loader.
//
//   node --openssl-legacy-provider ops/demo/s3rver-child.mjs --directory DIR --bucket NAME [--bucket NAME2] [--port 0] [--address 127.0.0.1]
//
// The legacy provider is needed because s3rver's ListObjectsV2 continuation tokens use DES.
// When started with an IPC channel (child_process.fork) it reports `{ type: 'listening', port }`
// there and exits as soon as the channel closes, so it never outlives its parent. Otherwise it
// prints the same object as one JSON line on stdout and runs until SIGINT/SIGTERM.
import process from 'node:process';
import { parseArgs } from 'node:util';
import S3rver from 's3rver';

const { values } = parseArgs({
  options: {
    directory: { type: 'string' },
    bucket: { type: 'string', multiple: true },
    port: { type: 'string', default: '0' },
    address: { type: 'string', default: '127.0.0.1' },
  },
});

if (!values.directory || !values.bucket?.length) {
  process.stderr.write('usage: s3rver-child.mjs --directory DIR --bucket NAME [--bucket NAME…] [--port N] [--address A]\n');
  process.exit(2);
}

const server = new S3rver({
  address: values.address,
  port: Number(values.port),
  directory: values.directory,
  silent: true,
  configureBuckets: values.bucket.map((name) => ({ name })),
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    await server.close();
  } finally {
    process.exit(0);
  }
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const { port } = await server.run();
const message = { type: 'listening', port };
if (process.send) {
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m) => {
    if (m && m.type === 'stop') void stop();
  });
  process.send(message);
} else {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

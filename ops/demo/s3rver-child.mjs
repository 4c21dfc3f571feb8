// One s3rver in its own process, for tests and the demo. Plain JS so it runs without a TS loader.
//
//   node --openssl-legacy-provider ops/demo/s3rver-child.mjs --directory DIR --bucket NAME [--bucket NAME2] [--port 0] [--address 127.0.0.1]
//
// The legacy provider is needed because s3rver's ListObjectsV2 continuation tokens use DES.
// When started with an IPC channel (child_process.fork) it reports `{ type: 'listening', port }`
// there and exits as soon as the channel closes, so it never outlives its parent. Otherwise it
// prints the same object as one JSON line on stdout and runs until SIGINT/SIGTERM. When it cannot
// listen it reports `{ type: 'failed', code, message }` the same way (stderr without IPC) and exits 1.
// Its store answers a PUT only once the bytes are in the file (s3rver-stored-puts.mjs).
import process from 'node:process';
import { parseArgs } from 'node:util';
import S3rver from 's3rver';
import { answerPutsOnceStored } from './s3rver-stored-puts.mjs';

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
answerPutsOnceStored(server.store);

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

/** Tells the parent over IPC, or prints one JSON line (stdout, or stderr for a failure). */
function report(message, done) {
  if (process.send) process.send(message, done);
  else {
    (message.type === 'failed' ? process.stderr : process.stdout).write(`${JSON.stringify(message)}\n`);
    done();
  }
}

// A port in use is the caller's to explain (which setting to change), not a stack trace.
// s3rver's run() does not reject then: the HTTP server emits 'error' with nobody listening, an
// uncaught exception, so during start-up that is the failure to report.
const failed = (err) => report({ type: 'failed', code: err.code, message: err.message }, () => process.exit(1));
process.once('uncaughtException', failed);
try {
  const { port } = await server.run();
  process.off('uncaughtException', failed);
  if (process.send) {
    process.on('disconnect', () => process.exit(0));
    process.on('message', (m) => {
      if (m && m.type === 'stop') void stop();
    });
  }
  report({ type: 'listening', port }, () => {});
} catch (err) {
  failed(err);
}

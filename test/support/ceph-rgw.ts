import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { accessSync, constants as fsConstants, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * One throwaway Ceph cluster with a RADOS Gateway, for running backend-facing tests against a
 * second, independent S3 implementation: one monitor, one OSD on the in-memory `memstore`, no
 * mgr, no cephx, everything under one temp directory, every daemon a foreground child of this
 * process. The settings and why each is needed: /work/shared/reference/ceph-rgw.md.
 *
 * A reaper (a shell that reads daemon pids from a pipe) kills the daemons and removes the
 * directory when this process dies without stopping the cluster, SIGKILL included: its pipe
 * closes with us.
 */
export interface RgwCluster {
  /** `http://127.0.0.1:<port>` of the S3 frontend. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Creates a bucket, waiting out the first seconds in which RGW still sets up its pools. */
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);
const binaries = ['/usr/bin/ceph-mon', '/usr/bin/ceph-osd', '/usr/bin/radosgw', '/usr/bin/radosgw-admin', '/usr/bin/monmaptool', '/usr/bin/ceph'];
const readyTimeoutMs = 90_000;
const logTailBytes = 1_500;

/** Why a cluster cannot start here, or undefined when it can be tried. */
export function rgwUnavailableReason(): string | undefined {
  const missing = binaries.filter((b) => {
    try {
      accessSync(b, fsConstants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    return `Ceph is not installed (missing ${missing.join(', ')}; apt-get install -y ceph-mon ceph-osd radosgw ceph-common)`;
  }
  if (process.getuid?.() !== 0) return 'Ceph daemons need root here (they run without systemd as this user)';
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function renderConf(dir: string, fsid: string, ports: { monV2: number; monV1: number; rgw: number }): string {
  return `[global]
fsid = ${fsid}
mon host = [v2:127.0.0.1:${ports.monV2},v1:127.0.0.1:${ports.monV1}]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
run dir = ${dir}/run
log file = ${dir}/log/$name.log
mon data = ${dir}/mon/$cluster-$id
osd data = ${dir}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
paxos propose interval = 0.1
admin socket = ${dir}/run/$name.asok

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${ports.rgw}
rgw data = ${dir}/rgw
ms mon client mode = crc
`;
}

/** Kills the pids it is given and removes the directory when its stdin closes without `done`. */
const reaperScript = 'pids=""; while read -r p; do [ "$p" = done ] && exit 0; pids="$pids $p"; done; kill -9 $pids 2>/dev/null; rm -rf "$0"';

interface Daemon {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

async function tail(file: string): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.slice(-logTailBytes);
  } catch {
    return '(no log)';
  }
}

/** Starts a cluster; throws with the daemons' log tails when it does not come up. */
export async function startRgwCluster(): Promise<RgwCluster> {
  const reason = rgwUnavailableReason();
  if (reason) throw new Error(reason);
  const dir = await mkdtemp(join(tmpdir(), 's3o-rgw-'));
  await chmod(dir, 0o755);
  const reaper = spawn('/bin/sh', ['-c', reaperScript, dir], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  reaper.unref();
  const removeOnExit = (): void => rmSync(dir, { recursive: true, force: true });
  const daemons: Daemon[] = [];
  const killOnExit = (): void => {
    for (const d of daemons) d.child.kill('SIGKILL');
    removeOnExit();
  };
  process.once('exit', killOnExit);

  const conf = join(dir, 'ceph.conf');
  const env = { ...process.env, CEPH_CONF: conf };
  const run = async (file: string, args: string[]): Promise<string> => {
    const { stdout } = await execFileAsync(file, args, { env, timeout: readyTimeoutMs });
    return stdout;
  };
  let reportEarlyExit: (e: Error) => void = () => undefined;
  const earlyExit = new Promise<never>((_resolve, reject) => { reportEarlyExit = reject; });
  earlyExit.catch(() => undefined);
  const startDaemon = (name: string, file: string, args: string[]): void => {
    const child = spawn(file, ['-f', ...args], { env, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
      reportEarlyExit(new Error(`${name} exited (${code ?? signal})`));
      resolve();
    }));
    child.unref();
    daemons.push({ name, child, exited });
    if (child.pid !== undefined) reaper.stdin?.write(`${child.pid}\n`);
  };
  let stopped = false;
  let admin: S3Client | undefined;
  const stop = async (): Promise<void> => {
    stopped = true;
    admin?.destroy();
    process.removeListener('exit', killOnExit);
    for (const d of daemons) d.child.kill('SIGKILL');
    await Promise.all(daemons.map((d) => d.exited));
    await rm(dir, { recursive: true, force: true });
    reaper.stdin?.end('done\n');
  };

  try {
    const ports = { monV2: await freePort(), monV1: await freePort(), rgw: await freePort() };
    const fsid = randomUUID();
    await writeFile(conf, renderConf(dir, fsid, ports));
    for (const sub of ['run', 'log', 'mon', 'osd', 'rgw']) await mkdir(join(dir, sub));
    const monmap = join(dir, 'monmap');
    await run('/usr/bin/monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${ports.monV2},v1:127.0.0.1:${ports.monV1}]`, monmap]);
    await run('/usr/bin/ceph-mon', ['--mkfs', '-i', 'a', '--monmap', monmap]);
    startDaemon('ceph-mon', '/usr/bin/ceph-mon', ['-i', 'a']);

    const osdUuid = randomUUID();
    const osdId = (await run('/usr/bin/ceph', ['--connect-timeout', '60', 'osd', 'new', osdUuid])).trim();
    if (!/^\d+$/.test(osdId)) throw new Error(`ceph osd new answered ${JSON.stringify(osdId)}`);
    await mkdir(join(dir, 'osd', `ceph-${osdId}`));
    await run('/usr/bin/ceph-osd', ['--mkfs', '-i', osdId, '--osd-uuid', osdUuid]);
    startDaemon('ceph-osd', '/usr/bin/ceph-osd', ['-i', osdId]);
    startDaemon('radosgw', '/usr/bin/radosgw', ['-n', 'client.rgw']);

    const accessKeyId = `S3OTEST${randomBytes(6).toString('hex').toUpperCase()}`;
    const secretAccessKey = randomBytes(24).toString('base64url');
    await run('/usr/bin/radosgw-admin', [
      'user', 'create', '--uid=s3o-test', '--display-name=s3o tests', `--access-key=${accessKeyId}`, `--secret-key=${secretAccessKey}`,
    ]);
    const endpoint = `http://127.0.0.1:${ports.rgw}`;
    admin = new S3Client({
      endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1,
    });
    const client = admin;
    const cluster: RgwCluster = {
      endpoint,
      accessKeyId,
      secretAccessKey,
      async createBucket(name) {
        const deadline = Date.now() + readyTimeoutMs;
        for (;;) {
          try {
            await client.send(new CreateBucketCommand({ Bucket: name }));
            return;
          } catch (e) {
            const err = e as Error & { $metadata?: { httpStatusCode?: number } };
            if (err.name === 'BucketAlreadyOwnedByYou') return;
            const retryable = err.$metadata?.httpStatusCode === undefined || err.$metadata.httpStatusCode >= 500;
            if (!retryable || stopped || Date.now() > deadline) throw e;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
      },
      stop,
    };
    // The S3 port answers before the pools exist; the first bucket is the readiness probe.
    await Promise.race([cluster.createBucket('s3o-readiness'), earlyExit]);
    reportEarlyExit = () => undefined;
    return cluster;
  } catch (e) {
    const logs = await Promise.all(['mon.a', 'osd.0', 'client.rgw'].map(async (n) => `--- ${n}.log\n${await tail(join(dir, 'log', `${n}.log`))}`));
    await stop();
    throw new Error(`Ceph RGW did not start: ${(e as Error).message}\n${logs.join('\n')}`);
  }
}

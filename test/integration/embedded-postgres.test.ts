import { execFile, spawn } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/telemetry/logger.js';
import {
  DataDirInUseError, startEmbeddedPostgres, stopAllEmbeddedPostgres, type EmbeddedPostgresHandle,
} from '../../infra/db/embedded-postgres.js';
import { PASSWORD_FILE } from '../../infra/db/embedded-postgres-auth.js';
import { locatePostgresBinaries } from '../../infra/db/embedded-postgres-binaries.js';
import { openDatabase } from '../../ops/database.js';
import { ensureReachable, resolveRunAs, runProcess } from '../../infra/db/embedded-postgres-setup.js';

const isRoot = process.getuid?.() === 0;
const logger = createLogger('silent');
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 's3o-embedded-pg-'));
  // mkdtemp makes it 0700; as root, PostgreSQL runs as an unprivileged account that must get through.
  await chmod(tmp, 0o755);
});

afterEach(async () => {
  await stopAllEmbeddedPostgres();
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function query<T extends pg.QueryResultRow>(handle: EmbeddedPostgresHandle, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: handle.connectionString });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function postmasterPid(dataDir: string): Promise<number> {
  return Number.parseInt((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '', 10);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // Our own child lingers as a zombie until Node collects it.
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

async function processesMentioning(dataDir: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'pid=,args=']);
  return stdout.split('\n').filter((line) => line.includes(dataDir));
}

/** A pid that belonged to a process which has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolveExit) => child.once('exit', resolveExit));
  return child.pid ?? 0;
}

const lockPathOf = (dataDir: string): string => `${dataDir}.s3o.lock`;

/** The authentication methods pg_hba.conf names, each once. */
async function hbaMethods(dataDir: string): Promise<string[]> {
  const lines = (await readFile(join(dataDir, 'pg_hba.conf'), 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return [...new Set(lines.map((l) => l.split(/\s+/).at(-1) as string))];
}

/** Connects as the superuser with `password` (none when undefined). */
async function connectAs(port: number, password: string | undefined): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 's3o', password, database: 's3o', connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('startEmbeddedPostgres', () => {
  it('initialises a new data directory and serves the s3o database with durable settings', async () => {
    const dataDir = join(tmp, 'fresh');
    const db = await startEmbeddedPostgres({ dataDir, logger });

    expect(db.dataDir).toBe(dataDir);
    expect(db.connectionString).toMatch(new RegExp(`^postgres://s3o:[A-Za-z0-9_-]{43}@127\\.0\\.0\\.1:${db.port}/s3o$`));
    const [settings] = await query<{ db: string; fsync: string; sync: string; fpw: string }>(db, `
      SELECT current_database() AS db, current_setting('fsync') AS fsync,
             current_setting('synchronous_commit') AS sync, current_setting('full_page_writes') AS fpw`);
    expect(settings).toEqual({ db: 's3o', fsync: 'on', sync: 'on', fpw: 'on' });
    expect(await query(db, 'SHOW fsync')).toEqual([{ fsync: 'on' }]);
    await query(db, 'CREATE TABLE things (id int PRIMARY KEY, name text)');
    await query(db, `INSERT INTO things VALUES (1, 'one'), (2, 'two')`);
    expect(await query(db, 'SELECT name FROM things ORDER BY id')).toEqual([{ name: 'one' }, { name: 'two' }]);
    if (isRoot) expect((await stat(dataDir)).uid).not.toBe(0);
    expect(await readdir(tmp)).not.toContain('.fresh.s3o-initdb');
  });

  it('requires the superuser password generated at init (scram-sha-256), kept in the data directory for its owner only', async () => {
    const dataDir = join(tmp, 'password');
    const db = await startEmbeddedPostgres({ dataDir, logger });
    const file = await stat(join(dataDir, PASSWORD_FILE));
    expect(file.mode & 0o777).toBe(0o600);
    expect(file.uid).toBe((await stat(dataDir)).uid);
    const password = (await readFile(join(dataDir, PASSWORD_FILE), 'utf8')).trim();
    expect(db.connectionString).toContain(`:${password}@`);
    expect(await hbaMethods(dataDir)).toEqual(['scram-sha-256']);
    await expect(connectAs(db.port, 'wrong')).rejects.toMatchObject({ code: '28P01' });
    await expect(connectAs(db.port, '')).rejects.toThrow();
    await expect(connectAs(db.port, undefined)).rejects.toThrow();
    expect(await query(db, 'SELECT current_user AS u')).toEqual([{ u: 's3o' }]);
    const [method] = await query<{ scram: boolean }>(db, "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' AS scram FROM pg_authid WHERE rolname = 's3o'");
    expect(method).toEqual({ scram: true });
  });

  it('switches a data directory made with trust authentication to the password, keeping its data', async () => {
    const dataDir = join(tmp, 'legacy-trust');
    const before = await startEmbeddedPostgres({ dataDir, logger });
    await query(before, 'CREATE TABLE kept (v text)');
    await query(before, `INSERT INTO kept VALUES ('from the trust days')`);
    await before.stop();
    // As initialised before passwords existed: trust for every connection, no password file.
    const hba = join(dataDir, 'pg_hba.conf');
    await writeFile(hba, (await readFile(hba, 'utf8')).replace(/scram-sha-256/g, 'trust'));
    await rm(join(dataDir, PASSWORD_FILE));
    expect(await hbaMethods(dataDir)).toEqual(['trust']);

    const db = await startEmbeddedPostgres({ dataDir, logger });

    expect(await hbaMethods(dataDir)).toEqual(['scram-sha-256']);
    expect((await stat(join(dataDir, PASSWORD_FILE))).mode & 0o777).toBe(0o600);
    expect((await stat(hba)).uid).toBe((await stat(dataDir)).uid);
    expect(await query(db, 'SELECT v FROM kept')).toEqual([{ v: 'from the trust days' }]);
    await expect(connectAs(db.port, 'wrong')).rejects.toMatchObject({ code: '28P01' });
    // And again after a restart: the switch is kept.
    await db.stop();
    const again = await startEmbeddedPostgres({ dataDir, logger });
    expect(await query(again, 'SELECT v FROM kept')).toEqual([{ v: 'from the trust days' }]);
  });

  it('a command connects to the running orchestrator\'s server with the password from the data directory', async () => {
    const dataDir = join(tmp, 'shared');
    const owner = await startEmbeddedPostgres({ dataDir, logger });
    const cli = await openDatabase({ driver: 'embedded', path: dataDir, port: null, max_conns: 2, min_conns: 0, max_conn_lifetime: 60_000, single_writer: null }, logger, 'client');
    try {
      expect(cli.embedded).toBeUndefined();
      expect((await cli.pool.query('SELECT current_database() AS db')).rows).toEqual([{ db: 's3o' }]);
      expect(cli.description).not.toContain((await readFile(join(dataDir, PASSWORD_FILE), 'utf8')).trim());
    } finally {
      await cli.close();
    }
    expect(await query(owner, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('keeps data across stop and start, and stop leaves no server process behind', async () => {
    const dataDir = join(tmp, 'restart');
    const first = await startEmbeddedPostgres({ dataDir, logger });
    await query(first, 'CREATE TABLE kept (v text)');
    await query(first, `INSERT INTO kept VALUES ('survives')`);
    const pid = await postmasterPid(dataDir);
    expect(isAlive(pid)).toBe(true);
    expect(await processesMentioning(dataDir)).not.toEqual([]);
    expect(existsSync(lockPathOf(dataDir))).toBe(true);

    await first.stop();

    expect(isAlive(pid)).toBe(false);
    expect(await processesMentioning(dataDir)).toEqual([]);
    expect(existsSync(lockPathOf(dataDir))).toBe(false);
    const second = await startEmbeddedPostgres({ dataDir, logger });
    expect(await query(second, 'SELECT v FROM kept')).toEqual([{ v: 'survives' }]);
    await second.stop();
    expect(await processesMentioning(dataDir)).toEqual([]);
  });

  it('rejects a second start on a data directory that is in use, leaving the first untouched', async () => {
    const dataDir = join(tmp, 'busy');
    const first = await startEmbeddedPostgres({ dataDir, logger });

    const second = startEmbeddedPostgres({ dataDir, logger });

    await expect(second).rejects.toBeInstanceOf(DataDirInUseError);
    await expect(second).rejects.toThrow(`data directory ${dataDir} is in use by another s3-orchestrator (pid ${process.pid})`);
    expect(existsSync(lockPathOf(dataDir))).toBe(true);
    expect(await query(first, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('takes over a lock left by a process that has died', async () => {
    const dataDir = join(tmp, 'stale-lock');
    await (await startEmbeddedPostgres({ dataDir, logger })).stop();
    await writeFile(lockPathOf(dataDir), `${await deadPid()}\n`);

    const db = await startEmbeddedPostgres({ dataDir, logger });

    expect(JSON.parse(await readFile(lockPathOf(dataDir), 'utf8'))).toMatchObject({ pid: process.pid });
    expect(await query(db, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('stops a server left running by an orchestrator that was killed, then starts afresh', async () => {
    const dataDir = join(tmp, 'stale-server');
    const orphaned = await startEmbeddedPostgres({ dataDir, logger });
    await query(orphaned, 'CREATE TABLE t (v int)');
    await query(orphaned, 'INSERT INTO t VALUES (42)');
    const orphanPid = await postmasterPid(dataDir);
    // As if the orchestrator had been SIGKILLed: its lock names a dead pid, its server still runs.
    await writeFile(lockPathOf(dataDir), `${await deadPid()}\n`);

    const db = await startEmbeddedPostgres({ dataDir, logger });

    expect(isAlive(orphanPid)).toBe(false);
    expect(await postmasterPid(dataDir)).not.toBe(orphanPid);
    expect(await query(db, 'SELECT v FROM t')).toEqual([{ v: 42 }]);
    // The forgotten handle must not release the new owner's lock.
    await orphaned.stop();
    expect(existsSync(lockPathOf(dataDir))).toBe(true);
    expect(await query(db, 'SELECT v FROM t')).toEqual([{ v: 42 }]);
  });

  it('stopAllEmbeddedPostgres stops every server, including one initialised into an existing empty directory', async () => {
    const emptyDir = join(tmp, 'pre-created');
    await mkdir(emptyDir, { mode: 0o755 });
    const a = await startEmbeddedPostgres({ dataDir: emptyDir, logger });
    const b = await startEmbeddedPostgres({ dataDir: join(tmp, 'other'), logger });
    const pids = [await postmasterPid(a.dataDir), await postmasterPid(b.dataDir)];

    await stopAllEmbeddedPostgres();

    expect(pids.map(isAlive)).toEqual([false, false]);
    expect(await processesMentioning(tmp)).toEqual([]);
  });

  it('refuses a directory that is neither empty nor a PostgreSQL data directory', async () => {
    const dataDir = join(tmp, 'foreign');
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'notes.txt'), 'mine');

    await expect(startEmbeddedPostgres({ dataDir, logger })).rejects.toThrow(/neither empty nor a PostgreSQL data directory/);
    expect(existsSync(lockPathOf(dataDir))).toBe(false);
  });

  it.skipIf(!isRoot)('as root, explains a data directory the PostgreSQL account cannot reach', async () => {
    const privateDir = await mkdtemp(join(tmp, 'private-'));
    const dataDir = join(privateDir, 'pg');

    await expect(startEmbeddedPostgres({ dataDir, logger })).rejects.toThrow(`cannot enter ${privateDir}`);
    await expect(startEmbeddedPostgres({ dataDir, logger })).rejects.toThrow(`chmod o+x ${privateDir}`);
    expect(existsSync(lockPathOf(dataDir))).toBe(false);
  });

  it.skipIf(!isRoot)('as root, runs PostgreSQL from a staged copy when the installed binaries are out of its account\'s reach', async () => {
    const installed = await locatePostgresBinaries();
    const packageRoot = resolve(dirname(installed.postgres), '..', '..');
    const privateDir = await mkdtemp(join(tmp, 'private-install-'));
    const privatePackage = join(privateDir, 'package');
    await cp(packageRoot, privatePackage, { recursive: true, verbatimSymlinks: true });
    const unreachable = {
      postgres: join(privatePackage, 'native', 'bin', 'postgres'),
      initdb: join(privatePackage, 'native', 'bin', 'initdb'),
    };
    const dataDir = join(tmp, 'staged-binaries');
    const runAs = await resolveRunAs(dataDir, 'missing', logger);
    if (runAs === undefined) throw new Error('root resolves no run-as account');
    await expect(runProcess(unreachable.postgres, ['--version'], { runAs })).rejects.toThrow(/EACCES/);

    const usable = await ensureReachable(runAs, dataDir, unreachable, logger);

    expect(usable.postgres.startsWith('/var/lib/s3o/embedded-postgres/')).toBe(true);
    const version = await runProcess(usable.postgres, ['--version'], { runAs });
    expect(version.code).toBe(0);
    expect(version.output).toMatch(/^postgres \(PostgreSQL\) \d+/);
    expect((await runProcess(usable.initdb, ['--version'], { runAs })).code).toBe(0);
  });
});

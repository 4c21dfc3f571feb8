import { randomBytes } from 'node:crypto';
import { chmod, chown, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from '../telemetry/logger.js';

/**
 * The embedded server's superuser authenticates with a password (SCRAM-SHA-256), generated when
 * the data directory is initialised and kept in it, readable by the directory's owner only: any
 * local account could otherwise connect to 127.0.0.1 as the superuser. Data directories made
 * before (trust authentication) are switched over at their next start.
 */
export const PASSWORD_FILE = 's3o-superuser.password';

/** 256 random bits, URL-safe (it goes into connection strings as is). */
export function newPassword(): string {
  return randomBytes(32).toString('base64url');
}

/** Writes `content` to `path` atomically, mode 0600, owned by `owner` (when given: we are root). */
export async function writePrivateFile(path: string, content: string, owner?: { uid: number; gid: number }): Promise<void> {
  const temporary = `${path}.s3o-tmp`;
  await writeFile(temporary, content, { mode: 0o600 });
  await chmod(temporary, 0o600);
  if (owner) await chown(temporary, owner.uid, owner.gid);
  await rename(temporary, path);
}

/** The superuser password kept in `dataDir`, undefined when there is none. */
export async function readPassword(dataDir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dataDir, PASSWORD_FILE), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const TRUST_LINE = /^(\s*(?:local|host\w*)\s.*\s)trust(\s*(?:#.*)?)$/gm;

/** Whether the data directory's pg_hba.conf lets anyone in without a password. */
export async function trustsConnections(dataDir: string): Promise<boolean> {
  return new RegExp(TRUST_LINE.source, 'm').test(await readFile(join(dataDir, 'pg_hba.conf'), 'utf8'));
}

/** `postgres://<superuser>:<password>@127.0.0.1:<port>/<database>`. */
export function embeddedConnectionString(user: string, password: string | undefined, port: number, database: string): string {
  const credentials = password === undefined ? user : `${user}:${encodeURIComponent(password)}`;
  return `postgres://${credentials}@127.0.0.1:${port}/${database}`;
}

/**
 * Switches a data directory initialised with trust authentication (before passwords existed) to
 * SCRAM: keeps a password (the one already in the directory, or a new one), sets it on the
 * superuser, makes every trust line of pg_hba.conf scram-sha-256 and reloads. Each step can be
 * repeated, so a crash half-way is finished at the next start. Returns the password.
 */
export async function requirePasswords(dataDir: string, port: number, user: string, logger: Logger): Promise<string> {
  const owner = await stat(dataDir);
  const asOwner = process.getuid?.() === 0 ? { uid: owner.uid, gid: owner.gid } : undefined;
  const password = (await readPassword(dataDir)) ?? newPassword();
  await writePrivateFile(join(dataDir, PASSWORD_FILE), `${password}\n`, asOwner);
  // Trust still applies to this connection: the password is not checked yet.
  const client = new pg.Client({ host: '127.0.0.1', port, user, database: 'postgres' });
  await client.connect();
  try {
    await client.query("SET password_encryption = 'scram-sha-256'");
    await client.query(`ALTER ROLE ${client.escapeIdentifier(user)} PASSWORD ${client.escapeLiteral(password)}`);
    const hbaPath = join(dataDir, 'pg_hba.conf');
    const hba = await readFile(hbaPath, 'utf8');
    const hbaStat = await stat(hbaPath);
    await writePrivateFile(hbaPath, hba.replace(TRUST_LINE, '$1scram-sha-256$2'), asOwner && { uid: hbaStat.uid, gid: hbaStat.gid });
    await client.query('SELECT pg_reload_conf()');
  } finally {
    await client.end();
  }
  logger.warn({ dataDir, passwordFile: join(dataDir, PASSWORD_FILE) },
    'the embedded PostgreSQL accepted its superuser without a password: it now requires the generated password (scram-sha-256)');
  return password;
}

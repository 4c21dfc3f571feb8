/**
 * `database`: the embedded PostgreSQL (default, zero setup) or an external PostgreSQL.
 * The driver is inferred when not given: `postgres` when a host is set, else `embedded`.
 *
 * ssl_mode default rule: `disable` when the host is the local machine (localhost,
 * 127.0.0.1, ::1 or a Unix socket directory), otherwise `require` (the original's default),
 * so a password never crosses a network unencrypted unless the operator says so.
 *
 * single_writer: this orchestrator is the only process that appends to the database, so it may
 * answer object lookups from the states it keeps after its own commits (no round trip per GET).
 * Unset: true for an embedded database the orchestrator runs itself (one orchestrator owns it),
 * false otherwise (several instances may share a postgres database); a wrong `true` would serve
 * stale versions, so it is never inferred for a shared server.
 */
import { z } from 'zod';
import { duration, integer, optionalFlag, optionalInteger, optionalText } from '../fields.js';
import type { DatabaseConfig, SslMode } from '../../../domain/config/config.js';

export const sslModes = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const satisfies readonly SslMode[];

/** Keys that only mean something to an external PostgreSQL server. */
export const postgresOnlyKeys = ['host', 'database', 'user', 'password', 'ssl_mode'] as const;

export const defaultEmbeddedPath = './data/postgres';

export function isLocalHost(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '::1' || host.startsWith('/');
}

const databaseInput = z.strictObject({
  driver: optionalText(),
  path: optionalText(),
  host: optionalText(),
  port: optionalInteger({ min: 1, max: 65_535 }),
  database: optionalText(),
  user: optionalText(),
  password: optionalText(),
  ssl_mode: optionalText(),
  max_conns: integer(10, { min: 1 }),
  min_conns: integer(2, { min: 0 }),
  max_conn_lifetime: duration('5m', { positive: true }),
  single_writer: optionalFlag(),
});

type DatabaseInput = z.output<typeof databaseInput>;

function resolveDriver(db: DatabaseInput): string {
  return db.driver ?? (db.host === null ? 'embedded' : 'postgres');
}

export const databaseSchema: z.ZodType<DatabaseConfig> = databaseInput.superRefine((db, ctx) => {
  const driver = resolveDriver(db);
  if (driver === 'sqlite') {
    ctx.addIssue({ code: 'custom', path: ['driver'], message: 'sqlite is not supported; use embedded (zero-setup PostgreSQL, also the default) or postgres' });
    return;
  }
  if (driver !== 'embedded' && driver !== 'postgres') {
    ctx.addIssue({ code: 'custom', path: ['driver'], message: `must be one of: embedded, postgres (got "${driver.slice(0, 40)}")` });
    return;
  }
  if (db.min_conns > db.max_conns) {
    ctx.addIssue({ code: 'custom', path: ['min_conns'], message: `must not exceed max_conns (${db.max_conns})` });
  }
  if (driver === 'postgres') {
    for (const key of ['host', 'database', 'user'] as const) {
      if (db[key] === null) ctx.addIssue({ code: 'custom', path: [key], message: 'is required with driver postgres' });
    }
    if (db.ssl_mode !== null && !(sslModes as readonly string[]).includes(db.ssl_mode)) {
      ctx.addIssue({ code: 'custom', path: ['ssl_mode'], message: `must be one of: ${sslModes.join(', ')}` });
    }
  } else if (db.driver === null && postgresOnlyKeys.some((key) => db[key] !== null)) {
    ctx.addIssue({
      code: 'custom',
      path: ['host'],
      message: 'is required when database, user, password or ssl_mode are set (set host to use PostgreSQL, or remove them to use the embedded database)',
    });
  }
}).transform((db): DatabaseConfig => {
  const pool = { max_conns: db.max_conns, min_conns: db.min_conns, max_conn_lifetime: db.max_conn_lifetime };
  if (resolveDriver(db) === 'embedded') {
    return { driver: 'embedded', path: db.path ?? defaultEmbeddedPath, port: db.port, ...pool, single_writer: db.single_writer };
  }
  const host = db.host ?? '';
  return {
    driver: 'postgres',
    host,
    port: db.port ?? 5432,
    database: db.database ?? '',
    user: db.user ?? '',
    password: db.password,
    ssl_mode: (db.ssl_mode as SslMode | null) ?? (isLocalHost(host) ? 'disable' : 'require'),
    ...pool,
    single_writer: db.single_writer,
  };
});

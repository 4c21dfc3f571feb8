import { parseArgs } from 'node:util';
import { AdminClient, AdminHttpError, AdminUnreachableError, adminUrlFor, normalizeAddr, tokenFrom } from './admin/admin-client.js';
import { backendCommands } from './admin/backend-commands.js';
import { cacheCommands } from './admin/cache-commands.js';
import { cleanupCommands } from './admin/cleanup-commands.js';
import { type AdminCommandSpec, type CliIo, type CommandOption, type CommandValues, UsageError } from './admin/command.js';
import { encryptionCommands } from './admin/encryption-commands.js';
import { integrityCommands } from './admin/integrity-commands.js';
import { jobCommands } from './admin/job-commands.js';
import { objectCommands } from './admin/object-commands.js';
import { replicationCommands } from './admin/replication-commands.js';
import { runtimeCommands } from './admin/runtime-commands.js';
import { statusCommands } from './admin/status-commands.js';
import { traceCommands } from './admin/trace-commands.js';
import { demoAdminToken, demoListenAddr } from '../demo/demo-settings.js';
import { wantsHelp } from './help.js';

/** Every `s3o admin` command, in the order the help lists them. */
export const adminCommands: readonly AdminCommandSpec[] = [
  ...statusCommands, ...jobCommands, ...backendCommands, ...objectCommands, ...cleanupCommands, ...runtimeCommands, ...replicationCommands, ...integrityCommands, ...cacheCommands, ...encryptionCommands, ...traceCommands,
];

const options = {
  config: { type: 'string', short: 'c' },
  addr: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  state: { type: 'string' },
  limit: { type: 'string' },
  watch: { type: 'boolean', short: 'w' },
  purge: { type: 'boolean' },
  confirm: { type: 'boolean' },
  set: { type: 'string' },
  key: { type: 'string' },
  prefix: { type: 'string' },
  execute: { type: 'boolean' },
  'batch-size': { type: 'string' },
  detach: { type: 'boolean' },
  'old-key-id': { type: 'string' },
  seconds: { type: 'string' },
  out: { type: 'string' },
} as const;
const globalOptions = new Set(['config', 'addr', 'token', 'json', 'help']);

function usage(): string {
  const width = Math.max(...adminCommands.map((c) => [c.name, ...c.args].join(' ').length));
  return [
    'usage: s3o admin [--config FILE] [--addr URL] [--token TOKEN] <command> [args] [--json]',
    '',
    'The orchestrator\'s address and admin token come from --addr/--token, else S3O_ADMIN_ADDR/S3O_ADMIN_TOKEN,',
    'else the configuration (server.listen_addr, ui.admin_token or ui.admin_key; without --config, the demo\'s).',
    '',
    ...adminCommands.map((c) => `  ${[c.name, ...c.args].join(' ').padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

/** The value each option with one takes, as its help writes it. */
const optionValues: Partial<Record<CommandOption, string>> = { state: 'STATE', limit: 'N', set: 'LEVEL', key: 'KEY', prefix: 'PREFIX', 'old-key-id': 'ID', seconds: 'N', out: 'FILE' };

/** One admin command's help: its usage line, what it does, the options every command takes. */
function commandUsage(spec: AdminCommandSpec): string {
  const args = spec.args.map((a) => (a.endsWith('?') ? `[${a.slice(0, -1)}]` : a));
  const opts = spec.options.map((o) => `[--${o}${optionValues[o] ? ` ${optionValues[o]}` : ''}]`);
  return [
    `usage: s3o admin ${[spec.name, ...args, ...opts].join(' ')} [--json]`,
    '',
    `${spec.summary.charAt(0).toUpperCase()}${spec.summary.slice(1)}.`,
    '',
    'Every admin command also takes --config FILE, --addr URL, --token TOKEN (see s3o admin --help).',
  ].join('\n');
}

/** `--help` or `-h` anywhere: the help of the command named, else the list; nothing runs. */
function printHelp(argv: readonly string[], io: CliIo): number {
  const { positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: false });
  const name = positionals[0];
  if (name === undefined) {
    io.out.write(`${usage()}\n`);
    return 0;
  }
  const spec = adminCommands.find((c) => c.name === name);
  if (!spec) {
    io.err.write(`unknown admin command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  io.out.write(`${commandUsage(spec)}\n`);
  return 0;
}

/** The original's Go-style single-dash long options (`-set debug`, `-config f`) become `--set`, `--config`. */
function normalizeDashes(argv: readonly string[]): string[] {
  const out: string[] = [];
  let rest = false;
  for (const a of argv) {
    if (a === '--') rest = true;
    const m = rest ? null : /^-([a-z][a-z-]+)(=.*)?$/.exec(a);
    out.push(m?.[1] && Object.hasOwn(options, m[1]) ? `-${a}` : a);
  }
  return out;
}

async function target(values: { config?: string; addr?: string; token?: string }): Promise<{ url: string; token: string }> {
  let addr = values.addr ?? process.env.S3O_ADMIN_ADDR;
  let token = values.token ?? process.env.S3O_ADMIN_TOKEN;
  if ((addr === undefined || token === undefined) && values.config === undefined) {
    // The demo's, without loading the configuration machinery.
    addr ??= adminUrlFor(demoListenAddr());
    token ??= demoAdminToken;
  }
  if (addr === undefined || token === undefined) {
    const { configForCommand } = await import('./load-config.js');
    const config = await configForCommand(values.config);
    addr ??= adminUrlFor(config.server.listen_addr);
    token ??= tokenFrom(config);
    if (token === undefined) {
      throw new Error(`${values.config ?? 'the configuration'} sets neither ui.admin_token nor ui.admin_key, so the admin API is disabled; set one and restart the orchestrator (or pass --token)`);
    }
  }
  return { url: normalizeAddr(addr), token };
}

function checkArgs(spec: AdminCommandSpec, args: readonly string[], given: readonly string[]): void {
  for (const name of given) {
    if (!globalOptions.has(name) && !spec.options.includes(name as CommandOption)) throw new UsageError(`--${name} does not apply to "${spec.name}"`);
  }
  const required = spec.args.filter((a) => !a.endsWith('?')).length;
  if (args.length < required || args.length > spec.args.length) {
    throw new UsageError(`usage: s3o admin ${[spec.name, ...spec.args.map((a) => a.replace(/\?$/, ''))].join(' ')}`);
  }
}

function explain(err: AdminHttpError): string {
  const hints: Record<number, string> = {
    401: ' — check --token, S3O_ADMIN_TOKEN or ui.admin_token',
  };
  return `error: ${err.message} (HTTP ${err.status})${hints[err.status] ?? ''}`;
}

const processIo: CliIo = { out: process.stdout, err: process.stderr };

/**
 * `s3o admin …`: the operator's client for the admin API. Human-readable output by default,
 * `--json` for the raw responses. Exit codes: 0 done, 1 the orchestrator refused or could
 * not be reached (any HTTP status ≥ 400), 2 wrong usage.
 */
export async function adminCommand(argv: string[], io: CliIo = processIo, opts: { pollIntervalMs?: number } = {}): Promise<number> {
  const normalized = normalizeDashes(argv);
  if (wantsHelp(normalized)) return printHelp(normalized, io);
  let parsed;
  try {
    parsed = parseArgs({ args: normalized, options, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    io.err.write(`${(err as Error).message}\n\n${usage()}\n`);
    return 2;
  }
  const { values, positionals, tokens } = parsed;
  const [name, ...args] = positionals;
  if (!name) {
    io.err.write(`${usage()}\n`);
    return 2;
  }
  const spec = adminCommands.find((c) => c.name === name);
  if (!spec) {
    io.err.write(`unknown admin command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  const given = tokens.filter((t) => t.kind === 'option').map((t) => t.name);
  try {
    checkArgs(spec, args, given);
    const { url, token } = await target(values);
    const commandValues: CommandValues = {
      state: values.state, limit: values.limit, watch: values.watch, purge: values.purge, confirm: values.confirm, set: values.set, key: values.key, prefix: values.prefix, execute: values.execute,
      batchSize: values['batch-size'],
      detach: values.detach, oldKeyId: values['old-key-id'], seconds: values.seconds, out: values.out,
    };
    return await spec.run({
      client: new AdminClient(url, token), args, values: commandValues, io, json: values.json ?? false, pollIntervalMs: opts.pollIntervalMs ?? 1000,
    });
  } catch (err) {
    if (err instanceof UsageError) {
      io.err.write(`${err.message}\n`);
      return 2;
    }
    if (err instanceof AdminHttpError) {
      if (values.json && err.body !== undefined) io.out.write(`${JSON.stringify(err.body, null, 2)}\n`);
      io.err.write(`${explain(err)}\n`);
      return 1;
    }
    if (err instanceof AdminUnreachableError) {
      io.err.write(`error: ${err.message}\n`);
      return 1;
    }
    io.err.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
}

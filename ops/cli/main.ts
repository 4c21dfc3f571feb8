#!/usr/bin/env node
import { commandHelp, usage, wantsHelp } from './help.js';

// The SDK's Node-version notice is for the SDK's maintainers' schedule, not for our operators.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

type Command = (argv: string[]) => Promise<number>;

/** Each command is imported when it runs, so one command never pays for loading the others. */
const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve-command.js')).serveCommand,
  validate: async () => (await import('./validate-command.js')).validateCommand,
  projections: async () => (await import('./projections-command.js')).projectionsCommand,
  admin: async () => {
    const { adminCommand } = await import('./admin-command.js');
    return (argv) => adminCommand(argv);
  },
  sync: async () => {
    const { syncCommand } = await import('./sync-command.js');
    return (argv) => syncCommand(argv);
  },
  version: async () => async () => {
    const { VERSION } = await import('../version.js');
    console.log(`s3-orchestrator ${VERSION} node ${process.version} ${process.platform}/${process.arch}`);
    return 0;
  },
  help: async () => async ([name]) => {
    const text = name === undefined ? usage : commandHelp[name];
    if (text === undefined) {
      if (name === 'admin') return (await import('./admin-command.js')).adminCommand(['--help']);
      console.error(`unknown command "${name}"\n\n${usage}`);
      return 2;
    }
    console.log(text);
    return 0;
  },
};

/** parseArgs' own errors (an unknown option, a missing value) are wrong usage, not failures. */
function isUsageError(err: unknown): boolean {
  return typeof (err as { code?: unknown }).code === 'string' && (err as { code: string }).code.startsWith('ERR_PARSE_ARGS_');
}

async function main(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(usage);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`unknown command "${name}"\n\n${usage}`);
    return 2;
  }
  // `s3o admin` has a help per admin command; every other command's is printed here.
  const help = commandHelp[name];
  if (help !== undefined && wantsHelp(rest)) {
    console.log(help);
    return 0;
  }
  try {
    return await (await load())(rest);
  } catch (err) {
    if (isUsageError(err)) {
      console.error(`${(err as Error).message}\n\n${help ?? usage}`);
      return 2;
    }
    console.error(`error: ${(err as Error).message}`);
    return 1;
  }
}

process.exit(await main());

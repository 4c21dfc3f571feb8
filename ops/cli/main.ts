#!/usr/bin/env node
import { adminCommand } from './admin-command.js';
import { projectionsCommand } from './projections-command.js';
import { serveCommand } from './serve-command.js';
import { syncCommand } from './sync-command.js';
import { validateCommand } from './validate-command.js';
import { VERSION } from '../version.js';

// The SDK's Node-version notice is for the SDK's maintainers' schedule, not for our operators.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const help = `s3o ${VERSION} — s3-orchestrator

  s3o serve [--config FILE]              run the orchestrator (no config: the built-in demo)
  s3o validate --config FILE             check a configuration file
  s3o projections status|rebuild [name]|verify [name] [--config FILE]
  s3o admin <command> [args] [--json]    operate a running orchestrator (s3o admin --help)
  s3o sync --backend B --bucket K [--prefix P] [--dry-run] [--config FILE]
                                         import a backend's objects the orchestrator does not know
  s3o version
`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  serve: serveCommand,
  validate: validateCommand,
  projections: projectionsCommand,
  admin: (argv) => adminCommand(argv),
  sync: (argv) => syncCommand(argv),
  version: async () => {
    console.log(`s3-orchestrator ${VERSION} node ${process.version} ${process.platform}/${process.arch}`);
    return 0;
  },
  help: async () => {
    console.log(help);
    return 0;
  },
};

async function main(): Promise<number> {
  const [name = 'help', ...rest] = process.argv.slice(2);
  const command = commands[name];
  if (!command) {
    console.error(`unknown command "${name}"\n\n${help}`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    return 1;
  }
}

process.exit(await main());

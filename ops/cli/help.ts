import { VERSION } from '../version.js';

/**
 * Every top-level command's help, kept apart from the commands themselves so that `--help`
 * loads none of them (they pull in the server, the database driver and the AWS SDK).
 * `s3o admin` builds its own help from its command table.
 */
export const usage = `s3o ${VERSION} — s3-orchestrator

  s3o serve [--config FILE]              run the orchestrator (no config: the built-in demo)
  s3o validate --config FILE             check a configuration file
  s3o projections status|rebuild [name]|verify [name] [--config FILE]
  s3o admin <command> [args] [--json]    operate a running orchestrator (s3o admin --help)
  s3o sync --backend B --bucket K [--prefix P] [--dry-run] [--config FILE]
                                         import a backend's objects the orchestrator does not know
  s3o version
  s3o help [command]                     this usage, or a command's help (also s3o <command> --help)`;

const demoSettings = `Without --config, the built-in demo runs: the S3 endpoint on S3O_LISTEN (default
127.0.0.1:9000; 0.0.0.0:9000 to accept other hosts), three local s3rver backends on
127.0.0.1 from S3O_DEMO_BACKEND_PORT (default 9101) upwards, and its data (embedded PostgreSQL,
the backends' files) under S3O_DATA_DIR (default ./data).`;

export const commandHelp: Record<string, string> = {
  serve: `usage: s3o serve [--config FILE]

Runs the orchestrator until SIGINT or SIGTERM (graceful: requests in flight finish, workers
stop, embedded PostgreSQL stops). SIGHUP reloads the reloadable settings from FILE, all or
nothing.

${demoSettings}`,
  validate: `usage: s3o validate --config FILE

Checks a configuration file: prints a summary when it is valid, else every error with its
field path (exit 1).`,
  projections: `usage: s3o projections status|rebuild [name]|verify [name] [--config FILE] [--json]

  status            inline tables, async checkpoints and lag
  rebuild [name]    replay the log into fresh tables and swap them in
  verify [name]     rebuild into shadow tables and compare (exit 1 on a difference)

Without --config these use the demo's embedded database (S3O_DATA_DIR, default ./data),
connecting to the running orchestrator's server when there is one.`,
  sync: `usage: s3o sync --backend NAME --bucket BUCKET [--prefix PREFIX] [--dry-run] [--config FILE]

Imports the objects a backend holds under BUCKET that the log does not know (never a key whose
deletion is pending, never our own multipart temporaries). --dry-run writes nothing.`,
  version: `usage: s3o version

Prints the version, the Node.js version and the platform.`,
  help: `usage: s3o help [command]

Prints the usage, or one command's help.`,
};

/** Whether `--help` or `-h` appears among the arguments (before a `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h' || a === '-help') return true;
  }
  return false;
}

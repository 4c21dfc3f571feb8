import { pino, type Logger, type LevelWithSilent } from 'pino';
import { traceFieldsOfActiveSpan } from './spans.js';

export type { Logger };

/** Keys whose values must never reach a log line. */
const redactPaths = [
  'secret_access_key', '*.secret_access_key', '*.*.secret_access_key',
  'password', '*.password', 'token', '*.token', 'authorization', '*.authorization',
  'headers.authorization', 'req.headers.authorization', 'req.headers["x-proxy-token"]', 'req.headers["x-admin-token"]',
  'admin_token', '*.admin_token', 'admin_key', '*.admin_key', 'admin_secret', '*.admin_secret',
  'session_secret', '*.session_secret', 'req.headers.cookie', 'headers.cookie', 'cookie', '*.cookie',
];

export function createLogger(level: LevelWithSilent = 'info', bindings: Record<string, unknown> = {}, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 's3-orchestrator', ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    // A line logged while a traced request runs names its trace and span.
    mixin: traceFieldsOfActiveSpan,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Standard output and `also` (the dashboard's recent-lines ring): the logger's level decides for both. */
export function teeDestination(also: NodeJS.WritableStream): pino.DestinationStream {
  return pino.multistream([{ level: 'trace', stream: pino.destination(1) }, { level: 'trace', stream: also }]);
}

import type { Logger } from '../telemetry/logger.js';

const TAIL_LINES = 40;
const WINDOW_MS = 10_000;
const MAX_LINES_PER_WINDOW = 100;

/** Severities PostgreSQL prints after the line prefix; the detail kinds continue the line before. */
const SEVERITY = /\b(DEBUG\d?|INFO|NOTICE|LOG|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|CONTEXT|STATEMENT|LOCATION):\s/;
const CONTINUATIONS = new Set(['DETAIL', 'HINT', 'CONTEXT', 'STATEMENT', 'LOCATION']);
const WARN_SEVERITIES = new Set(['WARNING', 'ERROR', 'FATAL', 'PANIC']);
/**
 * Errors that are not news: those our own start and stop cause (readiness polling during start-up,
 * clients cut off by shutdown), and the outcomes the append reports on purpose, which its caller
 * handles and logs in its own words (a full backend's quota, a stream revision conflict, a part for
 * an upload that ended or moved, a copy of a superseded version).
 */
const EXPECTED = new RegExp([
  'the database system is (starting up|shutting down|not yet accepting connections)',
  'terminating connection due to administrator command',
  'ERROR:\\s+(quota|upload_open|upload_moved|copy_of_current_version|wrong expected revision)$',
].join('|'));

/**
 * Forwards the server's output to pino line by line (errors at warn, the rest at debug), at most
 * MAX_LINES_PER_WINDOW per window so a misbehaving server cannot flood the log, and keeps the
 * last lines for error messages.
 */
export class PostgresLogForwarder {
  private readonly tail: string[] = [];
  private partial = '';
  private lastLevel: 'debug' | 'warn' = 'debug';
  private windowStart = 0;
  private linesInWindow = 0;
  private suppressed = 0;

  constructor(private readonly logger: Logger) {}

  write(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  /** Call when the stream ends, so a last line without a newline is not lost. */
  end(): void {
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
    this.reportSuppressed();
  }

  tailText(): string {
    return this.tail.join('\n');
  }

  /** Whether any kept line contains `text`. */
  tailIncludes(text: string): boolean {
    return this.tail.some((line) => line.includes(text));
  }

  private line(raw: string): void {
    const line = raw.trimEnd();
    if (line === '') return;
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    const level = this.levelOf(line);
    const now = Date.now();
    if (now - this.windowStart >= WINDOW_MS) {
      this.reportSuppressed();
      this.windowStart = now;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= MAX_LINES_PER_WINDOW) {
      this.suppressed++;
      return;
    }
    this.linesInWindow++;
    this.logger[level]({ line }, 'postgres');
  }

  private levelOf(line: string): 'debug' | 'warn' {
    const severity = SEVERITY.exec(line)?.[1];
    if (severity === undefined || CONTINUATIONS.has(severity)) return this.lastLevel;
    this.lastLevel = WARN_SEVERITIES.has(severity) && !EXPECTED.test(line) ? 'warn' : 'debug';
    return this.lastLevel;
  }

  private reportSuppressed(): void {
    if (this.suppressed === 0) return;
    this.logger.warn({ suppressed: this.suppressed }, 'postgres logged too much; lines were dropped');
    this.suppressed = 0;
  }
}

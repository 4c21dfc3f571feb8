import { Writable } from 'node:stream';

/** One recent log line as the dashboard shows it. */
export interface RecentLogLine {
  /** Position in this process's log, from 1: the dashboard asks for lines after the last it saw. */
  seq: number;
  time: string;
  level: string;
  msg: string;
  /** The whole JSON line (already through the logger's redaction), capped in length. */
  line: string;
}

/** A log line longer than this keeps its start only: the ring's memory stays bounded. */
export const maxRecentLineLength = 4096;

/**
 * The last `capacity` log lines of this process, for the dashboard's log view. It receives the
 * serialized lines pino writes, so the logger's redaction has already been applied.
 */
export class LogRing {
  private readonly lines: RecentLogLine[] = [];
  private next = 1;

  constructor(readonly capacity = 2000) {}

  /** A stream to give pino (beside stdout) that files every line it writes. */
  stream(): Writable {
    let pending = '';
    return new Writable({
      decodeStrings: false,
      write: (chunk: string | Buffer, _encoding, callback) => {
        pending += chunk.toString();
        let nl: number;
        while ((nl = pending.indexOf('\n')) !== -1) {
          this.add(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
        if (pending.length > maxRecentLineLength) {
          this.add(pending);
          pending = '';
        }
        callback();
      },
    });
  }

  add(raw: string): void {
    if (raw.trim() === '') return;
    const line = raw.length > maxRecentLineLength ? `${raw.slice(0, maxRecentLineLength)}…` : raw;
    let parsed: Record<string, unknown> = {};
    try {
      const value: unknown = JSON.parse(raw);
      if (value !== null && typeof value === 'object') parsed = value as Record<string, unknown>;
    } catch {
      parsed = { msg: line };
    }
    const text = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback);
    this.lines.push({
      seq: this.next++, time: text(parsed.time, ''), level: text(parsed.level, 'info'),
      msg: text(parsed.msg, '').slice(0, maxRecentLineLength), line,
    });
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  /** The newest `limit` lines at or above `levels`, after `afterSeq`, oldest first. */
  recent(opts: { limit: number; levels?: ReadonlySet<string>; afterSeq?: number }): RecentLogLine[] {
    const picked: RecentLogLine[] = [];
    for (let i = this.lines.length - 1; i >= 0 && picked.length < opts.limit; i--) {
      const l = this.lines[i] as RecentLogLine;
      if (opts.afterSeq !== undefined && l.seq <= opts.afterSeq) break;
      if (!opts.levels || opts.levels.has(l.level)) picked.push(l);
    }
    return picked.reverse();
  }
}

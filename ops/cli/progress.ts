/** Where a bar is drawn: a terminal stream, or anything with `write` (then it draws only when told it is a TTY). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** One line of progress: `label [####----]  42.0% done/total rate/s ETA 1m05s detail`. */
export function progressLine(label: string, done: number, total: number, rate: number, etaSeconds: number | null, detail = ''): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 0;
  const width = 30;
  const filled = Math.round(ratio * width);
  const eta = etaSeconds === null ? '--' : formatDuration(etaSeconds);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(ratio * 100).toFixed(1).padStart(5)}% ` +
    `${formatCount(done)}/${formatCount(total)} ${formatCount(rate)}/s ETA ${eta}${detail ? ` ${detail}` : ''}`;
}

/**
 * A one-line progress bar with rate and ETA, redrawn in place on a terminal. Off a terminal it
 * prints nothing (the final report is printed by the caller), so logs and pipes stay clean.
 */
export class ProgressBar {
  private readonly startedAt = performance.now();
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly stream: ProgressStream = process.stderr,
    enabled?: boolean,
  ) {
    this.enabled = enabled ?? Boolean(stream.isTTY);
  }

  /** Progress measured here: the rate and ETA are computed from when the bar was created. */
  update(done: number, total: number, phase = '', force = false): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const seconds = (now - this.startedAt) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    this.draw(progressLine(this.label, done, total, rate, rate > 0 && total > done ? (total - done) / rate : null, phase));
  }

  /** Progress measured elsewhere (a server's job): its own rate and ETA are shown as given. */
  show(done: number, total: number, rate: number, etaSeconds: number | null, detail = ''): void {
    if (this.enabled) this.draw(progressLine(this.label, done, total, rate, etaSeconds, detail));
  }

  finish(): void {
    if (this.enabled) this.stream.write('\n');
  }

  private draw(line: string): void {
    this.stream.write(`\r\x1b[2K${line}`);
  }
}

export function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

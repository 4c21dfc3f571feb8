import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { PostgresLogForwarder } from '../../../infra/db/embedded-postgres-log.js';

function forwarder(): { log: PostgresLogForwarder; levels: () => [string, string][] } {
  const lines: { level: string; line: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as { level: string; line: string });
      done();
    },
  });
  const logger = pino({ level: 'debug', formatters: { level: (label) => ({ level: label }) } }, sink);
  return { log: new PostgresLogForwarder(logger), levels: () => lines.map((l) => [l.level, l.line]) };
}

const at = '2026-12-02 13:00:00.000 UTC [4242]';

describe('embedded PostgreSQL log forwarding', () => {
  it('a quota refusal or a revision conflict raised by the append, with its detail and PL/pgSQL context, stays at debug', () => {
    const { log, levels } = forwarder();
    log.write(Buffer.from([
      `${at} ERROR:  quota`,
      `${at} DETAIL:  {"backend" : "b2", "quotaBytes" : 2000, "usedBytes" : 1800, "orphanBytes" : 0, "pendingBytes" : 400}`,
      `${at} CONTEXT:  PL/pgSQL function s3o_usage_apply(text,bigint,bigint,bigint,bigint,boolean) line 20 at RAISE`,
      `${at} ERROR:  wrong expected revision`,
      '',
    ].join('\n')));
    expect(levels().map(([level]) => level)).toEqual(['debug', 'debug', 'debug', 'debug']);
  });

  it('any other error, and the lines that continue it, is a warning', () => {
    const { log, levels } = forwarder();
    log.write(Buffer.from([
      `${at} ERROR:  quota exceeded for something else`,
      `${at} CONTEXT:  PL/pgSQL function f() line 1 at RAISE`,
      `${at} LOG:  checkpoint starting: time`,
      `${at} ERROR:  could not extend file "base/1/2": No space left on device`,
      '',
    ].join('\n')));
    expect(levels().map(([level]) => level)).toEqual(['warn', 'warn', 'debug', 'warn']);
  });
});

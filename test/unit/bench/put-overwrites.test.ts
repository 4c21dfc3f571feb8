import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoadRecorder, runClosedLoop, type SmallRequest } from '../../../bench/load.js';
import { formatReport, type BenchReport, type WorkloadReport } from '../../../bench/report.js';
import type { BenchSettings } from '../../../bench/workloads.js';

/** The 4 KiB PUT row claims new keys: a run that sent more PUTs than it had keys must say so. */
describe('bench: PUTs past the signed keys', () => {
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end());
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((done) => server.close(() => done())));

  const settings = (putKeys: number): BenchSettings => ({
    warmupMs: 1, warmupRequests: 0, warmupCapMs: 0, durationMs: 1, rounds: 1, getConnections: 1, putConnections: 8,
    smallSize: 1, getObjects: 1, putKeys, largeSize: 0, largeCount: 0, rssSize: 0,
  });

  async function reportOf(keys: number, putKeys: number): Promise<{ text: string; sent: number }> {
    const requests: SmallRequest[] = Array.from({ length: keys }, (_, i) => ({ method: 'PUT', path: `/b/${i}`, headers: {}, body: Buffer.from('x') }));
    const recorder = new LoadRecorder();
    // Eight clients each start a request at once, so eight or more are sent whatever the timing.
    await runClosedLoop({ origin, connections: 8, warmupMs: 1, durationMs: 1, serverPid: process.pid, requests }, recorder);
    const load = recorder.result();
    const workload: WorkloadReport = {
      id: 'put-small', title: '4 KiB PUT, c=16', goal: '', verdict: 'n/a', verdictNote: null, millionVerdict: null,
      results: { gateway: { ok: true, ratioToProxy: null, measurement: { kind: 'load', load }, headline: { value: load.reqPerSec, unit: 'req/s', p50Ms: null, p99Ms: null, serverCpu: null, errors: 0, errorSamples: [] } } },
    };
    const report: BenchReport = {
      format: 's3-orchestrator-bench/1', startedAt: '', finishedAt: '', settings: settings(putKeys), targets: [], workloads: [workload],
      machine: { cpus: 2, cpuModel: '', memoryBytes: 0, node: '', platform: '' },
    };
    return { text: formatReport(report), sent: load.requestsSent };
  }

  it('counts every request sent and notes the ones that overwrote', async () => {
    const { text, sent } = await reportOf(4, 4);
    expect(sent).toBeGreaterThanOrEqual(8);
    expect(text).toContain(`NOTE 4 KiB PUT, c=16 · gateway: ${sent - 4} of its ${sent} PUTs`);
  });

  it('says nothing while every PUT went to a new key', async () => {
    const { text, sent } = await reportOf(1000, 1_000_000);
    expect(sent).toBeGreaterThanOrEqual(8);
    expect(text).not.toContain('NOTE');
  });
});

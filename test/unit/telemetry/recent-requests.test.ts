import { describe, expect, it } from 'vitest';
import { RecentRequests, type RequestRecord } from '../../../services/telemetry/recent-requests.js';

const request = (requestId: string, durationMs: number, status = 200, complete = true): RequestRecord => ({
  requestId, event: 's3.GetObject', method: 'GET', bucket: 'alpha', key: 'k', status, accessKeyId: 'AK', remoteAddress: '127.0.0.1',
  durationMs, startedAtMs: 0, errorCode: status >= 400 ? 'InternalError' : undefined, traceId: undefined, complete,
});

describe('recent requests', () => {
  it('lists the failed (5xx or cut off) first, then the slowest, up to the limit', () => {
    const recent = new RecentRequests(10);
    for (const r of [request('fast', 1), request('slow', 50), request('5xx', 2, 500), request('404', 3, 404), request('cut', 0.5, 200, false), request('mid', 10)]) recent.record(r);
    const { held, seen, requests } = recent.slowestAndFailed(5);
    expect({ held, seen }).toEqual({ held: 6, seen: 6 });
    expect(requests.map((r) => r.requestId)).toEqual(['5xx', 'cut', 'slow', 'mid', '404']);
  });

  it('keeps only the latest requests once full', () => {
    const recent = new RecentRequests(3);
    for (let i = 1; i <= 7; i += 1) recent.record(request(`r${i}`, i));
    const { held, seen, requests } = recent.slowestAndFailed(10);
    expect({ held, seen }).toEqual({ held: 3, seen: 7 });
    expect(requests.map((r) => r.requestId)).toEqual(['r7', 'r6', 'r5']);
  });
});

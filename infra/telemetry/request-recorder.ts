import type { BoundCounter, BoundHistogram, CounterSeries, HistogramSeries } from './bound-metrics.js';

interface OperationSeries {
  duration: HistogramSeries;
  requestSize: HistogramSeries;
  responseSize: HistogramSeries;
  managerDuration: HistogramSeries;
  byStatus: Map<number, CounterSeries>;
  managerOk: CounterSeries;
  managerError: CounterSeries;
}

export interface RequestFamilies {
  requestsTotal: BoundCounter;
  requestDuration: BoundHistogram;
  requestSize: BoundHistogram;
  responseSize: BoundHistogram;
  managerRequests: BoundCounter;
  managerDuration: BoundHistogram;
}

/**
 * Records an S3 request's series, looked up once per (method, operation) and status: the hot path
 * does two map lookups, then updates the series in place.
 */
export class RequestRecorder {
  private readonly series = new Map<string, Map<string, OperationSeries>>();

  constructor(private readonly f: RequestFamilies) {}

  /** The S3 request as the client saw it: status, duration and declared body sizes. */
  request(method: string, operation: string, status: number, seconds: number, requestBytes: number, responseBytes: number): void {
    const s = this.of(method, operation);
    let counter = s.byStatus.get(status);
    if (!counter) s.byStatus.set(status, (counter = this.f.requestsTotal.labels(method, String(status), operation)));
    counter.inc();
    s.duration.observe(seconds);
    s.requestSize.observe(requestBytes);
    s.responseSize.observe(responseBytes);
  }

  /** The operation's run in the service layer, after admission, routing and authentication. */
  operation(method: string, operation: string, seconds: number, ok: boolean): void {
    const s = this.of(method, operation);
    (ok ? s.managerOk : s.managerError).inc();
    s.managerDuration.observe(seconds);
  }

  private of(method: string, operation: string): OperationSeries {
    let byOp = this.series.get(method);
    if (!byOp) this.series.set(method, (byOp = new Map()));
    let s = byOp.get(operation);
    if (!s) {
      s = {
        duration: this.f.requestDuration.labels(method, operation),
        requestSize: this.f.requestSize.labels(method, operation),
        responseSize: this.f.responseSize.labels(method, operation),
        managerDuration: this.f.managerDuration.labels(operation),
        byStatus: new Map(),
        managerOk: this.f.managerRequests.labels(operation, 'ok'),
        managerError: this.f.managerRequests.labels(operation, 'error'),
      };
      byOp.set(operation, s);
    }
    return s;
  }
}

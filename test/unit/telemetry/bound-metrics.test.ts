import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundCounter, BoundHistogram, PlainGauge } from '../../../infra/telemetry/bound-metrics.js';

const buckets = [0, 0.5, 1, 10];

/** The same families made by prom-client and bound, in two registries, fed the same updates. */
function pair() {
  const theirs = new Registry();
  const ours = new Registry();
  return {
    theirs,
    ours,
    counters: [
      new Counter({ name: 'x_total', help: 'X', labelNames: ['method', 'status_code'], registers: [theirs] }),
      new BoundCounter('x_total', 'X', ['method', 'status_code'], ours),
    ] as const,
    gauges: [
      new Gauge({ name: 'x_in_flight', help: 'X', registers: [theirs] }),
      new PlainGauge('x_in_flight', 'X', ours),
    ] as const,
    histograms: [
      new Histogram({ name: 'x_seconds', help: 'X "time"', labelNames: ['operation'], buckets, registers: [theirs] }),
      new BoundHistogram('x_seconds', 'X "time"', ['operation'], buckets, ours),
    ] as const,
  };
}

describe('bound metric families', () => {
  it('print what prom-client prints for the same updates, series in order of first update', async () => {
    const { theirs, ours, counters, gauges, histograms } = pair();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    for (const g of gauges) {
      g.inc();
      g.inc();
      g.dec();
    }
    const [counter, bound] = counters;
    const [histogram, boundHistogram] = histograms;
    // Bound but never updated: shown by neither.
    bound.labels('PUT', '500');
    counter.labels('PUT', '500');
    for (const [method, status] of [['GET', '200'], ['PUT', '200'], ['GET', '200'], ['GET', '404']] as const) {
      counter.labels(method, status).inc();
      bound.labels(method, status).inc();
    }
    const a = boundHistogram.labels('GetObject');
    const b = boundHistogram.labels('PutObject');
    for (const [op, v] of [['PutObject', 0.7], ['GetObject', 0], ['GetObject', 0.5], ['GetObject', 0.50001], ['GetObject', 11], ['PutObject', 10]] as const) {
      histogram.labels(op).observe(v);
      (op === 'GetObject' ? a : b).observe(v);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('x_seconds_bucket{le="0.5",operation="GetObject"} 2');
    expect(text).toContain('x_total{method="GET",status_code="200"} 2');
    expect(text).not.toContain('status_code="500"');
    expect(text).toContain('x_in_flight 1');
    // The JSON form too, but for prom-client's exemplar slots (none here: exemplars are off).
    const withoutExemplars = (families: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      families.map((f) => ({ ...f, values: f.values.map(({ labels, value, ...rest }) => ({ labels, value, metricName: (rest as { metricName?: string }).metricName })) }));
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  it('start again from nothing after a registry reset, through the series already bound', async () => {
    const { theirs, ours, counters, histograms } = pair();
    const series = counters[1].labels('GET', '200');
    const timing = histograms[1].labels('GetObject');
    series.inc();
    timing.observe(2);
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    series.inc();
    timing.observe(0.25);
    counters[0].labels('GET', '200').inc();
    histograms[0].labels('GetObject').observe(0.25);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('refuse a value that is not a number, as prom-client does', () => {
    const { histograms } = pair();
    expect(() => histograms[1].labels('GetObject').observe(Number.NaN)).toThrow(TypeError);
    expect(() => histograms[1].labels()).toThrow(/takes 1 label values/);
  });
});

import type { Metric, Registry } from 'prom-client';

/**
 * Counter and histogram families for the per-request series. prom-client validates and hashes
 * the label set on every `inc`/`observe`, even through a child from `labels()`: six such calls
 * per S3 request showed in the profile of the small GET (their CPU and their garbage). Here a
 * series is looked up once per label set and then updated in place. The families register in
 * the same prom-client registry and print what prom-client's Counter and Histogram print for the
 * same updates (test/unit/telemetry/bound-metrics.test.ts compares them); a series appears
 * once it was first updated, as in prom-client.
 */

type Labels = Record<string, string | number>;

/** One line's worth, in the shape prom-client's own metrics hand to the registry. */
interface ExposedValue {
  labels: Labels;
  value: number;
  metricName?: string;
  sharedLabels?: Labels;
}

interface Exposed {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  values: ExposedValue[];
}

abstract class BoundFamily<S> {
  readonly aggregator = 'sum' as const;
  /** Every series bound, by its label values joined with NUL (a label value cannot hold one unnoticed: it would only merge two series). */
  protected readonly bound = new Map<string, S>();
  /** The series updated at least once, in the order of their first update (prom-client's order). */
  protected readonly shown: S[] = [];

  constructor(readonly name: string, readonly help: string, protected readonly labelNames: readonly string[], registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  protected labelsOf(values: readonly string[]): Labels {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name} takes ${this.labelNames.length} label values`);
    const labels: Labels = {};
    this.labelNames.forEach((n, i) => {
      labels[n] = values[i] as string;
    });
    return labels;
  }

  protected series(values: readonly string[], make: (labels: Labels, show: (s: S) => void) => S): S {
    const id = values.join('\0');
    let s = this.bound.get(id);
    if (s === undefined) this.bound.set(id, (s = make(this.labelsOf(values), (shown) => this.shown.push(shown))));
    return s;
  }

  abstract reset(): void;
}

export class CounterSeries {
  value = 0;
  #shown = false;

  constructor(readonly labels: Labels, private readonly show: (s: CounterSeries) => void) {}

  inc(by = 1): void {
    if (!this.#shown) {
      this.#shown = true;
      this.show(this);
    }
    this.value += by;
  }

  /** @internal after a registry reset */
  clear(): void {
    this.value = 0;
    this.#shown = false;
  }
}

export class BoundCounter extends BoundFamily<CounterSeries> {
  readonly type = 'counter' as const;

  /** The series of these label values (in `labelNames` order); keep it and `inc` it. */
  labels(...values: string[]): CounterSeries {
    return this.series(values, (labels, show) => new CounterSeries(labels, show));
  }

  async get(): Promise<Exposed> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator,
      values: this.shown.map((s) => ({ labels: { ...s.labels }, value: s.value })) };
  }

  reset(): void {
    for (const s of this.shown) s.clear();
    this.shown.length = 0;
  }
}

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly labels: Labels, private readonly bounds: readonly number[], private readonly show: (s: HistogramSeries) => void) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    if (this.count === 0) this.show(this);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count += 1;
  }

  /** @internal after a registry reset */
  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

export class BoundHistogram extends BoundFamily<HistogramSeries> {
  readonly type = 'histogram' as const;

  constructor(name: string, help: string, labelNames: readonly string[], private readonly buckets: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
  }

  /** The series of these label values (in `labelNames` order); keep it and `observe` into it. */
  labels(...values: string[]): HistogramSeries {
    return this.series(values, (labels, show) => new HistogramSeries(labels, this.buckets, show));
  }

  /** As prom-client's histogram gives it to the registry: `le` in `labels`, the series' labels shared. */
  async getForPromString(): Promise<Exposed> {
    const values: ExposedValue[] = [];
    const line = (suffix: string, labels: Labels, value: number, shared: Labels) =>
      values.push({ metricName: `${this.name}_${suffix}`, labels, value, sharedLabels: shared });
    for (const s of this.shown) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i] as number;
        line('bucket', { le }, cumulative, s.labels);
      });
      line('bucket', { le: '+Inf' }, s.count, s.labels);
      line('sum', {}, s.sum, s.labels);
      line('count', {}, s.count, s.labels);
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** As prom-client's `get()`: each value's labels with the series' labels merged in. */
  async get(): Promise<Exposed> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return data;
  }

  reset(): void {
    for (const s of this.shown) s.clear();
    this.shown.length = 0;
  }
}

/** A gauge without labels moved by `inc`/`dec` (prom-client's Gauge hashes its empty label set on each). */
export class PlainGauge {
  readonly type = 'gauge' as const;
  readonly aggregator = 'sum' as const;
  value = 0;

  constructor(readonly name: string, readonly help: string, registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  inc(): void {
    this.value += 1;
  }

  dec(): void {
    this.value -= 1;
  }

  async get(): Promise<Exposed> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [{ labels: {}, value: this.value }] };
  }

  reset(): void {
    this.value = 0;
  }
}

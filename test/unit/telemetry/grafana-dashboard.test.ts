import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../infra/telemetry/metrics.js';

interface Panel { type: string; title: string; targets?: { expr: string }[]; panels?: Panel[] }

const dashboard = JSON.parse(readFileSync(new URL('../../../ops/grafana/s3-orchestrator.json', import.meta.url), 'utf8')) as { panels: Panel[] };

function queries(panels: readonly Panel[]): { title: string; expr: string }[] {
  return panels.flatMap((p) => [...(p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })), ...queries(p.panels ?? [])]);
}

describe('the Grafana dashboard (ops/grafana/s3-orchestrator.json)', () => {
  const exported = new Set(createMetrics('test').registry.getMetricsAsArray().map((m) => m.name));
  const all = queries(dashboard.panels);
  /** The family a queried series belongs to (a histogram's `_bucket`/`_sum`/`_count` series to the histogram). */
  const familyOf = (series: string) => (exported.has(series) ? series : series.replace(/_(bucket|sum|count)$/, ''));

  it('queries only metrics this project exports', () => {
    expect(all.length).toBeGreaterThan(30);
    const missing = all.flatMap(({ title, expr }) => [...expr.matchAll(/\bs3o_\w+/g)]
      .map((m) => m[0])
      .filter((name) => !exported.has(familyOf(name)))
      .map((name) => `${title}: ${name}`));
    expect(missing).toEqual([]);
  });

  it('covers every s3o_ family but the process defaults', () => {
    const queried = new Set(all.flatMap(({ expr }) => [...expr.matchAll(/\bs3o_\w+/g)].map((m) => familyOf(m[0]))));
    const uncovered = [...exported].filter((name) => !name.startsWith('s3o_process_') && !queried.has(name));
    expect(uncovered).toEqual([]);
  });
});

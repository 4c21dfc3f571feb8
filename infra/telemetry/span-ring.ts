import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Ring } from './ring.js';
import { REQUEST_ID_ATTRIBUTE } from './spans.js';

/** The latest finished spans, kept for the trace snapshot (a span processor beside the exporter's). */
export class SpanRing implements SpanProcessor {
  readonly #spans: Ring<ReadableSpan>;

  constructor(capacity: number) {
    this.#spans = new Ring(capacity);
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    this.#spans.add(span);
  }

  /** The spans held of these requests, grouped by request id. */
  byRequest(requestIds: ReadonlySet<string>): Map<string, ReadableSpan[]> {
    const out = new Map<string, ReadableSpan[]>();
    for (const span of this.#spans.items()) {
      const id = span.attributes[REQUEST_ID_ATTRIBUTE];
      if (typeof id !== 'string' || !requestIds.has(id)) continue;
      const list = out.get(id);
      if (list) list.push(span);
      else out.set(id, [span]);
    }
    return out;
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}

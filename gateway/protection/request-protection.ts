import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError } from '../../domain/errors.js';
import type { Metrics } from '../../infra/telemetry/metrics.js';
import type { Config } from '../../domain/config/config.js';
import { AdmissionControl, type Admission } from './admission.js';
import { RateLimiter } from './rate-limiter.js';

export type Refusal = DomainError | undefined;

/** Refusals by load shedding: the same 503 SlowDown to the client, told apart in the audit log (`s3.LoadShed`). */
const shedRefusals = new WeakSet<DomainError>();

export function wasShed(refusal: DomainError): boolean {
  return shedRefusals.has(refusal);
}

/**
 * Marks a request already let through: an `Expect: 100-continue` upload is checked before its
 * body, not again after. A property on the request, not a WeakSet entry per request (a WeakSet
 * costs the garbage collector an ephemeron each).
 */
const passed = Symbol('s3o.protection.passed');
type MarkedRequest = IncomingMessage & { [passed]?: true };

/** A signal that aborts when the response closes: the client is gone, its wait is over. */
function closedSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  return controller.signal;
}

/**
 * What stands in front of the APIs: S3 requests pass admission control (outermost) and then the
 * rate limit; admin requests the rate limit only; health and metrics neither. A refusal is
 * returned as the error to answer (429 or 503 SlowDown, both with Retry-After: 1).
 */
export class RequestProtection {

  constructor(
    private readonly admission: AdmissionControl,
    private readonly limiter: RateLimiter,
    private readonly metrics: Pick<Metrics, 'rateLimitRejections' | 'admissionRejections' | 'loadShed'>,
  ) {}

  /**
   * Admits an S3 request; an admitted request holds its slot until `res` closes (the response is
   * sent, streamed bodies included, or the connection is gone). Synchronous unless it must wait.
   */
  s3(req: IncomingMessage, res: ServerResponse): Refusal | Promise<Refusal> {
    const marked = req as MarkedRequest;
    if (marked[passed] === true) return undefined;
    marked[passed] = true;
    const admission = this.admission.admit(req.method ?? 'GET', bucketOf(req.url ?? '/'), () => closedSignal(res));
    return admission instanceof Promise ? admission.then((a) => this.admitted(a, req, res)) : this.admitted(admission, req, res);
  }

  admin(req: IncomingMessage): Refusal {
    return this.rateLimit(req);
  }

  start(): void {
    this.limiter.start();
  }

  stop(): void {
    this.limiter.stop();
  }

  private admitted(admission: Admission, req: IncomingMessage, res: ServerResponse): Refusal {
    if (!admission.admitted) {
      (admission.reason === 'shed' ? this.metrics.loadShed : this.metrics.admissionRejections).inc();
      const refusal = new DomainError('SlowDown', 'Server at capacity');
      if (admission.reason === 'shed') shedRefusals.add(refusal);
      return refusal;
    }
    // A slot granted after a wait may arrive once the client has gone.
    if (res.closed) admission.release();
    // 'close' is emitted once: `on` spares the wrapper `once` makes.
    else res.on('close', admission.release);
    return this.rateLimit(req);
  }

  private rateLimit(req: IncomingMessage): Refusal {
    const forwarded = req.headers['x-forwarded-for'];
    if (this.limiter.allow(req.socket.remoteAddress, Array.isArray(forwarded) ? forwarded.join(',') : forwarded)) return undefined;
    this.metrics.rateLimitRejections.inc();
    return new DomainError('RateLimitExceeded');
  }
}

/**
 * The bucket a path-style request addresses, for the fair share of admission: its first path
 * segment as sent (bucket names need no escaping). Not yet authenticated — but a request that
 * claims another tenant's bucket is refused at authentication, before it reads a body.
 */
export function bucketOf(rawUrl: string): string {
  const path = rawUrl.startsWith('/') ? rawUrl.slice(1) : rawUrl;
  const stop = path.search(/[/?]/);
  return stop === -1 ? path : path.slice(0, stop);
}

/** The protection the configuration asks for; admission settings are read once (restart-only), the rate limit and bucket list live. */
export function createRequestProtection(config: () => Config, metrics: Metrics): RequestProtection {
  const server = config().server;
  // One list per configuration, so admission sees a change of buckets only on a reload.
  const bucketNames = new WeakMap<Config, readonly string[]>();
  const buckets = (): readonly string[] => {
    const current = config();
    let names = bucketNames.get(current);
    if (!names) bucketNames.set(current, (names = current.buckets.map((b) => b.name)));
    return names;
  };
  const admission = new AdmissionControl({
    maxConcurrent: server.max_concurrent_requests,
    maxReads: server.max_concurrent_reads,
    maxWrites: server.max_concurrent_writes,
    shedThreshold: server.load_shed_threshold,
    waitMs: server.admission_wait,
    buckets,
  });
  return new RequestProtection(admission, new RateLimiter(() => config().rate_limit), metrics);
}

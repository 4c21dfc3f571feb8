import { Counter, Gauge, type Registry } from 'prom-client';

/** Integrity verification: copies checked and found corrupt (by component), repairs, and how stale the checks are. */
export function integrityMetrics(registry: Registry) {
  const registers = [registry];
  return {
    integrityChecks: new Counter({ name: 's3o_integrity_checks_total', help: 'Copies checked against their recorded SHA-256', labelNames: ['component'], registers }),
    integrityErrors: new Counter({ name: 's3o_integrity_errors_total', help: 'Copies found corrupt (or missing)', labelNames: ['component'], registers }),
    integrityRepairs: new Counter({ name: 's3o_integrity_repairs_total', help: 'Corrupt copies replaced from a healthy copy', registers }),
    integrityOldestUnverified: new Gauge({
      name: 's3o_integrity_oldest_unverified_seconds', help: 'Seconds since the least recently checked copy was checked (or written, if never)', registers,
    }),
    integrityNeverVerified: new Gauge({ name: 's3o_integrity_never_verified_copies', help: 'Copies never read back and checked', registers }),
  };
}

import { z } from 'zod';
import { duration, fraction, integer, list, listenAddress, oneOf, optionalText, requiredText, section, size, text } from '../fields.js';
import type { LogLevel, ServerConfig } from '../../../domain/config/config.js';
import type { RoutingStrategy } from '../../../domain/placement/placement.js';

export const logLevels = ['debug', 'info', 'warn', 'error'] as const satisfies readonly LogLevel[];
export const placementStrategies = ['pack', 'spread'] as const satisfies readonly RoutingStrategy[];

/** Region names as S3-compatible services spell them (`us-east-1`, `eu-central-1`, `auto`, `garage`). */
const isRegionName = (value: string): boolean => /^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(value);
const regionProblem = 'must be a region name: lowercase letters and digits in parts joined by "-", e.g. eu-west-1';

export const routingStrategySchema: z.ZodType<RoutingStrategy> = oneOf(placementStrategies, 'pack');

const tlsSchema = z.strictObject({
  cert_file: optionalText(),
  key_file: optionalText(),
  min_version: oneOf(['1.2', '1.3'], '1.2'),
  client_ca_file: optionalText(),
}).superRefine((tls, ctx) => {
  if ((tls.cert_file === null) !== (tls.key_file === null)) {
    ctx.addIssue({ code: 'custom', path: [], message: 'requires both cert_file and key_file, or neither' });
  }
});

export const serverSchema: z.ZodType<ServerConfig> = z.strictObject({
  listen_addr: listenAddress(':9000').transform((value) => value ?? ':9000'),
  log_level: oneOf(logLevels, 'info'),
  max_object_size: size('5GiB', { positive: true }),
  small_body_buffer: size('8MiB'),
  write_failover_attempts: integer(2, { min: 0 }),
  region: text('us-east-1').refine(isRegionName, regionProblem),
  additional_regions: list(requiredText().refine(isRegionName, regionProblem)),
  max_concurrent_requests: integer(1000, { min: 1 }),
  max_concurrent_reads: integer(0, { min: 0 }),
  max_concurrent_writes: integer(0, { min: 0 }),
  load_shed_threshold: fraction(0, { min: 0, max: 1, maxExclusive: true }),
  admission_wait: duration(0),
  backend_timeout: duration('30s', { positive: true }),
  read_header_timeout: duration('10s', { positive: true }),
  read_timeout: duration('5m', { positive: true }),
  write_timeout: duration('5m', { positive: true }),
  idle_timeout: duration('120s', { positive: true }),
  shutdown_delay: duration(0),
  tls: section(tlsSchema),
}).superRefine((server, ctx) => {
  if (server.read_header_timeout > server.read_timeout) {
    ctx.addIssue({ code: 'custom', path: ['read_header_timeout'], message: 'must not exceed server.read_timeout' });
  }
  if (server.backend_timeout > server.write_timeout) {
    ctx.addIssue({ code: 'custom', path: ['backend_timeout'], message: 'must not exceed server.write_timeout' });
  }
});

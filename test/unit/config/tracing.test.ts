import { describe, expect, test } from 'vitest';
import { otlpTracesUrl } from '../../../ops/config/schema/observability.js';
import { configOf, errorsOf, withSections } from './config-fixtures.js';

const tracing = (fields: Record<string, unknown>) => withSections({ telemetry: { tracing: fields } });

describe('telemetry.tracing', () => {
  test.each([
    [{ enabled: true, endpoint: 'collector:4318' }, 'https://collector:4318/v1/traces'],
    [{ enabled: true, endpoint: 'collector:4318', insecure: true }, 'http://collector:4318/v1/traces'],
    [{ enabled: true, endpoint: 'http://127.0.0.1:4318', insecure: true, sample_rate: 0.01 }, 'http://127.0.0.1:4318/v1/traces'],
    [{ enabled: true, endpoint: 'https://otel.example:443/custom/traces' }, 'https://otel.example/custom/traces'],
  ])('%j is accepted and exports to %s', (fields, url) => {
    const config = configOf(tracing(fields));
    expect(config.telemetry.tracing.enabled).toBe(true);
    expect(String(otlpTracesUrl(config.telemetry.tracing))).toBe(url);
  });

  test.each([
    [{ enabled: true }, 'telemetry.tracing.endpoint: is required when tracing is enabled'],
    [{ enabled: true, endpoint: 'http://collector:4318' }, 'telemetry.tracing.endpoint: http:// sends spans unencrypted: set telemetry.tracing.insecure: true'],
    [{ enabled: true, endpoint: 'https://collector:4318', insecure: true }, 'telemetry.tracing.endpoint: insecure: true means plain http'],
    [{ enabled: true, endpoint: 'grpc://collector:4317' }, 'telemetry.tracing.endpoint: must be host:port or an http:// or https:// URL'],
    [{ enabled: true, endpoint: 'https://user:pw@collector:4318' }, 'telemetry.tracing.endpoint: must not carry a query or credentials'],
    [{ enabled: false, endpoint: 'http://collector:4318' }, 'telemetry.tracing.endpoint: http:// sends spans unencrypted'],
    [{ enabled: true, endpoint: 'collector:4318', sample_rate: 1.5 }, 'telemetry.tracing.sample_rate'],
    [{ enabled: true, endpoint: 'collector:4318', sampling: 1 }, 'telemetry.tracing.sampling'],
  ])('%j is refused: %s', (fields, message) => {
    const errors = errorsOf(tracing(fields));
    expect(errors.some((e) => e.startsWith(message)), errors.join('\n')).toBe(true);
  });

  test('off without an endpoint is the default', () => {
    expect(configOf(tracing({ enabled: false })).telemetry.tracing).toEqual({ enabled: false, endpoint: null, sample_rate: 1, insecure: false });
  });
});

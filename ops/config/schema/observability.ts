/** Telemetry, the dashboard/admin credentials and webhook notifications. */
import { z } from 'zod';
import { duration, flag, fraction, integer, list, listenAddress, optionalText, requiredText, section, text } from '../fields.js';
import type { NotificationEndpointConfig, NotificationsConfig, TelemetryConfig, UiConfig } from '../../../domain/config/config.js';

type TracingConfig = TelemetryConfig['tracing'];

/**
 * The OTLP/HTTP traces URL for `telemetry.tracing`: `endpoint` is a receiver's base URL
 * (`http://collector:4318`, `/v1/traces` added when it has no path) or `host:port`, whose scheme
 * `insecure` chooses (true: plain http). A string naming the mistake when it is not usable.
 */
export function otlpTracesUrl(tracing: Pick<TracingConfig, 'endpoint' | 'insecure'>): URL | string {
  if (tracing.endpoint === null) return 'is required when tracing is enabled: the OTLP/HTTP receiver, e.g. collector:4318 (https) or http://collector:4318 with insecure: true';
  const written = tracing.endpoint;
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(written);
  let url: URL;
  try {
    url = new URL(hasScheme ? written : `${tracing.insecure ? 'http' : 'https'}://${written}`);
  } catch {
    return 'must be host:port or an http:// or https:// URL of an OTLP/HTTP receiver';
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '') return 'must be host:port or an http:// or https:// URL of an OTLP/HTTP receiver';
  if (url.search !== '' || url.username !== '' || url.password !== '') return 'must not carry a query or credentials';
  if (url.protocol === 'http:' && !tracing.insecure) return 'http:// sends spans unencrypted: set telemetry.tracing.insecure: true, or use https://';
  if (url.protocol === 'https:' && tracing.insecure) return 'insecure: true means plain http, but the endpoint is https://: use http:// or set insecure: false';
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
  return url;
}

const urlPath = (fallback: string): z.ZodType<string> => text(fallback).refine((value) => value.startsWith('/'), "must start with '/'");

export const telemetrySchema: z.ZodType<TelemetryConfig> = z.strictObject({
  metrics: section(z.strictObject({
    enabled: flag(false),
    path: urlPath('/metrics'),
    listen: listenAddress(null),
  })),
  tracing: section(z.strictObject({
    enabled: flag(false),
    endpoint: optionalText(),
    sample_rate: fraction(1, { min: 0, max: 1 }),
    insecure: flag(false),
  }).superRefine((tracing, ctx) => {
    if (!tracing.enabled && tracing.endpoint === null) return;
    const url = otlpTracesUrl(tracing);
    if (typeof url === 'string') ctx.addIssue({ code: 'custom', path: ['endpoint'], message: url });
  })),
});

export const uiSchema: z.ZodType<UiConfig> = z.strictObject({
  enabled: flag(false),
  path: urlPath('/ui'),
  admin_key: optionalText(),
  admin_secret: optionalText(),
  session_secret: optionalText(),
  admin_token: optionalText(),
  force_secure_cookies: flag(false),
});

const endpointSchema: z.ZodType<NotificationEndpointConfig> = z.strictObject({
  url: requiredText(),
  events: list(requiredText()).refine((events) => events.length > 0, 'at least one event pattern is required'),
  prefix: optionalText(),
  secret: optionalText(),
  timeout: duration('5s', { positive: true }),
  max_retries: integer(3, { min: 0 }),
});

export const notificationsSchema: z.ZodType<NotificationsConfig> = z.strictObject({
  endpoints: list(endpointSchema),
});

/** Telemetry, the dashboard/admin credentials and webhook notifications. */
import { z } from 'zod';
import { duration, flag, fraction, integer, list, listenAddress, optionalText, requiredText, section, text } from '../fields.js';
import type { NotificationEndpointConfig, NotificationsConfig, TelemetryConfig, UiConfig } from '../../../domain/config/config.js';

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

/** A copy of a config that is safe to log or print: every secret is replaced. */
import type { Config } from '../../domain/config/config.js';
import { configSecretKeys } from '../../domain/config/secret-keys.js';

export const redacted = '[redacted]';

function redactValue(value: unknown, secret: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secret));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, redactValue(inner, configSecretKeys.has(key))]));
  }
  return secret && value !== null ? redacted : value;
}

export function redactConfig(config: Config): Config {
  return redactValue(config, false) as Config;
}

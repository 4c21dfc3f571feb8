/** A copy of a config that is safe to log or print: every secret is replaced. */
import type { Config } from '../../domain/config/config.js';

export const redacted = '[redacted]';

/** Keys whose values are secrets wherever they appear in the config. */
const secretKeys = new Set([
  'secret_access_key', 'token', 'password', 'secret', 'master_key', 'previous_keys',
  'admin_key', 'admin_secret', 'admin_token', 'session_secret',
]);

function redactValue(value: unknown, secret: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secret));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, redactValue(inner, secretKeys.has(key))]));
  }
  return secret && value !== null ? redacted : value;
}

export function redactConfig(config: Config): Config {
  return redactValue(config, false) as Config;
}

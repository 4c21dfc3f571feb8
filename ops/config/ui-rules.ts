/**
 * The web dashboard's settings: with `ui.enabled` it needs its login and a session secret long
 * enough to sign cookies with, and its path must be one the S3 API and the other endpoints do
 * not already answer. Messages never quote a secret.
 */
import type { Config } from '../../domain/config/config.js';
import { issue, type ConfigIssue } from './issues.js';

/** 32 characters: a session secret shorter than that can be guessed offline from one cookie. */
export const minSessionSecretLength = 32;

const pathForm = /^(\/[A-Za-z0-9._~-]+)+$/;

export function uiRules({ sections: { ui, buckets, telemetry }, errors }: { sections: Partial<Config>; errors: ConfigIssue[] }): void {
  if (!ui || !ui.enabled) return;
  if (!ui.admin_key) errors.push(issue('ui.admin_key', 'is required when ui.enabled is true (the dashboard login name)'));
  if (!ui.admin_secret) errors.push(issue('ui.admin_secret', 'is required when ui.enabled is true (the dashboard login password)'));
  if (!ui.session_secret) {
    errors.push(issue('ui.session_secret', `is required when ui.enabled is true: at least ${minSessionSecretLength} random characters (e.g. the output of "openssl rand -hex 32")`));
  } else if (ui.session_secret.length < minSessionSecretLength) {
    errors.push(issue('ui.session_secret', `is too short: at least ${minSessionSecretLength} characters are needed to sign sessions (e.g. the output of "openssl rand -hex 32")`));
  } else if (ui.session_secret === ui.admin_secret || ui.session_secret === ui.admin_key) {
    errors.push(issue('ui.session_secret', 'must differ from ui.admin_key and ui.admin_secret'));
  }
  if (!pathForm.test(ui.path)) {
    errors.push(issue('ui.path', 'must be a path like /ui: starts with "/", no trailing "/", letters, digits and . _ ~ - only'));
    return;
  }
  const first = ui.path.split('/')[1] ?? '';
  if (['admin', 'health', 'metrics'].includes(first) || (telemetry && telemetry.metrics.path.split('/')[1] === first)) {
    errors.push(issue('ui.path', `/${first} is already served by the orchestrator (admin API, health or metrics); choose another path`));
  }
  if (buckets?.some((b) => b.name === first)) {
    errors.push(issue('ui.path', `/${first} is the path of the bucket "${first}" (path-style S3 requests); choose another path`));
  }
}

/** Keys whose values are secrets wherever they appear in the configuration (redacted when it is printed or a log is shown). */
export const configSecretKeys: ReadonlySet<string> = new Set([
  'secret_access_key', 'token', 'password', 'secret', 'master_key', 'previous_keys',
  'admin_key', 'admin_secret', 'admin_token', 'session_secret',
]);

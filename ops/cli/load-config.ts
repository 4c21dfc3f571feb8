import type { Config } from '../../domain/config/config.js';
import { loadConfig, parseConfigText } from '../config/loader.js';
import { demoAdminToken, demoDataDir, demoListenAddr } from '../demo/demo-settings.js';
import { defaultPostgresDataDir } from '../demo/demo-data-dir.js';

/**
 * The configuration a CLI command works with: the file given with --config, or the demo's
 * (embedded PostgreSQL under ./data, admin token of the demo) when none is given.
 */
export async function configForCommand(path: string | undefined): Promise<Config> {
  if (path) {
    const loaded = await loadConfig(path);
    if (!loaded.ok) throw new Error(`${path} is not valid:\n  ${loaded.errors.join('\n  ')}`);
    return loaded.config;
  }
  const dataDir = demoDataDir();
  const parsed = parseConfigText(
    [
      'server:',
      `  listen_addr: "${demoListenAddr()}"`,
      'database:',
      '  driver: embedded',
      `  path: "${await defaultPostgresDataDir(dataDir)}"`,
      'ui:',
      `  admin_token: ${demoAdminToken}`,
      'buckets:',
      '  - name: demo',
      '    credentials: [{ access_key_id: x, secret_access_key: y }]',
      'backends:',
      '  - { name: local1, endpoint: "http://127.0.0.1:9101", bucket: data, access_key_id: S3RVER, secret_access_key: S3RVER }',
    ].join('\n'),
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.config;
}

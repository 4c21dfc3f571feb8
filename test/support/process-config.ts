import type { TestDatabase } from './db.js';
import type { S3rverInstance } from './s3rver.js';

/** A config file for an orchestrator process on a test database and s3rver backends; bucket `alpha` (ALPHAKEY / alpha-secret). */
export function processYaml(o: { port: number; db: TestDatabase; s3rvers: S3rverInstance[]; extra?: string; logLevel?: string }): string {
  const url = new URL(o.db.url);
  return [
    'server:',
    `  listen_addr: "127.0.0.1:${o.port}"`,
    `  log_level: ${o.logLevel ?? 'info'}`,
    'database:',
    '  driver: postgres',
    `  host: ${url.hostname}`,
    `  port: ${url.port || 5432}`,
    `  database: ${o.db.name}`,
    `  user: ${decodeURIComponent(url.username) || 'postgres'}`,
    '  ssl_mode: disable',
    'buckets:',
    '  - name: alpha',
    '    credentials:',
    '      - access_key_id: ALPHAKEY',
    '        secret_access_key: alpha-secret',
    'backends:',
    ...o.s3rvers.map((s, i) => [
      `  - name: b${i + 1}`,
      `    endpoint: "${s.endpoint}"`,
      `    bucket: ${s.bucket}`,
      '    access_key_id: S3RVER',
      '    secret_access_key: S3RVER',
      '    force_path_style: true',
      '    quota_bytes: 100000000',
    ].join('\n')),
    o.extra ?? '',
  ].join('\n');
}

/** A small valid config as a plain object, and helpers to parse variations of it. */
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../../../ops/config/index.js';
import type { Config } from '../../../ops/config/index.js';

export const secrets = {
  bucketSecret: 'photos-SECRET-6f1e',
  bucketToken: 'TOKEN-legacy-91ab',
  backendSecret: 'backend-SECRET-2c7d',
  dbPassword: 'db-PASSWORD-44aa',
  adminSecret: 'admin-SECRET-0b0b',
  adminKey: 'admin-KEY-5e5e',
  adminToken: 'admin-TOKEN-7c7c',
  sessionSecret: 'session-SECRET-3d3d',
} as const;

export function baseConfig(): Record<string, unknown> {
  return {
    buckets: [
      {
        name: 'photos',
        credentials: [{ access_key_id: 'AKPHOTOS', secret_access_key: secrets.bucketSecret }, { token: secrets.bucketToken }],
      },
    ],
    backends: [
      { name: 'b1', endpoint: 'http://127.0.0.1:9001', bucket: 'one', access_key_id: 'b1-key', secret_access_key: secrets.backendSecret, quota_bytes: '1GiB' },
      { name: 'b2', endpoint: 'http://127.0.0.1:9002', bucket: 'two', access_key_id: 'b2-key', secret_access_key: secrets.backendSecret, quota_bytes: '2GiB' },
    ],
  };
}

/** The base config with top-level sections replaced. */
export function withSections(sections: Record<string, unknown>): Record<string, unknown> {
  return { ...baseConfig(), ...sections };
}

export function parseObject(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  return parseConfigText(stringify(config), env);
}

export function configOf(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Config {
  const result = parseObject(config, env);
  if (!result.ok) expect.fail(`expected a valid config, got:\n${result.errors.join('\n')}`);
  return result.config;
}

export function errorsOfText(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  const result = parseConfigText(text, env);
  if (result.ok) expect.fail('expected the config to be rejected');
  return result.errors;
}

export function errorsOf(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string[] {
  return errorsOfText(stringify(config), env);
}

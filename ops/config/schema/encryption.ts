/**
 * The `encryption` section (the Go project's keys): at most one key source — exactly one when
 * enabled — of `master_key` (base64 of 32 bytes), `master_key_file` (32 raw bytes, mode 0600 or
 * stricter: checked when the keys are loaded) and `vault`; `previous_keys` (base64, read-only
 * keys for data wrapped before a rotation); `chunk_size` a power of two from 4 KiB to 1 MiB.
 * Restart-only, like the original. Messages name fields and never quote a key or token.
 */
import { z } from 'zod';
import { CONFIG_MAX_CHUNK_SIZE, CONFIG_MIN_CHUNK_SIZE, DEFAULT_CHUNK_SIZE, isConfigChunkSize } from '../../../domain/encryption/layout.js';
import { decodeMasterKey } from '../../../infra/crypto/keys/local-master-key.js';
import { duration, flag, list, optionalText, requiredText, size, text } from '../fields.js';
import type { EncryptionConfig, VaultConfig } from '../../../domain/config/config.js';

function checkMasterKey(value: string | null, ctx: z.RefinementCtx): void {
  if (value === null) return;
  const decoded = decodeMasterKey(value);
  if ('problem' in decoded) ctx.addIssue({ code: 'custom', message: decoded.problem });
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const vaultSchema: z.ZodType<VaultConfig> = z.strictObject({
  address: optionalText(),
  token: optionalText(),
  token_file: optionalText(),
  key_name: optionalText(),
  mount_path: text('transit'),
  ca_cert: optionalText(),
  renew_interval: duration('5m', { positive: true }),
}).superRefine((vault, ctx) => {
  if (vault.address === null) ctx.addIssue({ code: 'custom', path: ['address'], message: 'is required (e.g. https://vault:8200)' });
  else if (!isHttpUrl(vault.address)) ctx.addIssue({ code: 'custom', path: ['address'], message: 'must be an http:// or https:// URL such as https://vault:8200' });
  if (vault.key_name === null) ctx.addIssue({ code: 'custom', path: ['key_name'], message: 'is required: the name of the Transit key' });
  if (vault.token === null && vault.token_file === null) ctx.addIssue({ code: 'custom', path: [], message: 'set token or token_file' });
  if (vault.token !== null && vault.token_file !== null) ctx.addIssue({ code: 'custom', path: [], message: 'set token or token_file, not both' });
});

const chunkSize = size(DEFAULT_CHUNK_SIZE, { positive: true }).refine(isConfigChunkSize, {
  message: `must be a power of two from 4KiB (${CONFIG_MIN_CHUNK_SIZE}) to 1MiB (${CONFIG_MAX_CHUNK_SIZE}), e.g. 64KiB`,
});

export const encryptionSchema: z.ZodType<EncryptionConfig> = z.strictObject({
  enabled: flag(false),
  chunk_size: chunkSize,
  master_key: optionalText().superRefine(checkMasterKey),
  master_key_file: optionalText(),
  vault: vaultSchema.optional().transform((vault) => vault ?? null),
  previous_keys: list(requiredText().superRefine(checkMasterKey)),
}).superRefine((encryption, ctx) => {
  const sources = (['master_key', 'master_key_file', 'vault'] as const).filter((key) => encryption[key] !== null);
  if (sources.length > 1) {
    ctx.addIssue({ code: 'custom', path: [], message: `set exactly one key source: master_key, master_key_file or vault (found ${sources.join(' and ')})` });
  }
  if (encryption.enabled && sources.length === 0) {
    ctx.addIssue({ code: 'custom', path: [], message: 'enabled: true needs a key source: master_key, master_key_file or vault' });
  }
  // The same key twice would be two names for one key id; rotation could not tell them apart.
  const seen = new Map<string, string>();
  const inline: [string, string | null][] = [['master_key', encryption.master_key], ...encryption.previous_keys.map((key, i): [string, string] => [`previous_keys[${i}]`, key])];
  inline.forEach(([path, value], index) => {
    const decoded = value === null ? undefined : decodeMasterKey(value);
    if (!decoded || !('key' in decoded)) return;
    const material = decoded.key.toString('hex');
    const first = seen.get(material);
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path: index === 0 ? ['master_key'] : ['previous_keys', index - 1], message: `is the same key as encryption.${first}; remove one of them` });
    } else {
      seen.set(material, path);
    }
  });
});

/**
 * Encryption at rest from the `encryption` section, once at startup (restart-only, as in the
 * original: a reload that changes the section warns and keeps the keys running). The keyring
 * is built whenever a key source is configured, so encrypted objects stay readable with
 * `enabled: false` (the manual's decrypt-existing runs before encryption is switched off).
 */
import type { EncryptionConfig } from '../domain/config/config.js';
import { createKeyring, KeySourceError } from '../infra/crypto/index.js';
import type { EncryptionMetrics } from '../infra/telemetry/encryption-metrics.js';
import type { Logger } from '../infra/telemetry/logger.js';
import { ObjectEncryption } from '../services/encryption/object-encryption.js';

export async function openEncryption(section: EncryptionConfig, metrics: EncryptionMetrics, logger: Logger): Promise<ObjectEncryption | undefined> {
  const hasKey = section.master_key !== null || section.master_key_file !== null || section.vault !== null;
  if (!hasKey) return undefined;
  let keyring;
  try {
    keyring = await createKeyring(section);
  } catch (err) {
    if (err instanceof KeySourceError) throw new Error(`encryption: ${err.message}`);
    throw err;
  }
  const keys = keyring.describe().map((k) => ({ keyId: k.keyId, aliases: k.aliases, primary: k.primary }));
  logger.info({ enabled: section.enabled, chunkSize: section.chunk_size, keys }, section.enabled ? 'encryption at rest on: new objects are encrypted' : 'encryption keys loaded; new objects are not encrypted (encryption.enabled is false)');
  return new ObjectEncryption(keyring, { encryptWrites: section.enabled, chunkSize: section.chunk_size }, metrics);
}

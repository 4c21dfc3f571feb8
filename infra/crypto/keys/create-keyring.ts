/**
 * Builds the keyring from the `encryption` section: exactly one primary source (`master_key`,
 * `master_key_file` or `vault`) plus `previous_keys`. Files are read and checked here (the config
 * validation only checks what the text says); Vault is not called until a key is used.
 */
import { KeySourceError } from '../errors.js';
import { DEFAULT_UNWRAP_CACHE, Keyring, type UnwrapCacheOptions } from './keyring.js';
import { decodeMasterKey, LocalMasterKey } from './local-master-key.js';
import { KEY_BYTES, type MasterKey } from './master-key.js';
import { readPrivateFile } from './private-file.js';
import { VaultTransitKey, type VaultKeyOptions, type VaultSettings } from './vault-transit-key.js';

/** The key fields of the `encryption` config section (the parsed config satisfies it). */
export interface EncryptionKeySettings {
  readonly master_key: string | null;
  readonly master_key_file: string | null;
  readonly vault: VaultSettings | null;
  readonly previous_keys: readonly string[];
}

function inlineKey(text: string, field: string, alias: string): LocalMasterKey {
  const decoded = decodeMasterKey(text);
  if ('problem' in decoded) throw new KeySourceError(field, decoded.problem);
  return new LocalMasterKey(decoded.key, [alias], field);
}

async function fileKey(path: string): Promise<LocalMasterKey> {
  const field = 'encryption.master_key_file';
  const material = await readPrivateFile(path, field, KEY_BYTES);
  if (material.length !== KEY_BYTES) {
    throw new KeySourceError(field, `${path} must hold exactly 32 raw bytes, it holds ${material.length} (create one with: head -c 32 /dev/urandom > ${path} && chmod 600 ${path})`);
  }
  return new LocalMasterKey(material, ['file-0'], field);
}

async function primaryKey(settings: EncryptionKeySettings, options: VaultKeyOptions): Promise<MasterKey> {
  const sources = [
    settings.master_key !== null ? 'master_key' : undefined,
    settings.master_key_file !== null ? 'master_key_file' : undefined,
    settings.vault !== null ? 'vault' : undefined,
  ].filter((s) => s !== undefined);
  if (sources.length !== 1) {
    throw new KeySourceError('encryption', `set exactly one of master_key, master_key_file and vault${sources.length > 1 ? ` (found ${sources.join(' and ')})` : ''}`);
  }
  if (settings.master_key !== null) return inlineKey(settings.master_key, 'encryption.master_key', 'config-0');
  if (settings.master_key_file !== null) return fileKey(settings.master_key_file);
  return VaultTransitKey.open(settings.vault as VaultSettings, options);
}

export interface KeyringOptions extends VaultKeyOptions {
  readonly unwrapCache?: UnwrapCacheOptions;
}

export async function createKeyring(settings: EncryptionKeySettings, options: KeyringOptions = {}): Promise<Keyring> {
  const primary = await primaryKey(settings, options);
  try {
    const previous = settings.previous_keys.map((text, index) => inlineKey(text, `encryption.previous_keys[${index}]`, `config-${index + 1}`));
    return new Keyring(primary, previous, options.unwrapCache ?? DEFAULT_UNWRAP_CACHE);
  } catch (error) {
    await primary.close();
    throw error;
  }
}

/**
 * Encryption at rest (format v2): data keys, segment encryption, planned and self-describing
 * decryption, and the keyring. The layout arithmetic and read planning are in
 * domain/encryption; the envelope facts recorded in events are domain/encryption/envelope.ts.
 */
export { createDataKey, DataKey, openDataKey } from './data-key.js';
export { SegmentEncryptStream, SegmentSealer } from './segment-encryptor.js';
export { createRangeDecryptStream, decryptPlanned, RangeDecryptor, RangeDecryptStream } from './range-decryptor.js';
export { createStoredObjectDecryptStream, StoredObjectDecryptStream, type PlaintextObserver } from './stored-object-decryptor.js';
export { parseSegmentHeader, headerLengthOf, startsLikeSegment, HEADER_PREFIX_BYTES, type SegmentHeader } from './segment-header.js';
export {
  CiphertextIntegrityError, KeyServiceError, KeySourceError, KeyUnwrapError, NotEncryptedError, UnknownKeyAliasError, UnknownKeyIdError,
  type IntegrityProblem, type KeyServiceProblem,
} from './errors.js';
export { DEFAULT_UNWRAP_CACHE, Keyring, type KeyDescription, type UnwrapCacheOptions } from './keys/keyring.js';
export { decodeMasterKey, localKeyFingerprint } from './keys/local-master-key.js';
export { createKeyring, type EncryptionKeySettings, type KeyringOptions } from './keys/create-keyring.js';
export { vaultKeyFingerprint, type VaultKeyOptions, type VaultSettings } from './keys/vault-transit-key.js';
export { HeaderRewriteStream, headerLengthOfWrap } from './header-rewriter.js';

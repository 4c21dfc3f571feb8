import { Counter, type Registry } from 'prom-client';

/** The encryption families (the original's names); labels never carry keys, key ids or object names. */
export function createEncryptionMetrics(registry: Registry) {
  return {
    operations: new Counter({
      name: 's3o_encryption_operations_total', help: 'Objects (or parts) encrypted, decrypted and data keys re-wrapped',
      labelNames: ['operation'], registers: [registry],
    }),
    errors: new Counter({
      name: 's3o_encryption_errors_total', help: 'Stored ciphertext that failed authentication or was malformed (a bad copy)',
      labelNames: ['problem'], registers: [registry],
    }),
    encryptExisting: new Counter({
      name: 's3o_encrypt_existing_objects_total', help: 'Objects encrypt-existing jobs run here settled, by status (success, error, skipped)',
      labelNames: ['status'], registers: [registry],
    }),
    decryptExisting: new Counter({
      name: 's3o_decrypt_existing_objects_total', help: 'Objects decrypt-existing jobs run here settled, by status (success, error, skipped)',
      labelNames: ['status'], registers: [registry],
    }),
    keyRotation: new Counter({
      name: 's3o_key_rotation_objects_total', help: 'Data keys rotate-encryption-key jobs run here re-wrapped, by status (success, error, skipped)',
      labelNames: ['status'], registers: [registry],
    }),
    unknownKeyId: new Counter({
      name: 's3o_encryption_unknown_key_id_total', help: 'Reads of data keys wrapped by a master key that is not configured', registers: [registry],
    }),
  };
}

export type EncryptionMetrics = ReturnType<typeof createEncryptionMetrics>;

import { Counter, type Registry } from 'prom-client';

export type EncryptionOperation = 'encrypt' | 'decrypt' | 'rewrap';

/** The encryption families (the original's names); labels never carry keys, key ids or object names. */
export function createEncryptionMetrics(registry: Registry) {
  // Counted once per object on the data path: a plain tally, added to the counter whenever it is
  // read (a scrape), instead of a labelled inc per GET, whose label hashing showed in the encrypted GET's profile.
  const tally: Record<EncryptionOperation, number> = { encrypt: 0, decrypt: 0, rewrap: 0 };
  return {
    operations: new Counter({
      name: 's3o_encryption_operations_total', help: 'Objects (or parts) encrypted, decrypted and data keys re-wrapped',
      labelNames: ['operation'], registers: [registry],
      collect() {
        for (const operation of ['encrypt', 'decrypt', 'rewrap'] as const) {
          if (tally[operation] === 0) continue;
          this.inc({ operation }, tally[operation]);
          tally[operation] = 0;
        }
      },
    }),
    countOperation(operation: EncryptionOperation): void {
      tally[operation] += 1;
    },
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

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
    unknownKeyId: new Counter({
      name: 's3o_encryption_unknown_key_id_total', help: 'Reads of data keys wrapped by a master key that is not configured', registers: [registry],
    }),
  };
}

export type EncryptionMetrics = ReturnType<typeof createEncryptionMetrics>;

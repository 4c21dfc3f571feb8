/** `buckets`: the virtual buckets clients see, each with its own credentials. */
import { z } from 'zod';
import { integer, list, optionalText, requiredText } from '../fields.js';
import type { BucketConfig, CredentialConfig } from '../../../domain/config/config.js';

/** The S3 bucket naming rules, so every client SDK accepts the name. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.includes('/')) return "must not contain '/'";
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9.-]+$/.test(name)) return "may contain only lowercase letters, digits, '-' and '.'";
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'must begin and end with a lowercase letter or digit';
  if (name.includes('..')) return "must not contain '..'";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not be formatted as an IP address';
  return undefined;
}

export const credentialSchema: z.ZodType<CredentialConfig> = z.strictObject({
  access_key_id: optionalText(),
  secret_access_key: optionalText(),
  token: optionalText(),
}).superRefine((credential, ctx) => {
  const hasKeyId = credential.access_key_id !== null;
  const hasSecret = credential.secret_access_key !== null;
  if (!(hasKeyId && hasSecret) && credential.token === null) {
    ctx.addIssue({ code: 'custom', path: [], message: 'must have access_key_id+secret_access_key or token' });
  } else if (hasKeyId !== hasSecret) {
    ctx.addIssue({ code: 'custom', path: [hasKeyId ? 'secret_access_key' : 'access_key_id'], message: 'is required when the other half of the key pair is set' });
  }
});

export const bucketSchema: z.ZodType<BucketConfig> = z.strictObject({
  name: requiredText(),
  max_multipart_uploads: integer(100, { min: 0 }),
  credentials: list(credentialSchema),
}).superRefine((bucket, ctx) => {
  const problem = bucketNameProblem(bucket.name);
  if (problem) ctx.addIssue({ code: 'custom', path: ['name'], message: problem });
  if (bucket.credentials.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['credentials'], message: 'at least one credential is required' });
  }
});

export const bucketsSchema: z.ZodType<BucketConfig[]> = list(bucketSchema);

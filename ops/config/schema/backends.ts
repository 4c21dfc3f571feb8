/** `backends`: the real S3-compatible stores objects live on, in placement order. */
import { z } from 'zod';
import { flag, integer, list, oneOf, optionalText, requiredText, size, text } from '../fields.js';
import type { BackendConfig, CredentialSource } from '../../../domain/config/config.js';

export const credentialSources = ['static', 'default_chain'] as const satisfies readonly CredentialSource[];

/** Names appear in event stream ids, metric labels and admin URLs. */
const backendNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '';
  } catch {
    return false;
  }
}

const backendSchema = z.strictObject({
  name: optionalText(),
  endpoint: requiredText().refine(isHttpUrl, 'must be an http:// or https:// URL'),
  region: text('us-east-1'),
  bucket: requiredText(),
  credential_source: oneOf(credentialSources, 'static'),
  access_key_id: requiredText(),
  secret_access_key: requiredText(),
  force_path_style: flag(false),
  unsigned_payload: flag(true),
  quota_bytes: size(0),
  max_object_size: size(0),
  api_request_limit: integer(0, { min: 0 }),
  egress_byte_limit: size(0),
  ingress_byte_limit: size(0),
}).superRefine((backend, ctx) => {
  if (backend.name !== null && !backendNamePattern.test(backend.name)) {
    ctx.addIssue({ code: 'custom', path: ['name'], message: "must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit" });
  }
});

/** A backend without a name is called `backend-<index>`, as in the original. */
export const backendsSchema: z.ZodType<BackendConfig[]> = list(backendSchema).transform((backends) =>
  backends.map((backend, index): BackendConfig => ({ ...backend, name: backend.name ?? `backend-${index}` })));

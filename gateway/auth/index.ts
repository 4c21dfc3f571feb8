export { authenticate } from './authenticate.js';
export { SigningKeyCache, deriveSigningKey } from './signing-key-cache.js';
export { DEFAULT_SIGNING_SCOPE, type SigningScope } from './sigv4.js';
export type {
  AuthRequest, AuthResult, CredentialLookup, HeaderMap, PayloadMode, Principal, ProxyToken, SigV4Credential,
} from './types.js';

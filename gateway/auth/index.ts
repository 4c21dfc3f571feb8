export { authenticate } from './authenticate.js';
export { SigningKeyCache, deriveSigningKey } from './signing-key-cache.js';
export type {
  AuthRequest, AuthResult, CredentialLookup, HeaderMap, PayloadMode, Principal, ProxyToken, SigV4Credential,
} from './types.js';

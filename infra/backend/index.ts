export { BackendClient } from './backend-client.js';
export {
  BackendError, BackendHttpError, BackendNotFoundError, BackendUnavailableError, isBackendError,
  type UnavailableReason,
} from './errors.js';
export { encodeKeyPath, encodeRfc3986 } from './s3-encoding.js';
export type * from './types.js';

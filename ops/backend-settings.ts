import type { BackendDeclaration } from '../domain/backends/backend-decider.js';
import type { BackendSettings } from '../services/backends/backend-directory.js';
import type { BreakerSettings } from '../infra/resilience/circuit-breaker.js';
import type { BackendConfig, Config } from '../domain/config/config.js';

export function backendSettings(config: Config): BackendSettings[] {
  return config.backends.map((b) => ({
    name: b.name,
    connection: {
      name: b.name, endpoint: b.endpoint, region: b.region, bucket: b.bucket, accessKeyId: b.access_key_id,
      secretAccessKey: b.secret_access_key, forcePathStyle: b.force_path_style, timeoutMs: config.server.backend_timeout,
      unsignedPayload: b.unsigned_payload,
    },
    quotaBytes: b.quota_bytes,
    maxObjectSize: b.max_object_size,
    limits: usageLimits(b),
  }));
}

export function usageLimits(b: BackendConfig) {
  return { apiRequestLimit: b.api_request_limit, egressByteLimit: b.egress_byte_limit, ingressByteLimit: b.ingress_byte_limit };
}

export function backendDeclarations(config: Config): BackendDeclaration[] {
  return config.backends.map((b) => ({
    name: b.name, endpoint: b.endpoint, bucket: b.bucket, region: b.region,
    limits: { quotaBytes: b.quota_bytes, ...usageLimits(b) },
  }));
}

export function breakerSettings(config: Config): BreakerSettings {
  const c = config.backend_circuit_breaker;
  return { enabled: c.enabled, failureThreshold: c.failure_threshold, openTimeoutMs: c.open_timeout };
}

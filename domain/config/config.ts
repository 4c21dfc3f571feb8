import type { RoutingStrategy } from '../placement/placement.js';

/**
 * The validated, normalized configuration. Types only, in domain/ so that every layer may read
 * the settings it is handed; the schema and loader that produce it are in ops/config/.
 * Keys are the config file's own key names, so a path in an error, a reload diff or the docs is
 * the same string an operator writes.
 * Every default is applied; every duration (`Millis`) is in milliseconds and every size
 * (`Bytes`) in bytes; a setting that is not set is `null`. Loaded configs are frozen.
 */

/** A duration in milliseconds. */
export type Millis = number;
/** A size in bytes. */
export type Bytes = number;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface TlsConfig {
  readonly cert_file: string | null;
  readonly key_file: string | null;
  readonly min_version: '1.2' | '1.3';
  readonly client_ca_file: string | null;
}

export interface ServerConfig {
  readonly listen_addr: string;
  readonly log_level: LogLevel;
  readonly max_object_size: Bytes;
  /** PUT bodies up to this size are buffered so a failed backend write can be retried elsewhere. */
  readonly small_body_buffer: Bytes;
  /** Other backends a failed write is retried on (0 = none). */
  readonly write_failover_attempts: number;
  /** The region clients sign for, and the one GetBucketLocation names. */
  readonly region: string;
  /** Further regions a signature's credential scope may name. */
  readonly additional_regions: readonly string[];
  readonly max_concurrent_requests: number;
  /** 0 = use the global pool; split pools apply only when reads and writes are both > 0. */
  readonly max_concurrent_reads: number;
  readonly max_concurrent_writes: number;
  /** 0 = no load shedding; otherwise in (0, 1). */
  readonly load_shed_threshold: number;
  readonly admission_wait: Millis;
  readonly backend_timeout: Millis;
  readonly read_header_timeout: Millis;
  readonly read_timeout: Millis;
  readonly write_timeout: Millis;
  readonly idle_timeout: Millis;
  readonly shutdown_delay: Millis;
  readonly tls: TlsConfig;
}

interface PoolSettings {
  readonly max_conns: number;
  readonly min_conns: number;
  readonly max_conn_lifetime: Millis;
  /**
   * This orchestrator is the only process appending to the database: object lookups may be
   * answered from the committed states it keeps in memory. null (unset): true exactly when the
   * orchestrator runs its embedded database itself.
   */
  readonly single_writer: boolean | null;
}

/** PostgreSQL run by the orchestrator itself as a child process (zero setup). */
export interface EmbeddedDatabaseConfig extends PoolSettings {
  readonly driver: 'embedded';
  /** Data directory. */
  readonly path: string;
  /** null: the embedded engine chooses its port. */
  readonly port: number | null;
}

export interface PostgresDatabaseConfig extends PoolSettings {
  readonly driver: 'postgres';
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string | null;
  readonly ssl_mode: SslMode;
}

export type DatabaseConfig = EmbeddedDatabaseConfig | PostgresDatabaseConfig;

/** SigV4 (`access_key_id` + `secret_access_key`) and/or legacy `X-Proxy-Token` (`token`). */
export interface CredentialConfig {
  readonly access_key_id: string | null;
  readonly secret_access_key: string | null;
  readonly token: string | null;
}

export interface BucketConfig {
  readonly name: string;
  /** 0 = unlimited. */
  readonly max_multipart_uploads: number;
  readonly credentials: readonly CredentialConfig[];
}

export type CredentialSource = 'static' | 'default_chain';

export interface BackendConfig {
  /** The backend's identity (event streams, metrics, admin commands). */
  readonly name: string;
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  /** Only `static` is implemented; the keys below are always set. */
  readonly credential_source: CredentialSource;
  readonly access_key_id: string;
  readonly secret_access_key: string;
  readonly force_path_style: boolean;
  readonly unsigned_payload: boolean;
  /** 0 = unlimited. */
  readonly quota_bytes: Bytes;
  /** 0 = no per-backend cap (server.max_object_size still applies). */
  readonly max_object_size: Bytes;
  /** Monthly limits, 0 = unlimited. */
  readonly api_request_limit: number;
  readonly egress_byte_limit: Bytes;
  readonly ingress_byte_limit: Bytes;
}

export interface VaultConfig {
  readonly address: string | null;
  readonly token: string | null;
  readonly token_file: string | null;
  readonly key_name: string | null;
  readonly mount_path: string;
  readonly ca_cert: string | null;
  readonly renew_interval: Millis;
}

export interface EncryptionConfig {
  readonly enabled: boolean;
  readonly chunk_size: Bytes;
  readonly master_key: string | null;
  readonly master_key_file: string | null;
  readonly vault: VaultConfig | null;
  readonly previous_keys: readonly string[];
}

export interface CompressionConfig {
  readonly enabled: boolean;
  readonly level: 'fastest' | 'default' | 'better' | 'best';
  readonly chunk_size: Bytes;
  readonly min_size: Bytes;
  readonly min_ratio: number;
}

export interface IntegrityConfig {
  readonly enabled: boolean;
  readonly verify_on_read: boolean;
  /** Not implemented yet: always false (true is rejected). */
  readonly verify_on_replicate: boolean;
  /** 0 = no scrubber. */
  readonly scrubber_interval: Millis;
  readonly scrubber_batch_size: number;
}

export interface CacheConfig {
  readonly enabled: boolean;
  readonly max_size: Bytes;
  readonly max_object_size: Bytes;
  readonly ttl: Millis;
}

export interface RedisConfig {
  readonly address: string | null;
  readonly password: string | null;
  readonly db: number;
  readonly tls: boolean;
  readonly key_prefix: string;
  readonly failure_threshold: number;
  readonly open_timeout: Millis;
}

export interface RebalanceConfig {
  readonly enabled: boolean;
  readonly strategy: RoutingStrategy;
  readonly interval: Millis;
  readonly batch_size: number;
  /** Minimum spread between the fullest and emptiest backend's utilisation, in (0, 1]. */
  readonly threshold: number;
  readonly concurrency: number;
}

export interface ReplicationConfig {
  /** Copies each object should have; 1 = no replication. */
  readonly factor: number;
  /** Copies written synchronously by the PUT itself; 1 = off (the rest are made by the worker). */
  readonly write_copies: number;
  readonly worker_interval: Millis;
  readonly batch_size: number;
  readonly concurrency: number;
  /** A copy on a backend whose breaker has been open this long no longer counts. */
  readonly unhealthy_threshold: Millis;
}

export interface CleanupQueueConfig {
  readonly concurrency: number;
  readonly max_attempts: number;
  readonly multipart_stale_timeout: Millis;
  /** How long an orphan of a failed or aborted write waits before its delete (the backend may still store it). */
  readonly failed_write_grace: Millis;
}

export interface LifecycleRule {
  /** Restricts the rule to one virtual bucket; null = every bucket. */
  readonly bucket: string | null;
  /** Matches keys inside a bucket (never the internal `bucket/key` string). */
  readonly prefix: string;
  readonly expiration_days: number;
}

export interface LifecycleConfig {
  readonly interval: Millis;
  readonly batch_size: number;
  readonly rules: readonly LifecycleRule[];
}

export interface ReconcileConfig {
  readonly enabled: boolean;
  readonly interval: Millis;
}

export interface RateLimitConfig {
  readonly enabled: boolean;
  readonly requests_per_sec: number;
  readonly burst: number;
  readonly cleanup_interval: Millis;
  readonly cleanup_max_age: Millis;
  /** CIDRs whose X-Forwarded-For is trusted. */
  readonly trusted_proxies: readonly string[];
}

export interface CircuitBreakerConfig {
  readonly failure_threshold: number;
  readonly open_timeout: Millis;
  readonly cache_ttl: Millis;
  readonly parallel_broadcast: boolean;
  /** 0 = no cap. */
  readonly degraded_broadcast_parallelism: number;
}

export interface BackendCircuitBreakerConfig {
  readonly enabled: boolean;
  readonly failure_threshold: number;
  readonly open_timeout: Millis;
}

export interface UsageFlushConfig {
  readonly interval: Millis;
  readonly adaptive_enabled: boolean;
  readonly adaptive_threshold: number;
  readonly fast_interval: Millis;
}

export interface NotificationEndpointConfig {
  readonly url: string;
  readonly events: readonly string[];
  readonly prefix: string | null;
  readonly secret: string | null;
  readonly timeout: Millis;
  readonly max_retries: number;
}

export interface NotificationsConfig {
  readonly endpoints: readonly NotificationEndpointConfig[];
}

export interface TelemetryConfig {
  readonly metrics: {
    readonly enabled: boolean;
    readonly path: string;
    /** Separate listener (`host:port`); null = served on the main listener. */
    readonly listen: string | null;
  };
  readonly tracing: {
    readonly enabled: boolean;
    readonly endpoint: string | null;
    readonly sample_rate: number;
    readonly insecure: boolean;
  };
}

/** The web dashboard and the admin API credentials (the admin API is mounted when admin_key is set). */
export interface UiConfig {
  readonly enabled: boolean;
  readonly path: string;
  readonly admin_key: string | null;
  readonly admin_secret: string | null;
  readonly session_secret: string | null;
  /** Token for the admin API; falls back to admin_key. */
  readonly admin_token: string | null;
  readonly force_secure_cookies: boolean;
}

export interface Config {
  readonly server: ServerConfig;
  readonly database: DatabaseConfig;
  readonly buckets: readonly BucketConfig[];
  readonly backends: readonly BackendConfig[];
  readonly routing_strategy: RoutingStrategy;
  readonly encryption: EncryptionConfig;
  readonly compression: CompressionConfig;
  readonly integrity: IntegrityConfig;
  readonly cache: CacheConfig;
  /** null when the section is absent (Redis counters are not implemented yet). */
  readonly redis: RedisConfig | null;
  readonly rebalance: RebalanceConfig;
  readonly replication: ReplicationConfig;
  readonly cleanup_queue: CleanupQueueConfig;
  readonly lifecycle: LifecycleConfig;
  readonly reconcile: ReconcileConfig;
  readonly rate_limit: RateLimitConfig;
  readonly circuit_breaker: CircuitBreakerConfig;
  readonly backend_circuit_breaker: BackendCircuitBreakerConfig;
  readonly usage_flush: UsageFlushConfig;
  readonly notifications: NotificationsConfig;
  readonly telemetry: TelemetryConfig;
  readonly ui: UiConfig;
}

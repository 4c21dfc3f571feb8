/** The config module: load and validate, summarize, redact, and classify reload changes. */
export { loadConfig, parseConfigText, type ConfigResult } from './loader.js';
export { summarizeConfig } from './summary.js';
export { redactConfig, redacted } from './redact.js';
export { diffForReload, type ReloadableChanges, type ReloadDiff } from './reload.js';
export { notImplementedFeatures, type NotImplementedFeature } from './not-implemented.js';
export { formatBytes, formatDuration, parseDuration, parseSize } from './units.js';
export type * from '../../domain/config/config.js';

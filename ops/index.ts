/**
 * The public entry of ops/: what a program outside the layers (bench/, an embedding program) may use.
 * Everything else under ops/ is internal and may change shape without notice.
 */
export { startOrchestrator, type Orchestrator, type StartOptions } from './app.js';
export { loadConfig, parseConfigText, type ConfigResult } from './config/index.js';
export { formatCount, ProgressBar } from './cli/progress.js';
export type { Config } from '../domain/config/config.js';

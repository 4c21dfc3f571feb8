export { createBodyPipeline, DEFAULT_MAX_CHUNK_SIZE } from './pipeline.js';
export { bodyExpectationsFromHeaders } from './expectations.js';
export type { BodyDigests, BodyExpectations, BodyPipeline, ChecksumAlgorithm } from './types.js';
export { readWholeBody, type WholeBody } from './whole-body.js';

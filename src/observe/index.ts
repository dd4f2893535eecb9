export * from './admin.js';
export * from './counting.js';
export * from './logger.js';
export * from './registry.js';

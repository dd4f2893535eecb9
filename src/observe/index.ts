export * from './admin.js';
export * from './logger.js';
export * from './registry.js';

export * from './forward.js';
export * from './handler.js';
export * from './metrics.js';

export * from './cache.js';
export * from './entry.js';
export * from './metrics.js';
export * from './records.js';
export * from './store.js';
export * from './sweeper.js';

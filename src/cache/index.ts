export * from './cache.js';
export * from './entry.js';
export * from './store.js';

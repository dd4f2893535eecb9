export * from './load.js';
export * from './schema.js';
export * from './watch.js';

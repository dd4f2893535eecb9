export * from './metrics.js';
export * from './persister.js';
export * from './snapshot.js';

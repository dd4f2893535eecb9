export * from './constants.js';
export * from './edns.js';
export * from './framing.js';
export * from './name.js';
export * from './query.js';
export * from './reply.js';
export * from './scan.js';
export * from './upstream.js';

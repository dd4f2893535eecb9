export * from './allow.js';
export * from './listen.js';
export * from './listeners.js';
export * from './metrics.js';
export * from './pair.js';
export * from './tcp.js';
export * from './udp.js';

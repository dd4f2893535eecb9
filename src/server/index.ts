export * from './listen.js';
export * from './metrics.js';
export * from './tcp.js';
export * from './udp.js';

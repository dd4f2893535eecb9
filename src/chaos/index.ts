export * from './admin.js';
export * from './cli.js';
export * from './drill.js';
export * from './faults.js';
export * from './interceptor.js';
export * from './report.js';
export * from './setup.js';

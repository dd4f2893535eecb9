export * from './admin.js';
export * from './faults.js';
export * from './interceptor.js';
export * from './setup.js';

// Types of bench/lib/conformance/index.js for the TypeScript test (test/bench/conformance.test.ts).
export * from './build.js';
export * from './codes.js';
export * from './compare.js';
export * from './fake.js';
export * from './parse.js';
export * from './report.js';

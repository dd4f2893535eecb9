// Types of bench/lib/conformance/codes.js for the TypeScript test (test/bench/conformance.test.ts).
export const TYPE: Readonly<Record<string, number>>;
export const CLASS: Readonly<Record<string, number>>;
export const EDE_OPTION: number;
export function typeName(n: number): string;
export function className(n: number): string;
export function rcodeName(n: number): string;

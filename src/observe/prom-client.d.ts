// prom-client's own modules, imported one by one in prom.ts; the package types only its index. Each is cast there to
// the type the index gives it.
declare module 'prom-client/lib/*' {
  const value: unknown;
  export default value;
}

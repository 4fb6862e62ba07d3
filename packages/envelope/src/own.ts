/**
 * `o[k] = v`, except that a key `__proto__` becomes an own property instead of replacing `o`'s prototype. Tag and
 * metric names are any strings; plain assignment silently lost a tag or metric named `__proto__` (found by
 * protojson.fuzz.test.ts).
 */
export function setOwn<T>(o: Record<string, T>, k: string, v: T): void {
  if (k === "__proto__") Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

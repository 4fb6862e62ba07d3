/**
 * Connects drains only to addresses the SSRF guard has just checked. Node calls `lookup` at every connect, so the
 * guard runs at every connect too, after DNS, and the socket goes to the very address that was checked. TLS still
 * sees the host name (SNI and certificate checks), since the connect is made by name. IP literals skip `lookup` in
 * Node, so {@link checkLiteral} covers them before each connect.
 */
import type { LookupAddress, LookupOptions } from "node:dns";
import { isIP } from "node:net";
import type { AddressGuard } from "../binding/guard.js";

type Callback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

export function guardedLookup(guard: AddressGuard): (hostname: string, options: LookupOptions, cb: Callback) => void {
  return (hostname, options, cb) => {
    guard.resolveAndCheck(hostname).then(
      (addresses) => {
        const all = addresses.map((address) => ({ address, family: isIP(address) }));
        const wanted = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
        const list = wanted.length ? wanted : all;
        if (options.all) cb(null, list);
        else cb(null, list[0]?.address ?? "", list[0]?.family);
      },
      (err: Error) => cb(err as NodeJS.ErrnoException, ""),
    );
  };
}

/** Throws the guard's error when `host` is an IP literal it refuses. */
export function checkLiteral(guard: AddressGuard, host: string): void {
  if (isIP(host) !== 0) guard.check(host);
}

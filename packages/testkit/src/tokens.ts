import { mintToken, type Scope } from "@tailrace/auth";

/** The HS256 secret every test process shares. Never used outside tests. */
export const TEST_JWT_SECRET = "tailrace-test-secret-0123456789abcdef";

export function testToken(opts: { tenant?: string | string[]; scopes?: Scope[]; ttlSec?: number; secret?: string } = {}): Promise<string> {
  const tenants = opts.tenant === undefined ? [] : Array.isArray(opts.tenant) ? opts.tenant : [opts.tenant];
  return mintToken({
    secret: opts.secret ?? TEST_JWT_SECRET,
    tenants,
    scopes: opts.scopes ?? ["logs.read"],
    ttlSec: opts.ttlSec ?? 600,
    subject: "test",
  });
}

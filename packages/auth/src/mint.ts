import { SignJWT } from "jose";
import type { Scope } from "./scopes.js";

export interface MintOptions {
  secret: string;
  tenants: string[];
  scopes: Scope[];
  /** Lifetime in seconds. */
  ttlSec: number;
  subject?: string;
  issuer?: string;
  audience?: string;
}

/** Mints an HS256 token. For development and tests; production tokens come from the platform's identity provider. */
export async function mintToken(o: MintOptions): Promise<string> {
  const claims: Record<string, unknown> = { scope: o.scopes.join(" ") };
  if (o.tenants.length === 1) claims.tenant = o.tenants[0];
  else if (o.tenants.length > 1) claims.tenants = o.tenants;
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setSubject(o.subject ?? "dev")
    .setExpirationTime(Math.floor(Date.now() / 1000) + o.ttlSec);
  if (o.issuer) jwt = jwt.setIssuer(o.issuer);
  if (o.audience) jwt = jwt.setAudience(o.audience);
  return jwt.sign(new TextEncoder().encode(o.secret));
}

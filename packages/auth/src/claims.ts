import type { JWTPayload } from "jose";
import { UnauthorizedError } from "./errors.js";
import type { Scope } from "./scopes.js";
import { SCOPES } from "./scopes.js";

/** What a verified token grants. */
export interface Principal {
  /** The `sub` claim, for audit logs. */
  subject: string;
  /** Tenants the token may read. Empty for a pure admin token. */
  tenants: string[];
  scopes: Set<Scope>;
}

// Kept here rather than imported from @tailrace/envelope: auth is a leaf too, and the alphabet is the same one.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** `split`: OAuth's space-separated `scope`. Tenant claims are never split, so "a b" stays one (invalid) name. */
function list(v: unknown, claim: string, split = false): string[] {
  if (v === undefined) return [];
  if (typeof v === "string") return split ? v.split(/\s+/).filter(Boolean) : [v];
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  throw new UnauthorizedError(`claim ${claim} must be a string or a list of strings`);
}

/** Turns verified JWT claims into a {@link Principal}; refuses tenants outside the name alphabet. */
export function principalOf(payload: JWTPayload): Principal {
  const tenants = [...new Set([...list(payload.tenant, "tenant"), ...list(payload.tenants, "tenants")])];
  for (const t of tenants) {
    if (!NAME.test(t)) throw new UnauthorizedError(`claim tenant holds an invalid tenant name`);
  }
  const scopes = new Set<Scope>();
  for (const s of list(payload.scope, "scope", true)) {
    if ((SCOPES as readonly string[]).includes(s)) scopes.add(s as Scope);
  }
  if (tenants.length === 0 && !scopes.has("logs.admin")) {
    throw new UnauthorizedError("token names no tenant");
  }
  return { subject: typeof payload.sub === "string" ? payload.sub : "", tenants, scopes };
}

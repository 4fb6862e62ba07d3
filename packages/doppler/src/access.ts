import type { Principal } from "@tailrace/auth";
import { isValidName } from "@tailrace/envelope";
import type { AppRegistry } from "./store/apps.js";

export type Access = { ok: true; tenant: string } | { ok: false; status: 400 | 403 | 404; reason: string };

/**
 * Decides which tenant's subjects a request reads. Isolation holds by construction: the answer is always one of the
 * token's own tenants (or, for `logs.admin`, the app's owner), and every subject the request touches is built from it.
 *
 * - No `logs.read`/`logs.admin` scope → 403.
 * - The app is owned by a tenant the token does not carry → 404, as in Log Cache, so ids of others are not confirmed.
 * - An app nobody has claimed yet resolves to the token's tenant: a tail may wait for an app's first line.
 */
export function resolveAccess(p: Principal, sourceId: string, registry: AppRegistry, requestedTenant: string | null): Access {
  const admin = p.scopes.has("logs.admin");
  if (!admin && !p.scopes.has("logs.read")) return { ok: false, status: 403, reason: "token lacks scope logs.read" };
  if (!isValidName(sourceId)) return { ok: false, status: 404, reason: "no such app" };
  const owner = registry.ownerOf(sourceId);
  let tenant: string | undefined;
  if (requestedTenant !== null) {
    if (!admin && !p.tenants.includes(requestedTenant)) return { ok: false, status: 404, reason: "no such app for this token" };
    tenant = requestedTenant;
  } else if (admin && owner) {
    tenant = owner;
  } else if (p.tenants.length === 1) {
    tenant = p.tenants[0];
  } else if (p.tenants.length > 1) {
    return { ok: false, status: 400, reason: "the token carries several tenants: name one with ?tenant=" };
  }
  if (!tenant) return { ok: false, status: 404, reason: "no such app" };
  if (owner !== undefined && owner !== tenant) return { ok: false, status: 404, reason: "no such app for this token" };
  return { ok: true, tenant };
}

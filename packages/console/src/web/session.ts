/**
 * Where the bearer token lives in the page: sessionStorage (this tab only, gone when it closes). It arrives pasted
 * in, or in the URL fragment (`#token=<JWT>&app=<id>`), which browsers never send to a server; the page removes the
 * fragment from the address bar at once so it stays out of history, bookmarks and screenshots.
 */

const KEY = "tailrace.token";

export interface Fragment {
  token?: string;
  app?: string;
}

/** Reads `#token=...&app=...`; anything else in the fragment is ignored. */
export function parseFragment(hash: string): Fragment {
  const q = new URLSearchParams(hash.startsWith("#") ? hash.slice(1) : hash);
  const out: Fragment = {};
  const token = q.get("token")?.trim();
  const app = q.get("app")?.trim();
  if (token) out.token = token;
  if (app) out.app = app;
  return out;
}

/** What the page may show about a token. Not verified here: the doppler verifies every call. */
export interface Claims {
  tenants: string[];
  scopes: string[];
  /** Seconds since the epoch. */
  exp?: number;
}

function b64urlJson(part: string): unknown {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function list(v: unknown, split = false): string[] {
  if (typeof v === "string") return split ? v.split(/\s+/).filter(Boolean) : [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return [];
}

/** The claims of a JWT, or undefined for something that is not one. */
export function readClaims(token: string): Claims | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const p = b64urlJson(parts[1] as string) as Record<string, unknown>;
    const claims: Claims = { tenants: [...new Set([...list(p.tenant), ...list(p.tenants)])], scopes: list(p.scope, true) };
    if (typeof p.exp === "number") claims.exp = p.exp;
    return claims;
  } catch {
    return undefined;
  }
}

/**
 * A JWT is base64url parts and dots: exactly the characters a websocket subprotocol (an RFC 7230 token) allows, so
 * it can ride in `Sec-WebSocket-Protocol`. Anything else is refused before it reaches a socket.
 */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

export interface TokenStore {
  get(): string | undefined;
  set(token: string): void;
  clear(): void;
}

export function sessionTokenStore(storage: Storage): TokenStore {
  return {
    get: () => storage.getItem(KEY) ?? undefined,
    set: (t) => storage.setItem(KEY, t),
    clear: () => storage.removeItem(KEY),
  };
}

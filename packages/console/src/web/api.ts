/**
 * The doppler's HTTP API as the page calls it. The token goes only in the Authorization header; URLs carry the app
 * id and filters, never the token.
 */
import type { WireEnvelope } from "./envelope.js";

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface AppMeta {
  sourceId: string;
  tenant: string;
  count: number;
}

export interface Drain {
  id: string;
  url: string;
  created: string;
  tls?: unknown;
  /** The drain's latest failure, kept by the drainer (RFC 3339 time; the message as its LGR notice said it). */
  last_error?: { at: string; message: string };
}

/** The path and query of an app's resource, with `tenant` when the token carries several. */
export function appPath(base: string, app: string, tenant: string | undefined, params: URLSearchParams = new URLSearchParams()): string {
  const q = new URLSearchParams(params);
  if (tenant) q.set("tenant", tenant);
  const s = q.toString();
  return `${base.replace("{id}", encodeURIComponent(app))}${s ? `?${s}` : ""}`;
}

export class Api {
  constructor(
    private readonly token: string,
    private readonly origin = "",
  ) {}

  private async call(path: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.origin + path, {
        ...init,
        headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${this.token}` },
        cache: "no-store",
        credentials: "omit",
        referrerPolicy: "no-referrer",
      });
    } catch (err) {
      throw new ApiError(0, "the doppler cannot be reached", { cause: err });
    }
    if (res.ok) return res;
    let reason = res.statusText;
    try {
      const body = (await res.json()) as { error?: unknown };
      if (typeof body.error === "string") reason = body.error;
    } catch {}
    throw new ApiError(res.status, reason);
  }

  async meta(): Promise<AppMeta[]> {
    const body = (await (await this.call("/api/v1/meta")).json()) as { meta?: Record<string, { tenant?: string; count?: string }> };
    return Object.entries(body.meta ?? {})
      .map(([sourceId, m]) => ({ sourceId, tenant: m.tenant ?? "", count: Number(m.count ?? 0) }))
      .sort((a, b) => a.sourceId.localeCompare(b.sourceId));
  }

  /** The newest `limit` envelopes of the given types, oldest first. */
  async recent(app: string, tenant: string | undefined, types: string[], limit: number): Promise<WireEnvelope[]> {
    const q = new URLSearchParams({ limit: String(limit), descending: "true" });
    for (const t of types) q.append("envelope_types", t);
    const res = await this.call(appPath("/api/v1/read/{id}", app, tenant, q));
    const body = (await res.json()) as { envelopes?: { batch?: WireEnvelope[] } };
    return (body.envelopes?.batch ?? []).reverse();
  }

  async drains(app: string, tenant: string | undefined): Promise<Drain[]> {
    const res = await this.call(appPath("/v1/apps/{id}/drains", app, tenant));
    return ((await res.json()) as { drains?: Drain[] }).drains ?? [];
  }

  async addDrain(app: string, tenant: string | undefined, url: string): Promise<Drain> {
    const res = await this.call(appPath("/v1/apps/{id}/drains", app, tenant), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url }),
    });
    return (await res.json()) as Drain;
  }

  async removeDrain(app: string, tenant: string | undefined, id: string): Promise<void> {
    await this.call(appPath(`/v1/apps/{id}/drains/${encodeURIComponent(id)}`, app, tenant), { method: "DELETE" });
  }
}

/** What to tell a person about a failed call. */
export function explain(err: unknown, app?: string): string {
  if (err instanceof ApiError) {
    if (err.status === 0) return "The doppler cannot be reached. Check your connection; the console keeps retrying.";
    if (err.status === 401) return "The token was refused: it has expired or is not valid. Paste a new token.";
    if (err.status === 403) return `The token lacks the scope for this: ${err.message}.`;
    if (err.status === 404) return app ? `No app "${app}" for this token.` : `Not found: ${err.message}.`;
    return `The doppler answered ${err.status}: ${err.message}.`;
  }
  return `Unexpected error: ${(err as Error)?.message ?? String(err)}`;
}

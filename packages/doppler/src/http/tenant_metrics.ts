/**
 * `GET /v1/tenants/{tenant}/metrics`: the Prometheus text exposition (0.0.4) of one tenant's app metrics.
 *
 * - The token must carry the tenant, or scope `logs.admin`; it needs `logs.read` (or `logs.admin`), else 403.
 * - A tenant the token does not carry is a 404, as for apps: whether another tenant exists is not confirmed.
 * - A missing or bad token is a 401.
 * - 503 while the doppler is still reading the last staleness window back from the stream: a partial answer would
 *   look to Prometheus like series that vanished.
 *
 * Wired into the doppler's server as `if (await tenantMetrics.handle(req, res, url)) return;` before its own routes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { bearer, UnauthorizedError, type Verifier } from "@tailrace/auth";
import { isValidName } from "@tailrace/envelope";
import type { Logger, Telemetry, Timing } from "@tailrace/runtime";
import { CONTENT_TYPE } from "../metrics/render.js";
import { problem, sendText } from "./respond.js";

export interface TenantMetricsSource {
  /** True once answers are complete. */
  readonly ready: boolean;
  render(tenant: string): Promise<string>;
}

export interface TenantMetricsApiDeps {
  verifier: Verifier;
  metrics: TenantMetricsSource;
  logger: Logger;
  telemetry?: Telemetry;
}

export interface TenantMetricsApi {
  /** Serves the request and returns true when it is this route; false leaves it to the caller. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
}

const ROUTE = /^\/v1\/tenants\/([^/]+)\/metrics\/?$/;

class HttpError extends Error {
  constructor(
    readonly status: 403 | 404 | 405 | 503,
    message: string,
  ) {
    super(message);
  }
}

function decodeTenant(raw: string): string {
  let t: string;
  try {
    t = decodeURIComponent(raw);
  } catch {
    throw new HttpError(404, "no such tenant for this token");
  }
  if (!isValidName(t)) throw new HttpError(404, "no such tenant for this token");
  return t;
}

export function createTenantMetricsApi(d: TenantMetricsApiDeps): TenantMetricsApi {
  const duration: Timing | undefined = d.telemetry?.requestDuration("tenant_metrics");

  async function serve(req: IncomingMessage, res: ServerResponse, rawTenant: string): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, "use GET");
    const p = await d.verifier.verify(bearer(req.headers.authorization));
    const admin = p.scopes.has("logs.admin");
    if (!admin && !p.scopes.has("logs.read")) throw new HttpError(403, "token lacks scope logs.read");
    const tenant = decodeTenant(rawTenant);
    if (!admin && !p.tenants.includes(tenant)) throw new HttpError(404, "no such tenant for this token");
    if (!d.metrics.ready) throw new HttpError(503, "this doppler is still reading recent metrics from the stream; retry shortly");
    // Every subject and series read below is keyed by this one tenant name: isolation by construction.
    const body = await d.metrics.render(tenant);
    sendText(res, 200, req.method === "HEAD" ? "" : body, CONTENT_TYPE);
  }

  return {
    async handle(req, res, url) {
      const m = ROUTE.exec(url.pathname);
      if (!m) return false;
      const started = performance.now();
      try {
        await serve(req, res, m[1] as string);
      } catch (err) {
        let status = 500;
        if (err instanceof HttpError) status = err.status;
        else if (err instanceof UnauthorizedError) status = 401;
        const message = status === 500 ? "internal error" : (err as Error).message;
        if (status === 500) d.logger.error({ err: (err as Error).message }, "tenant metrics request failed");
        else if (status === 401 || status === 403 || status === 404) {
          // Never the token: only what was asked and why it was refused.
          d.logger.info(
            { audit: true, status, method: req.method, path: url.pathname, remote: req.socket.remoteAddress, reason: message },
            "access refused",
          );
        }
        if (res.headersSent) res.destroy();
        else {
          if (status === 503) res.setHeader("retry-after", "2");
          if (status === 405) res.setHeader("allow", "GET, HEAD");
          problem(res, status, message);
        }
      } finally {
        duration?.record((performance.now() - started) / 1000);
      }
      return true;
    },
  };
}

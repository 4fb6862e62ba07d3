/**
 * The drains API: `GET|POST /v1/apps/{source_id}/drains` and `DELETE /v1/apps/{source_id}/drains/{id}`.
 *
 * - Reads need `logs.read` or `drains.write`; changes need `drains.write` (403). Which app a token reaches follows the
 *   same rules as reads (resolveAccess), so another tenant's app is a 404.
 * - A new URL is checked as a drainer would use it: parseDrainUrl, then the SSRF guard on every resolved address.
 *   Anything wrong is a 400 that says what; too many drains or a duplicate is a 409.
 * - Credentials and OTLP `header-*` values are stored (the drainer needs them) and never returned or logged: answers
 *   carry the anonymised URL. `otlp+http://` is a 400 unless TAILRACE_DRAIN_ALLOW_PLAIN_OTLP.
 *
 * Wired into the doppler's server as `if (await drains.handle(req, res, url)) return;` before its own routes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { bearer, type Principal, type Scope, UnauthorizedError, type Verifier } from "@tailrace/auth";
import {
  type AddressGuard,
  checkDrainTls,
  DrainAddressRefusedError,
  DrainExistsError,
  DrainLimitError,
  DrainResolveError,
  type DrainStore,
  InvalidDrainTlsError,
  InvalidDrainUrlError,
  parseDrainUrl,
  toPublic,
} from "@tailrace/drainer";
import type { Logger } from "@tailrace/runtime";
import { resolveAccess } from "../access.js";
import type { AppRegistry } from "../store/apps.js";
import { json, problem } from "./respond.js";

export interface DrainsApiDeps {
  verifier: Verifier;
  registry: AppRegistry;
  store: DrainStore;
  guard: AddressGuard;
  logger: Logger;
  /** TAILRACE_DRAIN_MAX_PER_APP */
  maxPerApp: number;
  /** TAILRACE_DRAIN_MAX_PER_TENANT */
  maxPerTenant?: number;
  /** TAILRACE_DRAIN_ALLOW_PLAIN_OTLP */
  allowPlainOtlp?: boolean;
}

export interface DrainsApi {
  /** Serves the request and returns true when it is a drains route; false leaves it to the caller. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
}

const LIST = /^\/v1\/apps\/([^/]+)\/drains\/?$/;
const ONE = /^\/v1\/apps\/([^/]+)\/drains\/([^/]+)$/;
const MAX_BODY = 256 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, "request body is too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        reject(new HttpError(400, 'body must be JSON like {"url": "syslog-tls://host:6514"}'));
      }
    });
    req.on("error", reject);
  });
}

function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(404, "no such app");
  }
}

export function createDrainsApi(d: DrainsApiDeps): DrainsApi {
  async function authorize(req: IncomingMessage, sourceId: string, q: URLSearchParams, need: Scope | undefined) {
    const p = await d.verifier.verify(bearer(req.headers.authorization));
    const writer = p.scopes.has("drains.write");
    if (need && !p.scopes.has(need) && !p.scopes.has("logs.admin")) throw new HttpError(403, `token lacks scope ${need}`);
    // A drains.write token may list and change drains without logs.read; tenancy rules stay those of reads.
    const effective: Principal = writer ? { ...p, scopes: new Set([...p.scopes, "logs.read"]) } : p;
    const access = resolveAccess(effective, sourceId, d.registry, q.get("tenant"));
    if (!access.ok) throw new HttpError(access.status, access.reason);
    return { principal: p, tenant: access.tenant };
  }

  async function create(req: IncomingMessage, res: ServerResponse, sourceId: string, q: URLSearchParams): Promise<void> {
    const { principal, tenant } = await authorize(req, sourceId, q, "drains.write");
    const body = (await readBody(req)) as { url?: unknown; tls?: unknown } | null;
    if (typeof body !== "object" || body === null || typeof body.url !== "string") throw new HttpError(400, 'body must be {"url": "..."}');
    const url = parseDrainUrl(body.url, { allowPlainOtlp: d.allowPlainOtlp ?? false });
    const tls = checkDrainTls(body.tls);
    if (tls && (url.scheme === "syslog" || url.scheme === "otlp+http")) {
      throw new HttpError(400, "tls applies to syslog-tls://, https:// and otlp+https:// drains only");
    }
    await d.guard.resolveAndCheck(url.host);
    const b = await d.store.add(tenant, sourceId, url.raw, d.maxPerApp, tls, d.maxPerTenant);
    d.logger.info({ audit: true, sub: principal.subject, tenant, source_id: sourceId, drain: b.id, url: url.anonymized }, "drain bound");
    json(res, 201, toPublic(b));
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname;
    const list = LIST.exec(path);
    if (list) {
      const sourceId = decodeId(list[1] as string);
      if (req.method === "GET") {
        const { tenant } = await authorize(req, sourceId, url.searchParams, undefined);
        const [bindings, errors] = await Promise.all([d.store.list(tenant, sourceId), d.store.lastErrors(tenant, sourceId)]);
        json(res, 200, { drains: bindings.map((b) => toPublic(b, errors.get(b.id))) });
        return true;
      }
      if (req.method === "POST") {
        await create(req, res, sourceId, url.searchParams);
        return true;
      }
      throw new HttpError(405, "use GET or POST");
    }
    const one = ONE.exec(path);
    if (one) {
      if (req.method !== "DELETE") throw new HttpError(405, "use DELETE");
      const sourceId = decodeId(one[1] as string);
      const { principal, tenant } = await authorize(req, sourceId, url.searchParams, "drains.write");
      const id = decodeId(one[2] as string);
      if (!(await d.store.remove(tenant, sourceId, id))) throw new HttpError(404, "no such drain");
      d.logger.info({ audit: true, sub: principal.subject, tenant, source_id: sourceId, drain: id }, "drain removed");
      res.writeHead(204).end();
      return true;
    }
    return false;
  }

  return {
    async handle(req, res, url) {
      try {
        return await route(req, res, url);
      } catch (err) {
        let status = 500;
        if (err instanceof HttpError) status = err.status;
        else if (err instanceof UnauthorizedError) status = 401;
        else if (
          err instanceof InvalidDrainUrlError ||
          err instanceof InvalidDrainTlsError ||
          err instanceof DrainAddressRefusedError ||
          err instanceof DrainResolveError
        )
          status = 400;
        else if (err instanceof DrainLimitError || err instanceof DrainExistsError) status = 409;
        const message = status === 500 ? "internal error" : (err as Error).message;
        if (status === 500) d.logger.error({ err: (err as Error).message }, "drains request failed");
        else if (status === 401 || status === 403 || status === 404) {
          d.logger.info({ audit: true, status, method: req.method, path: url.pathname, reason: message }, "access refused");
        }
        if (!res.headersSent) problem(res, status, message);
        else res.destroy();
        return true;
      }
    },
  };
}

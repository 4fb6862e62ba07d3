import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { bearer, type Principal, UnauthorizedError, type Verifier } from "@tailrace/auth";
import { bearerFromProtocols, handleConsole, selectProtocol } from "@tailrace/console";
import { appFilter, isValidName } from "@tailrace/envelope";
import { type Logger, NatsUnavailableError, type ServerTls, type Telemetry } from "@tailrace/runtime";
import { WebSocketServer } from "ws";
import { type Access, resolveAccess } from "../access.js";
import { type Cursor, InvalidCursorError, parseCursor, startCursor } from "../cursor.js";
import { readMeta } from "../egress/meta.js";
import { FlushPacer } from "../egress/pacer.js";
import { readRecent } from "../egress/recent.js";
import { Tail } from "../egress/tail.js";
import { BadRequestError, parseFilters } from "../filters.js";
import type { FeedBatch, FeedItem, LiveFeed } from "../ingress/feed.js";
import { FirehoseFeed } from "../ingress/firehose.js";
import type { FeedHub } from "../ingress/hub.js";
import { ReplayFeed } from "../ingress/replay.js";
import { LimitError, type Limits } from "../limits.js";
import type { AppRegistry } from "../store/apps.js";
import type { DrainsApi } from "./drains.js";
import { json, problem, rejectUpgrade, sendText } from "./respond.js";
import type { TenantMetricsApi } from "./tenant_metrics.js";

export interface ApiDeps {
  nc: NatsConnection;
  verifier: Verifier;
  drains?: DrainsApi;
  registry: AppRegistry;
  js: JetStreamClient;
  jsm: JetStreamManager;
  hub: FeedHub;
  limits: Limits;
  logger: Logger;
  /** Serve HTTPS/WSS only. */
  tls?: ServerTls;
  tailQueue: number;
  tailFlushMs: number;
  tailMaxBuffered: number;
  tailHopelessMs: number;
  ready(): Record<string, boolean>;
  /** Shown beside the checks in /readyz: the NATS server in use, and readers that are recovering. */
  status?(): Record<string, unknown>;
  metrics(): string | Promise<string>;
  tenantMetrics?: TenantMetricsApi;
  telemetry?: Telemetry;
}

const READ = /^\/api\/v1\/read\/([^/]+)$/;
const STREAM = /^\/v1\/apps\/([^/]+)\/stream$/;
const FIREHOSE = /^\/v1\/firehose\/([^/]+)$/;
const MAX_LIMIT = 1000;
const PING_MS = 30_000;
const NS_INT = /^\d{1,19}$/;

class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404,
    message: string,
  ) {
    super(message);
  }
}

function intParam(q: URLSearchParams, name: string): bigint | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  if (!NS_INT.test(v)) throw new BadRequestError(`${name} must be nanoseconds since the epoch`);
  return BigInt(v);
}

/** The API's address is taken or not allowed. */
export class ListenError extends Error {
  override name = "ListenError";
}

function onUpgradeSocketError(this: Duplex): void {
  this.destroy();
}

/** The bearer credential: the Authorization header, or on a websocket upgrade the token offered as a subprotocol. */
function credentials(req: IncomingMessage): string | undefined {
  if (req.headers.authorization) return req.headers.authorization;
  const t = req.headers.upgrade ? bearerFromProtocols(req.headers["sec-websocket-protocol"]) : undefined;
  return t ? `Bearer ${t}` : undefined;
}

/** The doppler's HTTP and websocket API. Every route but health and metrics needs a bearer token. */
export class Api {
  readonly server: Server;
  private readonly wss: WebSocketServer;
  readonly tails = new Set<Tail>();
  /** What closed tails sent and dropped, so counters never go backwards as tails come and go. */
  readonly closedTotals = { sent: 0, dropped: 0 };
  private readonly pinger: NodeJS.Timeout;
  private readonly pacer: FlushPacer;

  constructor(private readonly d: ApiDeps) {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.route(req, res).catch((err) => this.fail(req, res, err));
    };
    this.server = d.tls ? createTlsServer(d.tls, handler) : createServer(handler);
    this.server.on("upgrade", (req, socket, head) => {
      // Until ws takes the socket over, a client that resets it mid-authorisation must not become an unhandled
      // 'error' (which would end the process), as the ws documentation prescribes.
      socket.on("error", onUpgradeSocketError);
      this.upgrade(req, socket, head).catch((err) => {
        const status =
          err instanceof HttpError ? err.status : err instanceof UnauthorizedError ? 401 : err instanceof LimitError ? 429 : 500;
        this.audit(req, status, (err as Error).message);
        if (status === 500) d.logger.error({ err }, "websocket upgrade failed");
        rejectUpgrade(socket, status, status === 500 ? "internal error" : (err as Error).message);
      });
    });
    // perMessageDeflate off: compressing every frame costs more CPU than log lines save on the wire.
    // A browser cannot set headers on a websocket: the console offers its token as a subprotocol after the
    // `tailrace.bearer` marker, and only the marker is echoed back, never the token.
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: 4096,
      handleProtocols: (p) => selectProtocol(p),
    });
    const alive = new WeakMap<object, boolean>();
    this.wss.on("connection", (ws) => {
      alive.set(ws, true);
      ws.on("pong", () => alive.set(ws, true));
    });
    this.pinger = setInterval(() => {
      for (const ws of this.wss.clients) {
        if (alive.get(ws) === false) {
          ws.terminate();
          continue;
        }
        alive.set(ws, false);
        ws.ping();
      }
    }, PING_MS);
    this.pinger.unref();
    this.pacer = new FlushPacer(d.tailFlushMs).start();
  }

  private audit(req: IncomingMessage, status: number, reason: string): void {
    if (status === 401 || status === 403 || status === 404) {
      // Never the token: only what was asked and why it was refused.
      this.d.logger.info(
        { audit: true, status, method: req.method, path: (req.url ?? "").split("?")[0], remote: req.socket.remoteAddress, reason },
        "access refused",
      );
    }
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    let status = 500;
    if (err instanceof LimitError) {
      this.d.logger.info(
        { audit: true, status: 429, path: (req.url ?? "").split("?")[0], remote: req.socket.remoteAddress, reason: err.reason },
        "limit reached",
      );
      if (!res.headersSent) {
        res.setHeader("retry-after", String(err.retryAfterSec));
        problem(res, 429, err.message);
      }
      return;
    }
    if (err instanceof NatsUnavailableError) {
      // An election outlasted the read's retries: a pause to wait out, not the doppler's fault.
      this.d.logger.warn({ err: err.message, path: (req.url ?? "").split("?")[0] }, "NATS unavailable; answered 503");
      this.audit(req, 503, err.message);
      if (!res.headersSent) {
        res.setHeader("retry-after", "2");
        problem(res, 503, err.message);
      } else res.destroy();
      return;
    }
    if (err instanceof HttpError) status = err.status;
    else if (err instanceof UnauthorizedError) status = 401;
    else if (err instanceof BadRequestError || err instanceof InvalidCursorError) status = 400;
    const message = status === 500 ? "internal error" : (err as Error).message;
    if (status === 500) this.d.logger.error({ err }, "request failed");
    this.audit(req, status, message);
    if (!res.headersSent) problem(res, status, message);
    else res.destroy();
  }

  /** Verifies the bearer token and charges the request to the token's rate limit. */
  private async principal(req: IncomingMessage): Promise<Principal> {
    const token = bearer(credentials(req));
    const p = await this.d.verifier.verify(token);
    // Keyed by a digest of the token, so the limiter never holds a usable token.
    this.d.limits.request(
      createHash("sha256")
        .update(token as string)
        .digest("base64url")
        .slice(0, 22),
    );
    return p;
  }

  private async authorize(
    req: IncomingMessage,
    sourceId: string,
    q: URLSearchParams,
  ): Promise<{ principal: Principal; access: Access & { ok: true } }> {
    const principal = await this.principal(req);
    const access = resolveAccess(principal, decodeURIComponent(sourceId), this.d.registry, q.get("tenant"));
    if (!access.ok) throw new HttpError(access.status, access.reason);
    return { principal, access };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://doppler");
    const path = url.pathname;
    if (await handleConsole(req, res, url)) return;
    if (this.d.drains && (await this.d.drains.handle(req, res, url))) return;
    if (this.d.tenantMetrics && (await this.d.tenantMetrics.handle(req, res, url))) return;
    if (req.method !== "GET") throw new HttpError(404, "no such route");
    if (path === "/healthz") return sendText(res, 200, "ok\n");
    if (path === "/readyz") {
      const checks = this.d.ready();
      const ok = Object.values(checks).every(Boolean);
      return json(res, ok ? 200 : 503, { ready: ok, checks, ...this.d.status?.() });
    }
    if (path === "/metrics") return sendText(res, 200, await this.d.metrics(), "text/plain; version=0.0.4; charset=utf-8");
    const read = READ.exec(path);
    if (read) return this.read(req, res, read[1] as string, url.searchParams);
    if (path === "/api/v1/meta") return this.meta(req, res, url.searchParams);
    throw new HttpError(404, "no such route");
  }

  private async read(req: IncomingMessage, res: ServerResponse, rawId: string, q: URLSearchParams): Promise<void> {
    const { access } = await this.authorize(req, rawId, q);
    const limitRaw = q.get("limit");
    let limit = 100;
    if (limitRaw !== null && limitRaw !== "") {
      if (!/^\d+$/.test(limitRaw) || Number(limitRaw) < 1) throw new BadRequestError("limit must be a positive integer");
      limit = Math.min(Number(limitRaw), MAX_LIMIT);
    }
    const descending = q.get("descending");
    if (descending !== null && !["true", "false", ""].includes(descending)) throw new BadRequestError("descending must be true or false");
    const startTime = intParam(q, "start_time");
    const endTime = intParam(q, "end_time");
    const items = await readRecent(this.d.nc, this.d.jsm, {
      tenant: access.tenant,
      sourceId: decodeURIComponent(rawId),
      filters: parseFilters(q),
      limit,
      descending: descending === "true",
      ...(startTime !== undefined ? { startTime } : {}),
      ...(endTime !== undefined ? { endTime } : {}),
    });
    let body = '{"envelopes":{"batch":[';
    for (let i = 0; i < items.length; i++) body += (i ? "," : "") + (items[i] as FeedItem).json;
    json(res, 200, `${body}]}}`);
  }

  /** Log Cache's meta: the sources this token may read, with how many batches each keeps. */
  private async meta(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    const principal = await this.principal(req);
    if (!principal.scopes.has("logs.read") && !principal.scopes.has("logs.admin")) throw new HttpError(403, "token lacks scope logs.read");
    const requested = q.get("tenant");
    if (requested !== null && !principal.tenants.includes(requested) && !principal.scopes.has("logs.admin")) {
      throw new HttpError(404, "no such tenant for this token");
    }
    const tenants = new Set(requested !== null ? [requested] : principal.tenants);
    json(res, 200, { meta: await readMeta(this.d.jsm, this.d.registry, tenants) });
  }

  private tailFor(
    ws: import("ws").WebSocket,
    filters: ReturnType<typeof parseFilters>,
    tenant: string,
    sourceId: string,
    kind: "tail" | "resume" | "firehose" = "tail",
  ): Tail {
    return new Tail(ws, filters, {
      maxQueue: this.d.tailQueue,
      flushMs: this.d.tailFlushMs,
      pacer: this.pacer,
      maxBuffered: this.d.tailMaxBuffered,
      hopelessMs: this.d.tailHopelessMs,
      tenant,
      sourceId,
      telemetry: this.d.telemetry,
      kind,
    });
  }

  /** Completes the upgrade and ties the tail's life to the socket's. */
  private accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    make: (ws: import("ws").WebSocket) => Tail,
    release: () => void,
  ): void {
    if (socket.destroyed) {
      release();
      return;
    }
    socket.removeListener("error", onUpgradeSocketError);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const tail = make(ws);
      this.tails.add(tail);
      this.wss.emit("connection", ws, req);
      ws.on("message", () => {
        // Tails are read-only; anything a client sends is ignored (maxPayload bounds its size).
      });
      ws.on("close", () => {
        tail.close();
        this.tails.delete(tail);
        this.closedTotals.sent += tail.stats.sent;
        this.closedTotals.dropped += tail.stats.dropped;
        release();
      });
      ws.on("error", () => ws.terminate());
    });
  }

  private async firehose(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, rawId: string): Promise<void> {
    const principal = await this.principal(req);
    if (!principal.scopes.has("logs.admin")) throw new HttpError(403, "the firehose needs scope logs.admin");
    const id = decodeURIComponent(rawId);
    if (!isValidName(id)) throw new HttpError(400, "subscription id: use 1-128 of A-Z a-z 0-9 _ - starting with a letter or digit");
    const filters = parseFilters(url.searchParams);
    const slot = this.d.limits.openTail("(firehose)", req.socket.remoteAddress ?? "");
    let tail: Tail | undefined;
    const feed = new FirehoseFeed(this.d.nc, id, this.d.logger, this.d.telemetry);
    await feed
      .start((items) => tail?.push(items))
      .catch((err) => {
        slot();
        throw err;
      });
    this.accept(
      req,
      socket,
      head,
      (ws) => {
        tail = this.tailFor(ws, filters, "tailrace", id, "firehose");
        return tail;
      },
      () => {
        feed.stop();
        slot();
      },
    );
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "http://doppler");
    const fh = FIREHOSE.exec(url.pathname);
    if (fh) return this.firehose(req, socket, head, url, fh[1] as string);
    const m = STREAM.exec(url.pathname);
    if (!m) throw new HttpError(404, "no such route");
    const rawId = m[1] as string;
    const { access } = await this.authorize(req, rawId, url.searchParams);
    const sourceId = decodeURIComponent(rawId);
    const filters = parseFilters(url.searchParams);
    const cursorRaw = url.searchParams.get("cursor");
    let cursor: Cursor | undefined;
    try {
      cursor = cursorRaw ? parseCursor(cursorRaw) : undefined;
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    const filter = appFilter(access.tenant, sourceId);

    // Subscribe before completing the upgrade: once the client sees the socket open, nothing stored after that
    // moment can be missed.
    let tail: Tail | undefined;
    const make = (ws: import("ws").WebSocket) => {
      tail = this.tailFor(ws, filters, access.tenant, sourceId, cursor ? "resume" : "tail");
      return tail;
    };
    const slot = this.d.limits.openTail(access.tenant, req.socket.remoteAddress ?? "");
    try {
      if (cursor) {
        const replay = new ReplayFeed(this.d.nc, this.d.jsm, filter, this.d.logger, this.d.telemetry);
        await replay.start(cursor, () => tail);
        const makeAndAttach = (ws: import("ws").WebSocket) => {
          const t = make(ws);
          replay.attached();
          return t;
        };
        this.accept(req, socket, head, makeAndAttach, () => {
          replay.stop();
          slot();
        });
        return;
      }
      const listener = (batch: FeedBatch) => tail?.pushBatch(batch);
      const feed: LiveFeed = await this.d.hub.acquire(filter, listener);
      // The tail gets every message after the feed's last one from the moment it exists: that is its start cursor.
      const makeLive = (ws: import("ws").WebSocket) => {
        const t = make(ws);
        t.start(startCursor(feed.lastSeq, Date.now()));
        return t;
      };
      this.accept(req, socket, head, makeLive, () => {
        this.d.hub.release(feed, listener);
        slot();
      });
    } catch (err) {
      slot();
      throw err;
    }
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "EADDRINUSE" || err.code === "EACCES") {
          reject(
            new ListenError(`cannot listen on ${host}:${port} (${err.code}): choose another port with --port or TAILRACE_DOPPLER_PORT`, {
              cause: err,
            }),
          );
        } else reject(err);
      });
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const a = this.server.address();
        resolve(typeof a === "object" && a ? a.port : port);
      });
    });
  }

  /** Closes every tail with 1001 (going away), gives peers a second to answer, and stops listening. */
  async close(): Promise<void> {
    clearInterval(this.pinger);
    this.pacer.stop();
    for (const ws of this.wss.clients) ws.close(1001, "doppler shutting down");
    const deadline = Date.now() + 1000;
    while (this.wss.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // A peer that does not complete the closing handshake would hold server.close() for ws's 30 s timeout.
    for (const ws of this.wss.clients) ws.terminate();
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    await closed;
  }
}

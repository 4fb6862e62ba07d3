import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { bearer, type Verifier } from "@tailrace/auth";
import { type Envelope, fromProtoJson, InvalidEnvelopeError } from "@tailrace/envelope";
import { closeHttpServer, type Logger, listenOn, type ServerTls } from "@tailrace/runtime";
import { AppOwnedElsewhereError } from "../../egress/claims.js";
import type { AppChannel, NatsPublisher } from "../../egress/nats.js";
import type { AgentCounters } from "../../telemetry/counters.js";
import { OtlpHandler, type OtlpOptions } from "../otlp/handler.js";
import { HttpIngressError as HttpError } from "./errors.js";

export interface HttpIngressOptions {
  /** Verifies bearer tokens; without one, only the configured tenant/app is accepted. */
  verifier: Verifier | undefined;
  /** Tenant and app for requests without a token; empty: a token is required. */
  tenant: string;
  app: string;
  maxBytes: number;
  /** Serve HTTPS only. */
  tls?: ServerTls;
  /** POST /v1/logs and /v1/metrics (OTLP/HTTP). */
  otlp: OtlpOptions;
}

const MAX_ENVELOPES = 10_000;

/** Who may write, and as whom: from a token, or from the agent's configuration for this port. */
interface Writer {
  tenant: string;
  /** Set when the configuration fixes the app; a token leaves it to each envelope's source_id. */
  app: string | undefined;
}

/**
 * The local HTTP ingress: `POST /v1/envelopes` with a protojson `{"batch":[...]}` body, so an app can emit its own
 * counters, gauges, timers, events and logs.
 *
 * The tenant never comes from the body alone: a bearer token (verified with TAILRACE_JWT_SECRET) names it, or the
 * agent's configuration fixes tenant and app for this port. Each envelope's `tags.tenant` is set to that tenant; a
 * different one in the body is refused (403), as is a `source_id` other than the configured app.
 *
 * `POST /v1/logs` and `POST /v1/metrics` take OTLP/HTTP exports under the same rules (see ../otlp/handler.ts).
 */
export class HttpIngress {
  readonly server: Server;
  private readonly channels = new Map<string, AppChannel>();
  readonly stats = { requests: 0, accepted: 0, refused: 0 };
  readonly otlp: OtlpHandler;

  constructor(
    private readonly o: HttpIngressOptions,
    private readonly publisher: NatsPublisher,
    private readonly counters: AgentCounters,
    private readonly logger: Logger,
  ) {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.route(req, res).catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : err instanceof InvalidEnvelopeError ? 400 : 500;
        if (status === 500) this.logger.error({ err }, "HTTP ingress failed");
        this.stats.refused++;
        if (status === 401 || status === 403) this.counters.drop("unauthorized");
        else if (status !== 500) this.counters.drop("malformed");
        if (!res.headersSent) {
          res.writeHead(status, { "content-type": "application/json", connection: status === 413 ? "close" : "keep-alive" });
          res.end(`${JSON.stringify({ error: status === 500 ? "internal error" : (err as Error).message })}\n`);
        }
        if (status === 413) req.destroy();
      });
    };
    this.server = o.tls ? createHttpsServer(o.tls, handler) : createServer(handler);
    const self = { writer: (req: IncomingMessage) => this.writer(req), body: (req: IncomingMessage) => this.bytes(req) };
    this.otlp = new OtlpHandler(
      o.otlp,
      { ...self, channel: (t, s) => this.channel(t, s) },
      publisher,
      counters,
      logger.child({ path: "otlp" }),
    );
  }

  listen(host: string, port: number): Promise<number> {
    return listenOn(this.server, host, port);
  }

  close(): Promise<void> {
    return closeHttpServer(this.server);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://agent").pathname;
    if (path === "/v1/logs" || path === "/v1/metrics") return this.otlp.handle(path === "/v1/logs" ? "logs" : "metrics", req, res);
    this.stats.requests++;
    if (path !== "/v1/envelopes") throw new HttpError(404, "not found: POST /v1/envelopes, /v1/logs or /v1/metrics");
    if (req.method !== "POST") throw new HttpError(405, "use POST");
    const ct = req.headers["content-type"] ?? "";
    if (!/^application\/json\b/i.test(ct)) throw new HttpError(415, "Content-Type must be application/json");
    const writer = await this.writer(req);
    const body = (await this.bytes(req)).toString("utf8");
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new HttpError(400, "body is not valid JSON");
    }
    const batch = (parsed as { batch?: unknown })?.batch;
    if (typeof parsed !== "object" || parsed === null || !Array.isArray(batch)) throw new HttpError(400, 'body must be {"batch":[...]}');
    if (batch.length > MAX_ENVELOPES) throw new HttpError(413, `more than ${MAX_ENVELOPES} envelopes in one request`);
    const envs = batch.map((v, i) => this.envelope(v, i, writer));
    // Refuse at once what the publisher would drop later: an app another tenant owns.
    for (const sid of new Set(envs.map((e) => e.sourceId))) {
      try {
        await this.publisher.claim(writer.tenant, sid);
      } catch (err) {
        if (err instanceof AppOwnedElsewhereError) throw new HttpError(403, `source_id ${sid} belongs to another tenant`);
        throw new HttpError(503, "cannot reach NATS to check the app's owner; retry");
      }
    }
    for (const e of envs) {
      this.counters.ingress("http", e.log?.payload.length ?? 0);
      this.channel(e.tags.tenant as string, e.sourceId).write(e);
    }
    this.stats.accepted += envs.length;
    res.writeHead(202, { "content-type": "application/json" });
    res.end(`${JSON.stringify({ accepted: envs.length })}\n`);
  }

  private async writer(req: IncomingMessage): Promise<Writer> {
    const header = req.headers.authorization;
    if (header === undefined) {
      if (this.o.tenant && this.o.app) return { tenant: this.o.tenant, app: this.o.app };
      throw new HttpError(401, "missing bearer token");
    }
    if (!this.o.verifier) throw new HttpError(401, "this agent accepts no tokens (no TAILRACE_JWT_SECRET)");
    let principal: Awaited<ReturnType<Verifier["verify"]>>;
    try {
      principal = await this.o.verifier.verify(bearer(header));
    } catch (err) {
      throw new HttpError(401, (err as Error).message);
    }
    const wanted = new URL(req.url ?? "/", "http://agent").searchParams.get("tenant");
    if (wanted !== null) {
      if (!principal.tenants.includes(wanted)) throw new HttpError(403, "the token does not name that tenant");
      return { tenant: wanted, app: undefined };
    }
    if (principal.tenants.length !== 1) throw new HttpError(403, "the token must name exactly one tenant (or pass ?tenant=)");
    return { tenant: principal.tenants[0] as string, app: undefined };
  }

  private bytes(req: IncomingMessage): Promise<Buffer> {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > this.o.maxBytes) return Promise.reject(new HttpError(413, `body larger than ${this.o.maxBytes} bytes`));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let n = 0;
      req.on("data", (d: Buffer) => {
        n += d.length;
        if (n > this.o.maxBytes) {
          req.pause();
          reject(new HttpError(413, `body larger than ${this.o.maxBytes} bytes`));
          return;
        }
        chunks.push(d);
      });
      req.on("end", () => resolve(Buffer.concat(chunks)));
      req.on("error", reject);
    });
  }

  /** Places one body envelope under the writer's tenant (and app), then validates it. */
  private envelope(v: unknown, i: number, w: Writer): Envelope {
    const path = `batch[${i}]`;
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new HttpError(400, `${path}: must be an object`);
    const o = { ...(v as Record<string, unknown>) };
    const tags = o.tags ?? {};
    if (typeof tags !== "object" || tags === null || Array.isArray(tags)) throw new HttpError(400, `${path}.tags: must be a string map`);
    const claimed = (tags as Record<string, unknown>).tenant;
    if (claimed !== undefined && claimed !== w.tenant)
      throw new HttpError(403, `${path}.tags.tenant: not the tenant this request writes as`);
    o.tags = { ...tags, tenant: w.tenant };
    const sid = o.source_id ?? o.sourceId;
    if (w.app !== undefined) {
      if (sid !== undefined && sid !== "" && sid !== w.app) throw new HttpError(403, `${path}.source_id: this port writes only ${w.app}`);
      delete o.sourceId;
      o.source_id = w.app;
    }
    if (o.timestamp === undefined || o.timestamp === "0" || o.timestamp === 0) o.timestamp = String(BigInt(Date.now()) * 1_000_000n);
    return fromProtoJson(o, path);
  }

  private channel(tenant: string, sourceId: string): AppChannel {
    const key = `${tenant}\u0000${sourceId}`;
    let c = this.channels.get(key);
    if (!c) {
      if (this.channels.size > 10_000) this.channels.clear();
      c = this.publisher.channel(tenant, sourceId);
      this.channels.set(key, c);
    }
    return c;
  }
}

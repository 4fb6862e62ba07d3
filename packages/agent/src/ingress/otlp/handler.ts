/**
 * `POST /v1/logs` and `POST /v1/metrics` on the local HTTP ingress: OTLP/HTTP exports from apps instrumented with an
 * OpenTelemetry SDK (issue 14). The request's path through here:
 *
 *   Content-Type → who writes (token or port, as for /v1/envelopes) → body (≤ TAILRACE_INGRESS_MAX_BYTES) → gunzip
 *   (≤ TAILRACE_OTLP_MAX_DECODED_BYTES) → decode → envelopes (logs.ts, metrics.ts) → owner check → room in the
 *   buffer? → AppChannel.write → 200 with partial_success for what was refused
 *
 * A request is taken whole or refused whole, except for the records or points the mapping refuses one by one
 * (partial_success). The tenant comes from the token or the port; the app from the port or `?app=`; never the body.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Envelope, isValidName, lgrNotice, validateEnvelope } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import { AppOwnedElsewhereError } from "../../egress/claims.js";
import type { AppChannel, NatsPublisher } from "../../egress/nats.js";
import type { AgentCounters } from "../../telemetry/counters.js";
import { HttpIngressError } from "../http/errors.js";
import { sourceType } from "../process.js";
import type { TagLimits } from "./attributes.js";
import { decodeLogs, decodeMetrics, type Encoding, encodingOf, inflate } from "./decode.js";
import { OtlpBufferFullError, OtlpError, OtlpTooLargeError } from "./errors.js";
import { logsToEnvelopes, type Mapped, type Placement } from "./logs.js";
import { metricsToEnvelopes } from "./metrics.js";
import type { LogsRequest, MetricsRequest } from "./proto.js";
import { InstanceRates } from "./rate.js";
import { failure, type Signal, success } from "./response.js";

export interface OtlpOptions extends TagLimits {
  /** Largest body once inflated. */
  maxDecodedBytes: number;
  /** Per-instance log rate limit in bytes/s (TAILRACE_LOG_RATE_LIMIT); 0 is off. */
  logRateLimit: number;
  /** Resource attributes that become tags (and so series labels) of metrics. */
  resourceLabels: readonly string[];
}

/** What the HTTP ingress resolves before the body is read; see server.ts. */
export interface OtlpServer {
  writer(req: IncomingMessage): Promise<{ tenant: string; app: string | undefined }>;
  body(req: IncomingMessage): Promise<Buffer>;
  channel(tenant: string, sourceId: string): AppChannel;
}

/** Log records or data points in one request, at most; as many envelopes as POST /v1/envelopes takes. */
export const MAX_ITEMS = 10_000;
const DEFAULT_PROCESS = "otlp";
const DEFAULT_INSTANCE = "0";
const RETRY_AFTER_FULL_SEC = 1;
const RETRY_AFTER_NATS_SEC = 2;

export class OtlpHandler {
  private readonly resourceLabels: ReadonlySet<string>;
  private readonly rates: InstanceRates;
  readonly stats = { requests: 0, accepted: 0, refused: 0, rejectedItems: 0 };

  constructor(
    private readonly o: OtlpOptions,
    private readonly server: OtlpServer,
    private readonly publisher: NatsPublisher,
    private readonly counters: AgentCounters,
    private readonly logger: Logger,
  ) {
    this.resourceLabels = new Set(o.resourceLabels);
    this.rates = new InstanceRates(o.logRateLimit, (p, text) =>
      server.channel(p.tenant, p.app).write(lgrNotice(p.tenant, p.app, text, { instance_id: p.instanceId })),
    );
  }

  /** Answers the request; never throws. */
  async handle(signal: Signal, req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    let encoding: Encoding = "json";
    try {
      if (req.method !== "POST") throw new HttpIngressError(405, "use POST");
      encoding = encodingOf(req.headers["content-type"]);
      await this.export(signal, encoding, req, res);
    } catch (err) {
      this.refuse(err, encoding, req, res);
    }
  }

  private async export(signal: Signal, encoding: Encoding, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const writer = await this.server.writer(req);
    const placement = this.placement(req, writer);
    const raw = await this.server.body(req);
    const bytes = await inflate(raw, headerOf(req, "content-encoding"), this.o.maxDecodedBytes);
    const now = () => BigInt(Date.now()) * 1_000_000n;
    let mapped: Mapped;
    if (signal === "logs") {
      const request = decodeLogs(bytes, encoding);
      checkCount(countLogs(request), "log records");
      mapped = logsToEnvelopes(request, placement, this.o, now);
    } else {
      const request = decodeMetrics(bytes, encoding);
      checkCount(countPoints(request), "data points");
      mapped = metricsToEnvelopes(request, placement, this.o, this.resourceLabels, now);
    }
    let envs = valid(mapped);
    // Counted once the request is taken: a request refused whole (403, 429) is sent again, and counted then.
    const refused = mapped.rejected;
    if (envs.length > 0) {
      await this.claim(placement);
      // The buffer drops the oldest of the longest lane when full: rather than push others' data out, an OTLP client
      // is told to come back, which its exporter does (429 is retryable in the OTLP specification).
      const buffer = this.publisher.buffer;
      if (envs.length > buffer.capacity) throw new OtlpTooLargeError(`more envelopes (${envs.length}) than the agent's buffer holds`);
      if (buffer.size + envs.length > buffer.capacity) throw new OtlpBufferFullError(RETRY_AFTER_FULL_SEC);
      if (signal === "logs") {
        const rated = this.rates.admit(placement, envs);
        if (rated.refused > 0) {
          this.counters.drop("rate_limit", rated.refused);
          mapped.rejected += rated.refused;
          mapped.error ||= `${rated.refused} log records over the instance's log rate limit (${this.o.logRateLimit} bytes/sec)`;
        }
        envs = rated.kept;
      }
      const channel = this.server.channel(placement.tenant, placement.app);
      for (const e of envs) {
        this.counters.ingress("otlp", e.log?.payload.length ?? 0);
        channel.write(e);
      }
    }
    if (refused > 0) this.counters.drop("refused", refused);
    this.stats.rejectedItems += mapped.rejected;
    this.stats.accepted += envs.length;
    success(res, signal, encoding, mapped.rejected, mapped.error);
  }

  private placement(req: IncomingMessage, writer: { tenant: string; app: string | undefined }): Placement {
    const q = new URL(req.url ?? "/", "http://agent").searchParams;
    const asked = q.get("app");
    let app: string;
    if (writer.app !== undefined) {
      if (asked !== null && asked !== writer.app) throw new HttpIngressError(403, `this port writes only ${writer.app}`);
      app = writer.app;
    } else {
      if (asked === null) throw new HttpIngressError(400, "name the app with ?app=NAME: a token names only the tenant");
      app = asked;
    }
    const instanceId = q.get("instance") ?? DEFAULT_INSTANCE;
    const processType = q.get("process") ?? DEFAULT_PROCESS;
    for (const [what, v] of [
      ["app", app],
      ["instance", instanceId],
      ["process", processType],
    ] as const) {
      if (!isValidName(v)) throw new HttpIngressError(400, `?${what}= must be 1-128 of A-Z a-z 0-9 _ - starting with a letter or digit`);
    }
    const tags = { tenant: writer.tenant, app_name: app, source_type: sourceType(processType), process_type: processType };
    return { tenant: writer.tenant, app, instanceId, tags };
  }

  private async claim(p: Placement): Promise<void> {
    try {
      await this.publisher.claim(p.tenant, p.app);
    } catch (err) {
      if (err instanceof AppOwnedElsewhereError) throw new HttpIngressError(403, `app ${p.app} belongs to another tenant`);
      throw new HttpIngressError(503, "cannot reach NATS to check the app's owner; retry", { cause: err });
    }
  }

  private refuse(err: unknown, encoding: Encoding, req: IncomingMessage, res: ServerResponse): void {
    const status = err instanceof OtlpError || err instanceof HttpIngressError ? err.status : 500;
    this.stats.refused++;
    if (status === 500) this.logger.error({ err }, "OTLP ingress failed");
    else this.logger.debug({ status, err: (err as Error).message }, "OTLP export refused");
    if (status === 401 || status === 403) this.counters.drop("unauthorized");
    else if (status === 400 || status === 413 || status === 415) this.counters.drop("malformed");
    const headers: Record<string, string> = {};
    if (err instanceof OtlpBufferFullError) headers["retry-after"] = String(err.retryAfterSec);
    if (status === 503) headers["retry-after"] = String(RETRY_AFTER_NATS_SEC);
    // A body too large was not read to its end: close the connection rather than read the rest.
    if (status === 413) headers.connection = "close";
    if (status === 413) res.on("finish", () => req.destroy());
    if (!res.headersSent) failure(res, status, status === 500 ? "internal error" : (err as Error).message, encoding, headers);
  }
}

/**
 * The mapping's envelopes that pass the envelope model's checks (they all should: logs.ts and metrics.ts keep to its
 * bounds); one that does not is refused like any other, rather than reaching the publisher.
 */
function valid(m: Mapped): Envelope[] {
  return m.envelopes.filter((e) => {
    try {
      validateEnvelope(e);
      return true;
    } catch (err) {
      m.rejected++;
      m.error ||= (err as Error).message;
      return false;
    }
  });
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(",") : v;
}

function checkCount(n: number, what: string): void {
  if (n > MAX_ITEMS) throw new OtlpTooLargeError(`more than ${MAX_ITEMS} ${what} in one request`);
}

function countLogs(r: LogsRequest): number {
  let n = 0;
  for (const rl of r.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) n += sl.logRecords?.length ?? 0;
  return n;
}

function countPoints(r: MetricsRequest): number {
  let n = 0;
  for (const rm of r.resourceMetrics ?? [])
    for (const sm of rm.scopeMetrics ?? [])
      for (const m of sm.metrics ?? []) {
        const data = m.gauge ?? m.sum ?? m.histogram ?? m.exponentialHistogram ?? m.summary;
        n += data?.dataPoints?.length ?? 0;
      }
  return n;
}

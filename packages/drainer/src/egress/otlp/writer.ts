/**
 * OTLP/HTTP drains (`otlp+https://`, and `otlp+http://` where the operator allows it): a batch of log records or of
 * metric points is POSTed as a binary protobuf ExportLogsServiceRequest to `<base>/v1/logs`, or
 * ExportMetricsServiceRequest to `<base>/v1/metrics`, gzipped (https://opentelemetry.io/docs/specs/otlp/#otlphttp).
 * Batching, order, retries and drops are the HTTP writers' (../http/delivery.ts). What OTLP adds:
 * - a 2xx answer's `partial_success` counts its rejected records or points as refused (an LGR loss line);
 * - an error answer's google.rpc.Status message goes into the drain's error line, with the drain's secrets taken out;
 * - `header-*` parameters of the URL are sent as request headers (API keys), and the user info as basic auth.
 */
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { AddressGuard } from "../../binding/guard.js";
import type { DrainTls } from "../../binding/tls.js";
import type { DrainUrl } from "../../binding/url.js";
import { type HttpAnswer, HttpClient } from "../http/client.js";
import { type Batch, type DeliveryOptions, HttpDelivery, type Verdict, verdictOf } from "../http/delivery.js";
import type { DrainWriter } from "../writer.js";
import { encodeRequest, type OtlpItem, type Signal } from "./encode.js";
import { ExportLogsServiceResponse, ExportMetricsServiceResponse, type ExportResponse, Status } from "./proto.js";

export interface OtlpOptions extends DeliveryOptions {
  timeoutMs: number;
}

const gzipAsync = promisify(gzip);
/** Characters of a receiver's message kept in an LGR line. */
const MAX_DETAIL = 200;
const WHAT: Record<Signal, string> = { logs: "log records", metrics: "data points" };

export class OtlpWriter implements DrainWriter<OtlpItem> {
  private readonly client: HttpClient;
  private readonly delivery: HttpDelivery<OtlpItem>;
  private readonly headers: Record<string, string>;
  /** What a receiver's message must never echo into a log or an LGR line. */
  private readonly secrets: string[];

  constructor(
    private readonly url: DrainUrl,
    guard: AddressGuard,
    tls: DrainTls | undefined,
    o: OtlpOptions,
  ) {
    this.client = new HttpClient({ secure: url.scheme === "otlp+https", host: url.host, port: url.port }, guard, tls, o.timeoutMs);
    this.delivery = new HttpDelivery(o, (b) => this.post(b));
    const c = url.credentials;
    this.headers = {
      ...url.headers,
      ...(c ? { authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}` } : {}),
      "content-type": "application/x-protobuf",
      "content-encoding": "gzip",
    };
    this.secrets = [...Object.values(url.headers ?? {}), c?.username ?? "", c?.password ?? ""].filter((s) => s.length >= 4);
  }

  send(items: OtlpItem[], done: () => void): void {
    for (const it of items) this.delivery.add(it, it.bytes, it.signal);
    this.delivery.mark(done);
  }

  private async post(b: Batch<OtlpItem>): Promise<Verdict> {
    const signal = b.kind as Signal;
    b.body ??= await gzipAsync(encodeRequest(signal, b.items));
    const res = await this.client.post(`${this.url.path}/v1/${signal}`, this.headers, b.body);
    if (res.status < 200 || res.status >= 300) return verdictOf(res.status, res.headers, b.items.length, WHAT[signal], this.detail(res));
    const rejected = this.partial(signal, res);
    return rejected ? { outcome: "ok", rejected } : { outcome: "ok" };
  }

  /** The records or points a 2xx answer's partial_success refused, with its message. */
  private partial(signal: Signal, res: HttpAnswer): { count: number; reason: string } | undefined {
    if (res.body.length === 0 || !isProtobuf(res)) return undefined;
    let answer: ExportResponse;
    try {
      answer = (signal === "logs" ? ExportLogsServiceResponse : ExportMetricsServiceResponse).decode(res.body);
    } catch {
      return undefined; // delivered all the same: a 2xx is a 2xx
    }
    const p = answer.partialSuccess;
    const count = Number((signal === "logs" ? p?.rejectedLogRecords : p?.rejectedDataPoints) ?? 0);
    if (!(count > 0)) return undefined;
    const message = this.clean(p?.errorMessage ?? "");
    return { count, reason: `the receiver refused ${count} ${WHAT[signal]} (partial success)${message ? `: ${message}` : ""}` };
  }

  /** The message of an error answer (google.rpc.Status, JSON or text), cut short and without the drain's secrets. */
  private detail(res: HttpAnswer): string {
    if (res.body.length === 0) return "";
    let message = "";
    try {
      if (isProtobuf(res)) message = String((Status.decode(res.body) as { message?: string }).message ?? "");
      else if (/json/i.test(res.headers["content-type"] ?? ""))
        message = String((JSON.parse(res.body.toString("utf8")) as { message?: unknown }).message ?? "");
      else if (/^text\//i.test(res.headers["content-type"] ?? "")) message = res.body.toString("utf8");
    } catch {
      return "";
    }
    return this.clean(message);
  }

  private clean(message: string): string {
    let m = message.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
    for (const s of this.secrets) m = m.split(s).join("***");
    return m.length > MAX_DETAIL ? `${m.slice(0, MAX_DETAIL)}…` : m;
  }

  async close(graceMs: number): Promise<void> {
    await this.delivery.close(graceMs);
    this.client.destroy();
  }
}

function isProtobuf(res: HttpAnswer): boolean {
  return /^application\/(x-)?protobuf/i.test(res.headers["content-type"] ?? "");
}

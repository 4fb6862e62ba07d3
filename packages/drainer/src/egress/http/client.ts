/**
 * One HTTP(S) request at a time to one drain receiver, for the HTTP writers (Logplex, OTLP). The connect goes through
 * the SSRF guard every time (guardedLookup; checkLiteral for IP literals), TLS trusts the system CAs plus the
 * drain's own CA and presents its client certificate, and the answer's body is read up to a bound, since a receiver
 * may say why it refused (OTLP's google.rpc.Status, partial_success).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { rootCertificates } from "node:tls";
import type { AddressGuard } from "../../binding/guard.js";
import type { DrainTls } from "../../binding/tls.js";
import { checkLiteral, guardedLookup } from "../lookup.js";

/** Most of an answer's body kept; the rest is read and thrown away. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpTarget {
  secure: boolean;
  host: string;
  port: number;
}

export class HttpClient {
  private readonly agent: HttpAgent;

  constructor(
    private readonly target: HttpTarget,
    private readonly guard: AddressGuard,
    tls: DrainTls | undefined,
    private readonly timeoutMs: number,
  ) {
    this.agent = target.secure
      ? new HttpsAgent({
          keepAlive: true,
          maxSockets: 1,
          ...(tls?.ca ? { ca: [...rootCertificates, tls.ca] } : {}),
          ...(tls?.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
        })
      : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  }

  post(path: string, headers: OutgoingHttpHeaders, body: Buffer): Promise<HttpAnswer> {
    checkLiteral(this.guard, this.target.host);
    const request = this.target.secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.target.host,
          port: this.target.port,
          path,
          method: "POST",
          agent: this.agent,
          lookup: guardedLookup(this.guard),
          timeout: this.timeoutMs,
          headers: { ...headers, "content-length": body.length, "user-agent": "tailrace-drainer" },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            if (size < MAX_ANSWER_BYTES) chunks.push(c.subarray(0, MAX_ANSWER_BYTES - size));
            size += c.length;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  destroy(): void {
    this.agent.destroy();
  }
}

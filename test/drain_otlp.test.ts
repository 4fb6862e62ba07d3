import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import { gunzipSync } from "node:zlib";
import { decodeOtlpRequest, type ORequest, type OtlpResource } from "@tailrace/drainer/internal";
import { nowNs } from "@tailrace/envelope";
import { makeTestPki, type TempDir, type TestPki, tempDir, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DrainStack, firstSeen, startDrainStack } from "./drain_helpers.js";

/**
 * The receiver decodes with the OpenTelemetry project's generated protobuf code (the module the agent's ingress uses),
 * not with anything of the drainer's: what it reads is what any OTLP receiver would.
 */
interface Type {
  decode(b: Uint8Array): unknown;
  encode(m: object): { finish(): Uint8Array };
}
const otel = createRequire(import.meta.url)("@opentelemetry/otlp-transformer/build/src/generated/root.js") as {
  opentelemetry: { proto: { collector: Record<"logs" | "metrics", { v1: Record<string, Type> }> } };
};
const { logs: LOGS } = otel.opentelemetry.proto.collector;
interface Export {
  path: string;
  headers: IncomingMessage["headers"];
  status: number;
  at: number;
  /** The decoded request (ExportLogsServiceRequest or ExportMetricsServiceRequest) as plain JSON. */
  body: ORequest;
}

type Answer = (path: string) => { status: number; headers?: Record<string, string>; body?: Uint8Array };

interface Receiver {
  port: number;
  exports: Export[];
  answer: Answer;
  /** Closes the port and every connection: connects are refused until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

async function otlpReceiver(pki?: TestPki): Promise<Receiver> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const path = req.url ?? "";
      const bytes = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
      const a = r.answer(path);
      r.exports.push({
        path,
        headers: req.headers,
        status: a.status,
        at: Date.now(),
        body: decodeOtlpRequest(path.endsWith("/v1/metrics") ? "metrics" : "logs", bytes),
      });
      res.writeHead(a.status, { "content-type": "application/x-protobuf", ...a.headers }).end(a.body ? Buffer.from(a.body) : undefined);
    });
  };
  const r: Receiver = {
    port: 0,
    exports: [],
    answer: () => ({ status: 200 }),
    async down() {
      const s = server;
      server = undefined;
      for (const sock of sockets) sock.destroy();
      await new Promise((res) => s?.close(res));
    },
    async up() {
      server = pki ? createHttpsServer({ cert: pki.server.cert, key: pki.server.key }, handle) : createHttpServer(handle);
      server.on("connection", (sock: Socket) => {
        sockets.add(sock);
        sock.on("close", () => sockets.delete(sock));
      });
      await new Promise<void>((res) => server?.listen(r.port, "127.0.0.1", res));
      r.port = (server.address() as { port: number }).port;
    },
    close: () => r.down(),
  };
  await r.up();
  return r;
}

const attr = (rl: OtlpResource | undefined, key: string) => rl?.resource.attributes.find((a) => a.key === key)?.value.stringValue;

/** The bodies of the app's own log records (instance 0, not the drain's LGR lines) in the order received. */
function appLines(exports: Export[], app: string): string[] {
  return exports
    .filter((x) => x.status === 200 && x.path.endsWith("/v1/logs"))
    .flatMap((x) => x.body.resourceLogs)
    .filter((rl) => attr(rl, "service.name") === app && attr(rl, "source_type") === "APP/PROC/WEB")
    .flatMap((rl) => rl.scopeLogs.flatMap((s) => s.logRecords.map((lr) => lr.body.stringValue ?? "")));
}

async function lgrLines(ds: DrainStack, app: string): Promise<string[]> {
  const reader = await testToken({ tenant: "acme" });
  const res = await fetch(`${ds.stack.api}/api/v1/read/${app}?limit=1000`, { headers: { authorization: `Bearer ${reader}` } });
  const body = (await res.json()) as { envelopes: { batch: Array<{ tags: Record<string, string>; log?: { payload: string } }> } };
  return body.envelopes.batch
    .filter((e) => e.tags.source_type === "LGR")
    .map((e) => Buffer.from(e.log?.payload ?? "", "base64").toString());
}

async function bind(ds: DrainStack, app: string, url: string, extra: object = {}): Promise<Response> {
  const token = await testToken({ tenant: "acme", scopes: ["drains.write"] });
  return fetch(`${ds.api}/v1/apps/${app}/drains`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify({ url, ...extra }),
  });
}

const SECRET = "k3y-Zq8vW2xR7mN4pL";

describe("otlp drains", () => {
  let ds: DrainStack;
  let dir: TempDir;
  let pki: TestPki;
  beforeAll(async () => {
    dir = await tempDir("tailrace-drain-otlp-");
    ds = await startDrainStack({ apiLogFile: `${dir.path}/api.log` });
    await mkdir(`${dir.path}/pki`);
    pki = await makeTestPki(`${dir.path}/pki`);
  });
  afterAll(async () => {
    await ds?.stop();
    await dir?.remove();
  });

  it("drain - otlp+https:// delivers every line in order through 503s and a refused port, with the API key header; a 400 and a partial success are loss lines; the key is never shown", async () => {
    const rx = await otlpReceiver(pki);
    rx.answer = (path) => {
      if (path.startsWith("/reject/")) {
        // A receiver that echoes the key in its reason: the LGR line must not.
        return { status: 400, body: rpcStatus(3, `unknown api key ${SECRET}`) };
      }
      if (path.startsWith("/partial/")) {
        const t = LOGS.v1.ExportLogsServiceResponse;
        return { status: 200, body: t.encode({ partialSuccess: { rejectedLogRecords: 1, errorMessage: "one record too old" } }).finish() };
      }
      return { status: 200 };
    };
    const logFile = `${dir.path}/drainer.log`;
    const drainer = await ds.startDrainer({ TAILRACE_DRAIN_HTTP_FLUSH: "100ms", TAILRACE_DRAIN_BACKOFF_MIN: "100ms" }, logFile);
    const base = `otlp+https://localhost:${rx.port}`;
    const key = `header-x-api-key=${SECRET}`;
    for (const [app, url] of [
      ["oweb", `${base}/otlp?${key}`],
      ["orej", `${base}/reject/?${key}`],
      ["opart", `${base}/partial?${key}`],
    ] as const) {
      const res = await bind(ds, app, url, { tls: { ca: pki.ca } });
      expect(res.status, url).toBe(201);
      const created = await res.text();
      expect(created).not.toContain(SECRET);
      expect(created).toContain("header-x-api-key=redacted");
    }
    const pub = await ds.publisher();
    const sent: string[] = [];
    const burst = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const text = `line ${sent.length} ${"o".repeat(50)}`;
        sent.push(text);
        pub.line("acme", "oweb", text);
      }
      await pub.drain();
    };

    await burst(100);
    await waitFor("the first lines", () => appLines(rx.exports, "oweb").length >= 100, 20_000);

    // Outage, part one: the receiver answers 503 with Retry-After: 1; the drain waits that long, not its 100 ms backoff.
    const before = rx.exports.length;
    rx.answer = (
      (ok) => (path: string) =>
        path.startsWith("/otlp/") ? { status: 503, headers: { "retry-after": "1" } } : ok(path)
    )(rx.answer);
    await burst(100);
    await waitFor("three 503s", () => rx.exports.slice(before).filter((x) => x.status === 503).length >= 3, 20_000);
    const tries = rx.exports.slice(before).filter((x) => x.status === 503);
    for (let i = 1; i < tries.length; i++) expect((tries[i] as Export).at - (tries[i - 1] as Export).at).toBeGreaterThanOrEqual(900);

    // Part two: nothing listens (connection refused), and the lines keep coming.
    await rx.down();
    rx.answer = (
      (prev) => (path: string) =>
        path.startsWith("/otlp/") ? { status: 200 } : prev(path)
    )(rx.answer);
    const errors = drainer.stats().find((s) => s.source_id === "oweb")?.errors ?? 0;
    await burst(100);
    await waitFor("refused connects", () => (drainer.stats().find((s) => s.source_id === "oweb")?.errors ?? 0) >= errors + 2, 20_000);
    await rx.up();

    await waitFor("every line after the outage", () => firstSeen(appLines(rx.exports, "oweb")).length >= sent.length, 30_000);
    expect(firstSeen(appLines(rx.exports, "oweb"))).toEqual(sent);
    const web = drainer.stats().find((s) => s.source_id === "oweb");
    expect(web?.lost).toBe(0);
    expect(web?.retries).toBeGreaterThan(3);

    // What every receiver gets: OTLP/HTTP protobuf, gzipped, the key as a header, the app as the resource.
    const first = rx.exports.find((x) => x.path === "/otlp/v1/logs");
    expect(first?.headers["content-type"]).toBe("application/x-protobuf");
    expect(first?.headers["content-encoding"]).toBe("gzip");
    expect(first?.headers["x-api-key"]).toBe(SECRET);
    const rl = first?.body.resourceLogs[0];
    expect([attr(rl, "service.name"), attr(rl, "tenant"), attr(rl, "service.instance.id")]).toEqual(["oweb", "acme", "0"]);
    expect(rl?.scopeLogs[0]?.logRecords[0]).toMatchObject({ severityNumber: 9, severityText: "INFO" });
    expect(rx.exports.every((x) => x.path === "/otlp/v1/logs" || !x.path.startsWith("/otlp"))).toBe(true);

    // The 400: dropped, one loss line; the partial success: the receiver's one refused record, one loss line.
    pub.line("acme", "orej", "refused for good");
    pub.line("acme", "opart", "one of these is refused");
    await pub.drain();
    const rej = await waitFor(
      "the 400's notices",
      async () => {
        const t = await lgrLines(ds, "orej");
        return t.some((x) => x.includes("messages lost")) && t.some((x) => x.includes("HTTP 400")) ? t : undefined;
      },
      20_000,
    );
    expect(rej).toContain(`1 messages lost for drain ${base}/reject/?header-x-api-key=redacted`);
    expect(rej.find((x) => x.includes("HTTP 400"))).toContain("HTTP 400: unknown api key ***; 1 log records dropped");
    const part = await waitFor(
      "the partial success's notices",
      async () => {
        const t = await lgrLines(ds, "opart");
        return t.some((x) => x.includes("messages lost")) ? t : undefined;
      },
      20_000,
    );
    expect(part).toContain(`1 messages lost for drain ${base}/partial?header-x-api-key=redacted`);
    expect(part.join("\n")).toContain("the receiver refused 1 log records (partial success): one record too old");
    expect(drainer.stats().find((s) => s.source_id === "opart")?.lost).toBe(1);
    expect(drainer.stats().find((s) => s.source_id === "orej")?.lost).toBe(1);

    // The key: in the header the receiver got, and nowhere else.
    const web503 = await lgrLines(ds, "oweb");
    expect(web503.some((x) => x.includes("HTTP 503") || x.includes("ECONNREFUSED"))).toBe(true);
    const writer = await testToken({ tenant: "acme", scopes: ["drains.write"] });
    const listings = await Promise.all(
      ["oweb", "orej", "opart"].map(async (app) =>
        (await fetch(`${ds.api}/v1/apps/${app}/drains`, { headers: { authorization: `Bearer ${writer}` } })).text(),
      ),
    );
    expect(listings.join("\n")).toContain("header-x-api-key=redacted");
    await new Promise((res) => setTimeout(res, 500)); // pino writes asynchronously
    const logs = readFileSync(logFile, "utf8") + readFileSync(`${dir.path}/api.log`, "utf8");
    expect(logs).toContain("header-x-api-key=redacted");
    for (const text of [logs, listings.join("\n"), web503.join("\n"), rej.join("\n"), part.join("\n"), JSON.stringify(drainer.stats())]) {
      expect(text).not.toContain(SECRET);
    }
    await rx.close();
  }, 120_000);

  it("drain - otlp+http:// is refused unless the operator allows it, and bad OTLP URLs get a 400 that says why", async () => {
    for (const [url, reason] of [
      ["otlp+http://localhost:4318", /plain otlp\+http:\/\/ drains are not allowed on this platform \(TAILRACE_DRAIN_ALLOW_PLAIN_OTLP\)/],
      ["otlp+https://localhost/v1/logs", /the path of an OTLP drain is the endpoint's base/],
      [`otlp+https://localhost?header-content-encoding=${SECRET}`, /the drain sets that header itself/],
      [`https://localhost/x?header-x-api-key=${SECRET}`, /apply to otlp\+https:\/\/ drains only/],
      ["otlp+https://10.0.0.1", /10\.0\.0\.1 refused: private network/],
    ] as const) {
      const res = await bind(ds, "obad", url);
      const body = (await res.json()) as { error: string };
      expect(res.status, url).toBe(400);
      expect(body.error).toMatch(reason);
      expect(body.error).not.toContain(SECRET);
    }
  });

  it("drain - a metrics drain over otlp+http:// sends gauges as Gauges and counters as cumulative Sums, and no logs", async () => {
    const plain = await startDrainStack({ allowPlainOtlp: true });
    const rx = await otlpReceiver();
    try {
      await plain.startDrainer({ TAILRACE_DRAIN_HTTP_FLUSH: "100ms" });
      const res = await bind(
        plain,
        "ometrics",
        `otlp+http://127.0.0.1:${rx.port}?drain-data=metrics&header-authorization=Bearer%20${SECRET}`,
      );
      expect(res.status).toBe(201);
      const pub = await plain.publisher();
      const tags = { tenant: "acme", app_name: "ometrics", source_type: "APP/PROC/WEB", process_type: "web" };
      const at = nowNs();
      pub.line("acme", "ometrics", "a log line a metrics drain does not send");
      pub.envelope("acme", {
        timestamp: at,
        sourceId: "ometrics",
        instanceId: "0",
        tags,
        gauge: { metrics: { cpu: { unit: "percentage", value: 12.5 } } },
      });
      pub.envelope("acme", {
        timestamp: at,
        sourceId: "ometrics",
        instanceId: "0",
        tags,
        counter: { name: "requests", delta: 2n, total: 42n },
      });
      await pub.drain();
      const metrics = await waitFor(
        "both metrics",
        () => {
          const all = rx.exports
            .filter((x) => x.path === "/v1/metrics")
            .flatMap((x) => x.body.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)));
          return all.length >= 2 ? all : undefined;
        },
        20_000,
      );
      const cpu = metrics.find((m) => m.name === "cpu");
      expect(cpu?.unit).toBe("%");
      expect(cpu?.gauge?.dataPoints[0]).toMatchObject({ asDouble: 12.5, timeUnixNano: String(at) });
      const requests = metrics.find((m) => m.name === "requests");
      expect(requests?.sum).toMatchObject({ aggregationTemporality: 2, isMonotonic: true });
      expect(requests?.sum?.dataPoints[0]?.asInt).toBe("42");
      const resource = rx.exports.find((x) => x.path === "/v1/metrics")?.body.resourceMetrics[0];
      expect([attr(resource, "service.name"), attr(resource, "tenant")]).toEqual(["ometrics", "acme"]);
      expect(rx.exports.every((x) => x.headers.authorization === `Bearer ${SECRET}`)).toBe(true);
      await new Promise((r) => setTimeout(r, 500));
      expect(rx.exports.filter((x) => x.path === "/v1/logs")).toEqual([]);
    } finally {
      await rx.close();
      await plain.stop();
    }
  });
});

/** A google.rpc.Status {code, message}, written field by field: the generated module does not carry the type. */
function rpcStatus(code: number, message: string): Uint8Array {
  const m = Buffer.from(message);
  return Buffer.concat([Buffer.from([0x08, code, 0x12]), varint(m.length), m]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

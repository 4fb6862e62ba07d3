/** Shared pieces of the drain integration tests: a stack with the drains API and drainers, publishers and receivers. */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from "node:net";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { NatsPublisher } from "@tailrace/agent";
import { hs256Verifier } from "@tailrace/auth";
// Not exported by the doppler yet: the wiring adds it to internal_mod.ts.
import { AppRegistry, createDrainsApi } from "@tailrace/doppler/internal";
import { AddressGuard, Drainer, DrainStore, loadDrainerConfig } from "@tailrace/drainer";
import { type Envelope, nowNs } from "@tailrace/envelope";
import { createLogger, type Logger } from "@tailrace/runtime";
import { TEST_JWT_SECRET } from "@tailrace/testkit";
import { agentPublisher, type Stack, startStack } from "./helpers.js";

export const LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? "silent";

export function fileLogger(name: string, file?: string): Logger {
  if (!file) return createLogger({ name, level: LOG_LEVEL });
  return createLogger({ name, level: "debug", fd: openSync(file, "a") });
}

export interface DrainStack {
  stack: Stack;
  nc: NatsConnection;
  store: DrainStore;
  /** The drains API on its own small server, as the doppler serves it. */
  api: string;
  drainerEnv: Record<string, string>;
  startDrainer(env?: Record<string, string>, logFile?: string): Promise<Drainer>;
  publisher(): Promise<Publisher>;
  stop(): Promise<void>;
}

/** A doppler (it owns the data stream), the drains API, and drainers on demand; all allowed to reach 127.0.0.0/8. */
export async function startDrainStack(
  opts: {
    allow?: string;
    apiLogFile?: string;
    maxPerApp?: number;
    maxPerTenant?: number;
    /** TAILRACE_DRAIN_ALLOW_PLAIN_OTLP for the drains API and the drainers. */
    allowPlainOtlp?: boolean;
    /** The doppler's settings, and nats-server's extra arguments (e.g. a config with JetStream limits). */
    dopplerEnv?: Record<string, string>;
    natsArgs?: string[];
  } = {},
): Promise<DrainStack> {
  // The data stream's per-app ring at its default (1,000 batches): drains survive outages on their own drain streams.
  const stack = await startStack(opts.dopplerEnv, opts.natsArgs);
  const nc = await connect({ servers: stack.nats.url });
  const store = await DrainStore.open(nc);
  const registry = new AppRegistry(nc, createLogger({ name: "test-registry", level: "silent" }));
  await registry.start();
  const drainsApi = createDrainsApi({
    verifier: hs256Verifier({ secret: TEST_JWT_SECRET }),
    registry,
    store,
    guard: new AddressGuard(opts.allow ?? "127.0.0.0/8"),
    logger: fileLogger("test-drains-api", opts.apiLogFile),
    maxPerApp: opts.maxPerApp ?? 5,
    ...(opts.maxPerTenant ? { maxPerTenant: opts.maxPerTenant } : {}),
    allowPlainOtlp: opts.allowPlainOtlp ?? false,
  });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://api");
    drainsApi.handle(req, res, url).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const api = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  const drainerEnv = {
    NATS_URL: stack.nats.url,
    TAILRACE_DRAIN_ALLOW_CIDRS: opts.allow ?? "127.0.0.0/8",
    TAILRACE_DRAINER_HOST: "127.0.0.1",
    TAILRACE_DRAINER_PORT: "0",
    TAILRACE_DRAIN_LEASE_TTL: "2s",
    TAILRACE_DRAIN_BACKOFF_MAX: "1s",
    TAILRACE_DRAIN_NOTICE_INTERVAL: "2s",
    TAILRACE_DRAIN_CONFIRM: "200ms",
    TAILRACE_DRAIN_ALLOW_PLAIN_OTLP: String(opts.allowPlainOtlp ?? false),
  };
  const drainers: Drainer[] = [];
  const publishers: Publisher[] = [];
  return {
    stack,
    nc,
    store,
    api,
    drainerEnv,
    async startDrainer(env = {}, logFile) {
      const d = new Drainer(loadDrainerConfig({ ...drainerEnv, ...env }), fileLogger("test-drainer", logFile));
      await d.start();
      drainers.push(d);
      return d;
    },
    async publisher() {
      const p = await startPublisher(stack.nats.url);
      publishers.push(p);
      return p;
    },
    async stop() {
      for (const p of publishers) await p.stop();
      await Promise.all(drainers.map((d) => d.stop().catch(() => undefined)));
      await new Promise((r) => server.close(r));
      registry.stop();
      await nc.close();
      await stack.stop();
    },
  };
}

export interface Publisher {
  /** Publishes one log line as the agent would. */
  line(
    tenant: string,
    sourceId: string,
    text: string | Buffer,
    o?: { instance?: string; type?: "OUT" | "ERR"; tags?: Record<string, string> },
  ): Envelope;
  /** Publishes any envelope (a gauge, a counter) as the agent would. */
  envelope(tenant: string, e: Envelope): void;
  drain(): Promise<number>;
  stop(): Promise<void>;
}

export async function startPublisher(url: string): Promise<Publisher> {
  const { pub, close } = await agentPublisher(url, { bufferSize: 1_000_000, maxBatch: 512, maxInFlight: 64 });
  const channels = new Map<string, ReturnType<NatsPublisher["channel"]>>();
  const channel = (tenant: string, sourceId: string) => {
    let ch = channels.get(`${tenant}/${sourceId}`);
    if (!ch) channels.set(`${tenant}/${sourceId}`, (ch = pub.channel(tenant, sourceId)));
    return ch;
  };
  return {
    envelope(tenant, e) {
      channel(tenant, e.sourceId).write(e);
    },
    line(tenant, sourceId, text, o = {}) {
      const ch = channel(tenant, sourceId);
      const e: Envelope = {
        timestamp: nowNs(),
        sourceId,
        instanceId: o.instance ?? "0",
        tags: o.tags ?? { tenant, app_name: sourceId, source_type: "APP/PROC/WEB", process_type: "web" },
        log: { payload: typeof text === "string" ? Buffer.from(text) : text, type: o.type ?? "OUT" },
      };
      ch.write(e);
      return e;
    },
    drain: () => pub.drain(10_000),
    stop: close,
  };
}

/** A syslog receiver in this process that splits RFC 6587 octet-counted frames. */
export interface FrameReceiver {
  port: number;
  frames: Array<{ text: string; at: number }>;
  connections: number;
  /** Stops listening and cuts every connection, as a receiver outage does. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
}

export async function frameReceiver(port = 0): Promise<FrameReceiver> {
  const sockets = new Set<Socket>();
  const r: FrameReceiver = {
    port,
    frames: [],
    connections: 0,
    down: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((res) => server?.close(res));
      server = undefined;
    },
    up: async () => {
      server = listen();
      await new Promise<void>((res) => server?.listen(r.port, "127.0.0.1", res));
      const a = server.address();
      r.port = typeof a === "object" && a ? a.port : r.port;
    },
  };
  const listen = (): TcpServer =>
    createTcpServer((sock) => {
      r.connections++;
      sockets.add(sock);
      sock.on("close", () => sockets.delete(sock));
      sock.on("error", () => undefined);
      let buf = Buffer.alloc(0);
      sock.on("data", (d: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        for (;;) {
          const sp = buf.indexOf(0x20);
          if (sp < 0) break;
          const len = Number(buf.subarray(0, sp).toString("latin1"));
          if (buf.length < sp + 1 + len) break;
          r.frames.push({ text: buf.subarray(sp + 1, sp + 1 + len).toString("utf8"), at: Date.now() });
          buf = buf.subarray(sp + 1 + len);
        }
      });
    });
  let server: TcpServer | undefined;
  await r.up();
  return r;
}

/** The MSG part of a CF-format syslog message (after the SD), without CF's trailing newline. */
export function msgOf(frame: string): string {
  const m = /^<\d+>1 \S+ \S+ \S+ \S+ - (?:-|\[(?:[^\]\\]|\\.)*\])+ ([\s\S]*)$/.exec(frame);
  return (m?.[1] ?? "").replace(/\n$/, "");
}

/** First occurrences only: at-least-once delivery may repeat a message after a reconnect or a failover. */
export function firstSeen(xs: string[]): string[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    if (seen.has(x)) return false;
    seen.add(x);
    return true;
  });
}

const DRAINER_FIXTURE = fileURLToPath(new URL("./fixtures/drainer.mjs", import.meta.url));

/** A drainer in its own process, so a test can SIGKILL it like a crash. */
export interface DrainerProc {
  child: ChildProcess;
  id: string;
  port: number;
}

export function spawnDrainer(env: Record<string, string>): Promise<DrainerProc> {
  const child = spawn(process.execPath, [DRAINER_FIXTURE], {
    env: { PATH: process.env.PATH, ...(process.env.TEST_LOG_LEVEL ? { TEST_LOG_LEVEL: process.env.TEST_LOG_LEVEL } : {}), ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve({ child, ...(JSON.parse(out.slice(0, nl)) as { id: string; port: number }) });
    });
    child.once("exit", (code) => reject(new Error(`drainer exited with ${code}`)));
  });
}

/** How many drains the drainer delivers now (holds the lease of), from its /metrics. */
export async function activeDrains(p: DrainerProc): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
  return Number(/^tailrace_drainer_drains_active (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** Drains that caught up behind the feed so far on a drainer, on a consumer of their own and on a shared replay. */
export async function catchups(p: { port: number }): Promise<{ own: number; replay: number }> {
  const text = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
  const of = (reader: string) =>
    Number(new RegExp(`^tailrace_drainer_catchups_total\\{reader="${reader}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
  return { own: of("own"), replay: of("replay") };
}

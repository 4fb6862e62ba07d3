import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsPublisher, type PublisherOptions } from "@tailrace/agent";
import { AppClaims } from "@tailrace/agent/internal";
import { Doppler, type Doppler as DopplerT, loadDopplerConfig } from "@tailrace/doppler";
import type { Envelope } from "@tailrace/envelope";
import { fromProtoJson, nowNs } from "@tailrace/envelope";
import { createLogger, NATS_CLIENT_DEFAULTS } from "@tailrace/runtime";
import { type NatsServer, startNatsServer, TEST_JWT_SECRET } from "@tailrace/testkit";
import WebSocket from "ws";

/** Processes whose command line names `dir` (a state dir that `tailrace up` put its nats-servers under). */
export function pidsUnder(dir: string): string[] {
  try {
    return execFileSync("pgrep", ["-f", dir], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

export const CLI = fileURLToPath(new URL("../packages/cli/bin/tailrace.mjs", import.meta.url));

export interface Stack {
  nats: NatsServer;
  doppler: DopplerT;
  api: string;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** A real nats-server and a doppler in this process, on free loopback ports. */
export async function startStack(extra: Record<string, string> = {}, natsArgs: string[] = []): Promise<Stack> {
  const nats = await startNatsServer({ args: natsArgs });
  const { doppler, api, env } = await extraDoppler(nats.url, extra);
  return {
    nats,
    doppler,
    api,
    env: { ...env, TAILRACE_API: api },
    async stop() {
      await doppler.stop();
      await nats.stop();
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `tailrace` binary. The child's environment is only what is passed (plus PATH and HOME). */
export function cli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`tailrace ${args.join(" ")} timed out\n${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface TailClient {
  envelopes: Envelope[];
  /** The cursors of the frames that carried envelopes. */
  cursors: string[];
  /** The start cursor a live tail's first frame carries (no envelopes), if it came. */
  start?: string;
  ws: WebSocket;
  close(): void;
}

/** Opens a websocket tail and collects what it receives. Rejects with the HTTP status if the doppler refuses it. */
export function openTail(api: string, path: string, token: string | undefined): Promise<TailClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${api.replace("http", "ws")}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    const client: TailClient = { envelopes: [], cursors: [], ws, close: () => ws.close() };
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { batch: unknown[]; cursor?: string };
      for (const v of frame.batch) client.envelopes.push(fromProtoJson(v));
      if (frame.cursor && frame.batch.length === 0) client.start = frame.cursor;
      else if (frame.cursor) client.cursors.push(frame.cursor);
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
    });
    ws.on("open", () => resolve(client));
    ws.on("error", reject);
  });
}

/** The line number a testPublisher line starts with. */
export function num(e: Envelope): string {
  return text(e).split(" ")[0] as string;
}

export function text(e: Envelope): string {
  return Buffer.from(e.log?.payload ?? []).toString("utf8");
}

/** Re-joins the parts of lines the agent split at 64 KiB, per instance and stream, as the CLI does. */
export function rejoin(envs: Envelope[]): Array<{ type: string; text: string }> {
  const out: Array<{ type: string; text: string }> = [];
  const held = new Map<string, string>();
  for (const e of envs) {
    if (!e.log) continue;
    const key = `${e.instanceId}/${e.log.type}`;
    if (e.tags.partial === "true") {
      held.set(key, (held.get(key) ?? "") + text(e));
      continue;
    }
    out.push({ type: e.log.type, text: (held.get(key) ?? "") + text(e) });
    held.delete(key);
  }
  return out;
}

export interface TestPublisher {
  /**
   * Publishes log lines `i` for i in [from, to), paced at `perSec` (0 = as fast as possible); with `pad`, each line
   * is `i` followed by a space and `pad` bytes.
   */
  lines(tenant: string, app: string, from: number, to: number, perSec?: number, instanceId?: string, pad?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The agent's real publisher, in this process: a fresh agent id each time (a new one is an agent restart). */
export async function agentPublisher(
  natsUrl: string,
  o: Partial<Pick<PublisherOptions, "bufferSize" | "maxBatch" | "maxInFlight" | "publishTimeoutMs">> = {},
): Promise<{ pub: NatsPublisher; close(): Promise<void> }> {
  // As the agent connects (NATS_CLIENT_DEFAULTS), but to the first URL of a list first: a drill places its agents.
  const nc = await connect({ servers: natsUrl.split(","), ...NATS_CLIENT_DEFAULTS, noRandomize: true });
  const pub = new NatsPublisher(jetstream(nc), new AppClaims(nc), {
    bufferSize: o.bufferSize ?? 200_000,
    maxBatch: o.maxBatch ?? 256,
    flushMs: 2,
    maxInFlight: o.maxInFlight ?? 16,
    agentId: `test-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    logger: createLogger({ name: "test-publisher", level: "silent" }),
    maxPayload: () => nc.info?.max_payload,
    connection: nc,
    publishTimeoutMs: o.publishTimeoutMs,
  });
  return {
    pub,
    async close() {
      await pub.stop();
      await nc.close();
    },
  };
}

/** Publishes numbered lines, for tests that need precise control of what is published. */
export async function testPublisher(natsUrl: string): Promise<TestPublisher> {
  const { pub, close } = await agentPublisher(natsUrl);
  return {
    async lines(tenant, app, from, to, perSec = 0, instanceId = "0", pad = 0) {
      const padding = pad > 0 ? ` ${"x".repeat(pad)}` : "";
      const ch = pub.channel(tenant, app);
      const tags = { tenant, app_name: app, source_type: "APP/PROC/WEB", process_type: "web" };
      const start = Date.now();
      for (let i = from; i < to; i++) {
        ch.write({ timestamp: nowNs(), sourceId: app, instanceId, tags, log: { payload: Buffer.from(`${i}${padding}`), type: "OUT" } });
        if (perSec > 0 && (i - from) % 50 === 49) {
          const due = start + ((i - from + 1) / perSec) * 1000;
          const wait = due - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
      }
      await pub.drain(10_000);
    },
    stop: close,
  };
}

/** Starts a doppler (in this process) on a NATS server, with the test secret, on a free loopback port. */
export async function extraDoppler(
  natsUrl: string,
  extra: Record<string, string> = {},
  logger = createLogger({ name: "test-doppler", level: process.env.TEST_LOG_LEVEL ?? "silent" }),
): Promise<{ doppler: DopplerT; api: string; env: Record<string, string> }> {
  const env: Record<string, string> = {
    NATS_URL: natsUrl,
    TAILRACE_JWT_SECRET: TEST_JWT_SECRET,
    TAILRACE_DOPPLER_PORT: "0",
    TAILRACE_DOPPLER_HOST: "127.0.0.1",
    ...extra,
  };
  const doppler = new Doppler(loadDopplerConfig(env), logger);
  await doppler.start();
  return { doppler, api: `http://${env.TAILRACE_DOPPLER_HOST}:${doppler.port}`, env };
}

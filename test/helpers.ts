import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Doppler, type Doppler as DopplerT, loadDopplerConfig } from "@tailrace/doppler";
import type { Envelope } from "@tailrace/envelope";
import { fromProtoJson } from "@tailrace/envelope";
import { createLogger } from "@tailrace/runtime";
import { type NatsServer, startNatsServer, TEST_JWT_SECRET } from "@tailrace/testkit";
import WebSocket from "ws";

export const CLI = fileURLToPath(new URL("../packages/cli/bin/tailrace.mjs", import.meta.url));

export interface Stack {
  nats: NatsServer;
  doppler: DopplerT;
  api: string;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** A real nats-server and a doppler in this process, on free loopback ports. */
export async function startStack(extra: Record<string, string> = {}): Promise<Stack> {
  const nats = await startNatsServer();
  const env = {
    NATS_URL: nats.url,
    TAILRACE_JWT_SECRET: TEST_JWT_SECRET,
    TAILRACE_DOPPLER_PORT: "0",
    TAILRACE_DOPPLER_HOST: "127.0.0.1",
    ...extra,
  };
  const doppler = new Doppler(
    loadDopplerConfig(env),
    createLogger({ name: "test-doppler", level: process.env.TEST_LOG_LEVEL ?? "silent" }),
  );
  await doppler.start();
  const api = `http://127.0.0.1:${doppler.port}`;
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
  cursors: string[];
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
      if (frame.cursor) client.cursors.push(frame.cursor);
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

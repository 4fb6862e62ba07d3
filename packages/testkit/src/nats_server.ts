import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface NatsServer {
  url: string;
  port: number;
  /** The nats-server process, e.g. for its RSS in /proc. */
  pid: number;
  storeDir: string;
  /** Stops the server and removes its store. */
  stop(): Promise<void>;
}

export interface NatsServerOptions {
  jetstream?: boolean;
  /** Extra command-line arguments, e.g. `["-c", "auth.conf"]`. */
  args?: string[];
}

/** Finds nats-server: $NATS_SERVER_BIN, then PATH, then Debian's /usr/sbin. */
export function natsServerBin(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(join(dir, "nats-server"))) return join(dir, "nats-server");
  }
  return "/usr/sbin/nats-server";
}

function waitForPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`nats-server did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Listening for client connections on [^\s]+:(\d+)/.exec(out);
      if (m && /Server is ready/.test(out)) {
        clearTimeout(timer);
        child.stderr?.off("data", onData);
        resolve(Number(m[1]));
      }
    };
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}:\n${out}`));
    });
  });
}

/**
 * Starts a real nats-server on a random loopback port (`-p -1`), with JetStream in a fresh temporary store.
 * The port is read from the server's own log, so there is no race for a "free" port.
 */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const storeDir = await mkdtemp(join(tmpdir(), "tailrace-nats-"));
  const args = ["-a", "127.0.0.1", "-p", "-1", "--http_port", "0", ...(opts.args ?? [])];
  if (opts.jetstream !== false) args.push("-js", "-sd", storeDir);
  const child = spawn(natsServerBin(), args, { stdio: ["ignore", "ignore", "pipe"] });
  const port = await waitForPort(child, 10_000);
  // Keep draining stderr so the server never blocks on a full pipe.
  child.stderr?.resume();
  let stopped = false;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? 0,
    storeDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

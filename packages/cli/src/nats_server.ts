import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

export function findNatsServer(): string | undefined {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/bin"]) {
    if (dir && existsSync(join(dir, "nats-server"))) return join(dir, "nats-server");
  }
  return undefined;
}

export interface LocalNats {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts nats-server with JetStream, its store under `dir`, on 4222 or a random port when 4222 is taken. */
export async function startLocalNats(dir: string): Promise<LocalNats> {
  const bin = findNatsServer();
  if (!bin) throw new Error("nats-server not found: install it (apt-get install nats-server) or set NATS_URL");
  const port = (await portFree(4222)) ? "4222" : "-1";
  const child = spawn(bin, ["-a", "127.0.0.1", "-p", port, "-js", "-sd", dir], { stdio: ["ignore", "ignore", "pipe"] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${out}`)), 15_000);
    child.stderr?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /Listening for client connections on ([^\s]+)/.exec(out);
      if (m && /Server is ready/.test(out)) {
        clearTimeout(timer);
        resolve(`nats://${m[1]}`);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}:\n${out}`));
    });
  });
  child.stderr?.resume();
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5000).unref();
      }),
  };
}

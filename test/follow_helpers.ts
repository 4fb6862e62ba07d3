/**
 * Helpers for drills with many `tailrace logs --follow` clients: a doppler in a process of its own (so a drill can
 * SIGKILL it, as a crash would), and followers that are either the real `tailrace` binary or the command's own follow
 * loop run in this process (`followLogs` from @tailrace/cli), for when a hundred node processes would not fit on two
 * cores.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { followLogs } from "@tailrace/cli/internal";
import { TEST_JWT_SECRET } from "@tailrace/testkit";
import { CLI } from "./helpers.js";

/**
 * Every child these helpers started and that still runs: if the test process ends before a drill's cleanup (a
 * timeout, a crash), they go with it rather than live on holding ports.
 */
const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

export interface DopplerProc {
  child: ChildProcess;
  port: number;
  api: string;
  /** The last lines the doppler logged, for a failing drill's message. */
  log(): string;
  /** SIGKILL: no drain, no goodbye to its websockets or to NATS. */
  kill(): Promise<void>;
  /** SIGTERM, and waits for it to exit. */
  stop(): Promise<void>;
}

/** Runs `tailrace doppler` in a child process on a free loopback port, and resolves once it listens. */
export function spawnDoppler(env: Record<string, string>): Promise<DopplerProc> {
  const child = track(
    spawn(process.execPath, [CLI, "doppler"], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TAILRACE_JWT_SECRET: TEST_JWT_SECRET,
        TAILRACE_DOPPLER_HOST: "127.0.0.1",
        TAILRACE_DOPPLER_PORT: "0",
        // Info at least: the line that says it listens (and on which port) is an info line.
        TAILRACE_LOG_LEVEL: /^(trace|debug)$/.test(process.env.TEST_LOG_LEVEL ?? "") ? (process.env.TEST_LOG_LEVEL as string) : "info",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let log = "";
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-20_000));
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const gone = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`doppler not listening after 30 s:\n${log}`));
    }, 30_000);
    let pending = "";
    child.stdout?.on("data", (d: Buffer) => {
      keep(d);
      pending += d.toString();
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        // The doppler logs one JSON line with the port it bound once it listens (pino, fd 1).
        const port = line.includes("doppler listening") ? (JSON.parse(line) as { port?: number }).port : undefined;
        if (port) {
          clearTimeout(timer);
          resolve({
            child,
            port,
            api: `http://127.0.0.1:${port}`,
            log: () => log,
            kill: () => gone("SIGKILL"),
            stop: () => gone("SIGTERM"),
          });
        }
      }
      if (pending.length > 100_000) pending = "";
    });
    child.once("exit", (code) => reject(new Error(`doppler exited with ${code} before listening:\n${log}`)));
  });
}

/** Websocket tails open on a doppler now, from its /metrics. */
export async function tailsOpen(api: string): Promise<number> {
  const text = await (await fetch(`${api}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  return Number(/^tailrace_tails_open\{component="doppler",kind="tail"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

export interface Follower {
  app: string;
  /** `cli` for the spawned binary, `in-process` for followLogs in this process. */
  kind: "cli" | "in-process";
  /** Complete lines printed so far. */
  lines(): string[];
  /** How many complete lines it printed so far (cheaper than `lines().length`). */
  count(): number;
  /** What it said about its connection (stderr). */
  stderr(): string;
  /** Longest time between two printed lines, of those printed in [from, to) (ms): how long its user saw nothing. */
  longestPauseMs(from: number, to?: number): number;
  stop(): Promise<void>;
}

/** Counts printed lines as they arrive and times the gaps between them. */
class Printed {
  private text = "";
  private lastAt = 0;
  newlines = 0;
  /** [time, gap before it] of each arrival that followed a pause. */
  private gaps: Array<[number, number]> = [];

  write(chunk: string): void {
    const now = Date.now();
    if (this.lastAt && now - this.lastAt > 50) this.gaps.push([now, now - this.lastAt]);
    this.lastAt = now;
    this.text += chunk;
    for (let i = chunk.indexOf("\n"); i >= 0; i = chunk.indexOf("\n", i + 1)) this.newlines++;
  }

  lines(): string[] {
    const all = this.text.split("\n");
    all.pop(); // the part after the last newline is a line still being written
    return all;
  }

  longestPauseMs(from: number, to = Number.POSITIVE_INFINITY): number {
    return this.gaps.filter(([at]) => at >= from && at < to).reduce((m, [, gap]) => Math.max(m, gap), 0);
  }
}

/** `tailrace logs APP --follow`, the real binary, with TAILRACE_API and TAILRACE_TOKEN set. */
export function cliFollower(api: string, token: string, app: string): Follower {
  const child = track(
    spawn(process.execPath, [CLI, "logs", app, "--follow"], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TAILRACE_API: api, TAILRACE_TOKEN: token },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  const out = new Printed();
  let err = "";
  child.stdout?.on("data", (d: Buffer) => out.write(d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    app,
    kind: "cli",
    lines: () => out.lines(),
    count: () => out.newlines,
    stderr: () => err,
    longestPauseMs: (from, to) => out.longestPauseMs(from, to),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The follow loop of `tailrace logs APP --follow` (the command's own code, from @tailrace/cli), in this process. */
export function inProcessFollower(api: string, token: string, app: string): Follower & { done: Promise<void> } {
  const out = new Printed();
  let err = "";
  const ac = new AbortController();
  const done = followLogs({ api, token }, app, new URLSearchParams(), {}, (t) => out.write(t), {
    signal: ac.signal,
    warn: (line) => (err += `${line}\n`),
  }).catch((e: Error) => {
    err += `gave up: ${e.message}\n`;
  });
  return {
    app,
    kind: "in-process",
    done,
    lines: () => out.lines(),
    count: () => out.newlines,
    stderr: () => err,
    longestPauseMs: (from, to) => out.longestPauseMs(from, to),
    async stop() {
      ac.abort();
      await done;
    },
  };
}

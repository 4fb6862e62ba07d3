import { spawn } from "node:child_process";
import { constants } from "node:os";
import type { LogType } from "@tailrace/envelope";
import { nowNs } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import type { InstanceSink } from "./instance.js";
import { LineSplitter } from "./lines.js";

export { sourceType } from "./instance.js";

export interface SupervisedProcess {
  command: string;
  args: string[];
  tenant: string;
  app: string;
  processType: string;
  instanceId: string;
  /** Also copy the child's output to ours, as a foreground process manager does. */
  echo: boolean;
  env?: NodeJS.ProcessEnv;
  /** Per-instance log rate limit in bytes/s; 0 or absent is none. */
  logRateLimit?: number;
}

export interface ProcessHandle {
  pid: number | undefined;
  /** Resolves with the exit code once the child has exited and all its output has been read. */
  exited: Promise<number>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Runs a child the way a container runtime would: every stdout line becomes an OUT log envelope and every stderr
 * line an ERR one, in the order each stream wrote them. Returns once the child is spawned.
 */
export function superviseProcess(p: SupervisedProcess, sink: InstanceSink, logger: Logger): ProcessHandle {
  const emit = (type: LogType) => (line: Buffer, partial: boolean) => sink.logPart(line, type, nowNs(), partial);

  const child = spawn(p.command, p.args, { stdio: ["inherit", "pipe", "pipe"], env: p.env ?? process.env });
  const out = new LineSplitter(emit("OUT"));
  const err = new LineSplitter(emit("ERR"));
  const streamsDone = Promise.all([
    new Promise<void>((r) => {
      child.stdout.on("data", (d: Buffer) => {
        out.push(d);
        if (p.echo) process.stdout.write(d);
      });
      child.stdout.on("close", () => {
        out.end();
        r();
      });
    }),
    new Promise<void>((r) => {
      child.stderr.on("data", (d: Buffer) => {
        err.push(d);
        if (p.echo) process.stderr.write(d);
      });
      child.stderr.on("close", () => {
        err.end();
        r();
      });
    }),
  ]);

  const exited = new Promise<number>((resolve) => {
    child.once("error", (e) => {
      logger.error({ err: e.message, command: p.command }, "could not start the process");
      emit("ERR")(Buffer.from(`tailrace: could not start ${p.command}: ${e.message}`), false);
      resolve(127);
    });
    child.once("exit", (code, signal) => {
      // Shell convention: killed by signal N exits 128+N.
      const status = code ?? 128 + (signal ? constants.signals[signal] : 0);
      streamsDone.then(() => resolve(status));
    });
  });

  return {
    pid: child.pid,
    exited,
    kill: (signal) => {
      if (child.exitCode === null) child.kill(signal);
    },
  };
}

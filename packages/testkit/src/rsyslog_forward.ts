import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./tmp.js";

export interface RsyslogForwarder {
  /** Port of rsyslog's own TCP input (imtcp) on loopback; what it receives is forwarded. */
  port: number;
  dir: string;
  stop(): Promise<void>;
}

export const RSYSLOGD = process.env.RSYSLOGD_BIN ?? "/usr/sbin/rsyslogd";

/**
 * Runs Debian's rsyslogd in the foreground with its own config, work dir and pid file: it listens on a loopback TCP
 * port and forwards everything to `forwardPort` over TCP with RFC 6587 octet counting, in RFC 5424 format.
 */
export async function startRsyslogForwarder(forwardPort: number, inPort: number): Promise<RsyslogForwarder> {
  const tmp = await tempDir("tailrace-rsyslog-");
  const work = join(tmp.path, "work");
  mkdirSync(work);
  const conf = join(tmp.path, "rsyslog.conf");
  const pid = join(tmp.path, "rsyslog.pid");
  writeFileSync(
    conf,
    [
      `global(workDirectory="${work}")`,
      'module(load="imtcp")',
      `input(type="imtcp" address="127.0.0.1" port="${inPort}")`,
      `action(type="omfwd" target="127.0.0.1" port="${forwardPort}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format" queue.type="LinkedList" action.resumeRetryCount="-1" action.resumeInterval="1")`,
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn(RSYSLOGD, ["-n", "-f", conf, "-i", pid], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const end = Date.now() + 10_000;
  while (!existsSync(pid) || readFileSync(pid, "utf8").trim() === "") {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`rsyslogd did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: inPort,
    dir: tmp.path,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      await tmp.remove();
    },
  };
}

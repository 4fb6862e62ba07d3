/**
 * A real rsyslogd (Debian's) as a drain receiver: its own config, work dir and pid file in a temp dir, run in the
 * foreground on a loopback port it picks itself (port 0, read back from `listenPortFileName`). What it parses goes to
 * `out.jsonl`, one JSON object a message, through a template of ours, so a test can check every field it parsed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface RsyslogTls {
  /** `gtls` (GnuTLS) or `ossl` (OpenSSL). */
  driver: "gtls" | "ossl";
  caFile: string;
  certFile: string;
  keyFile: string;
  /** `anon` accepts any client; `x509/certvalid` wants a client certificate signed by the CA (mTLS). */
  authMode: "anon" | "x509/certvalid";
}

export interface RsyslogOptions {
  dir: string;
  tls?: RsyslogTls;
  /** Concurrent TCP sessions imtcp accepts (its default is 200; a bench with thousands of drains needs more). */
  maxSessions?: number;
}

/** One message as rsyslog parsed it. */
export interface ParsedSyslog {
  pri: string;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: string;
  msg: string;
}

export interface Rsyslog {
  port: number;
  outFile: string;
  /** Everything parsed so far. */
  messages(): ParsedSyslog[];
  stop(): Promise<void>;
  /** rsyslogd's own output, for failing tests. */
  stderr(): string;
}

const BIN = process.env.RSYSLOGD_BIN ?? "/usr/sbin/rsyslogd";

const FIELDS: Array<[keyof ParsedSyslog, string]> = [
  ["pri", 'property(name="pri" format="json")'],
  ["timestamp", 'property(name="timereported" dateFormat="rfc3339" format="json")'],
  ["hostname", 'property(name="hostname" format="json")'],
  ["appName", 'property(name="app-name" format="json")'],
  ["procId", 'property(name="procid" format="json")'],
  ["msgId", 'property(name="msgid" format="json")'],
  ["sd", 'property(name="structured-data" format="json")'],
  ["msg", 'property(name="msg" format="json")'],
];

function template(): string {
  const parts = FIELDS.map(([k, prop], i) => `constant(value="${i === 0 ? "{" : ","}\\"${k}\\":\\"") ${prop} constant(value="\\"")`);
  return `template(name="tailrace_test" type="list") {\n  ${parts.join("\n  ")}\n  constant(value="}\\n")\n}`;
}

function config(o: RsyslogOptions, portFile: string, outFile: string): string {
  const t = o.tls;
  const driver = t
    ? ` defaultNetstreamDriver="${t.driver}" defaultNetstreamDriverCAFile="${t.caFile}" defaultNetstreamDriverCertFile="${t.certFile}" defaultNetstreamDriverKeyFile="${t.keyFile}"`
    : "";
  const sessions = o.maxSessions ? ` MaxSessions="${o.maxSessions}"` : "";
  const imtcp = `${sessions}${t ? ` StreamDriver.Name="${t.driver}" StreamDriver.Mode="1" StreamDriver.AuthMode="${t.authMode}"` : ""}`;
  return [
    // Before imtcp loads: the default of 8k would cut long lines.
    `global(maxMessageSize="256k" workDirectory="${o.dir}"${driver})`,
    `module(load="imtcp"${imtcp})`,
    template(),
    'ruleset(name="tailrace_test") {',
    `  action(type="omfile" file="${outFile}" template="tailrace_test" flushOnTXEnd="on" asyncWriting="off")`,
    "}",
    `input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${portFile}" ruleset="tailrace_test")`,
    "",
  ].join("\n");
}

export async function startRsyslog(o: RsyslogOptions): Promise<Rsyslog> {
  await mkdir(o.dir, { recursive: true });
  const conf = join(o.dir, "rsyslog.conf");
  const portFile = join(o.dir, "port");
  const outFile = join(o.dir, "out.jsonl");
  const pidFile = join(o.dir, "rsyslogd.pid");
  await writeFile(conf, config(o, portFile, outFile));
  let out = "";
  const child: ChildProcess = spawn(BIN, ["-n", "-f", conf, "-i", pidFile], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const end = Date.now() + 10_000;
    const poll = () => {
      if (child.exitCode !== null) return reject(new Error(`rsyslogd exited with ${child.exitCode}:\n${out}`));
      if (existsSync(portFile)) {
        const p = Number(readFileSync(portFile, "utf8").trim());
        if (p > 0) return resolve(p);
      }
      if (Date.now() > end) return reject(new Error(`rsyslogd did not start listening:\n${out}`));
      setTimeout(poll, 20);
    };
    poll();
  });
  return {
    port,
    outFile,
    stderr: () => out,
    messages() {
      if (!existsSync(outFile)) return [];
      return readFileSync(outFile, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ParsedSyslog);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

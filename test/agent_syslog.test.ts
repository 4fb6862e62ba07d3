import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { connect, createServer } from "node:net";
import { promisify } from "node:util";
import { startRsyslogForwarder, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lines, logsOf, openTails, startAgent, type TestAgent } from "./agent_helpers.js";
import { type Stack, startStack } from "./helpers.js";

const run = promisify(execFile);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function sendTcp(port: number, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => s.end(data));
    s.on("close", () => resolve());
    s.on("error", reject);
  });
}

function sendUdp(port: number, msgs: Buffer[]): Promise<void> {
  const s = createSocket("udp4");
  return new Promise((resolve) => {
    let left = msgs.length;
    for (const m of msgs) {
      s.send(m, port, "127.0.0.1", () => {
        if (--left > 0) return;
        s.close();
        resolve();
      });
    }
  });
}

const SD = '[tailrace@47450 tenant="acme" app="sysapp" instance="2"]';

describe("agent syslog ingress", () => {
  let stack: Stack;
  let agent: TestAgent;
  let port: number;
  let token: string;
  beforeAll(async () => {
    stack = await startStack();
    token = await testToken({ tenant: "acme" });
    agent = await startAgent(stack, { TAILRACE_SYSLOG_ADDR: "127.0.0.1:0", TAILRACE_SYSLOG_TENANT: "acme" });
    port = agent.agent.ports.syslog;
  });
  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
  });

  it("syslog - accepts what a real rsyslog forwards over TCP with octet counting", async () => {
    const [tail, hostTail] = (await openTails(stack, ["sysapp", "hostapp"], token)).values();
    const rsyslog = await startRsyslogForwarder(port, await freePort());
    try {
      const msgs: string[] = [];
      for (let i = 0; i < 300; i++)
        msgs.push(`<14>1 2026-11-23T10:00:00.${String(i).padStart(6, "0")}Z web1 sysapp 42 - ${SD} message ${i} ✓`);
      // RFC 3164 with a `tenant.app` hostname, and an error-severity RFC 5424 line.
      msgs.push("<13>Nov 23 10:00:01 acme.hostapp myproc[7]: bsd style");
      msgs.push(`<11>1 2026-11-23T10:00:02Z web1 sysapp 42 - ${SD} an error`);
      await sendTcp(rsyslog.port, `${msgs.join("\n")}\n`);
      await waitFor("rsyslog's messages", () => lines(tail!.envelopes).length >= 300 && lines(hostTail!.envelopes).length >= 1, 15_000);
      expect(lines(tail!.envelopes)).toEqual(Array.from({ length: 300 }, (_, i) => `message ${i} ✓`));
      await waitFor("the error line", () => lines(tail!.envelopes, "ERR").length === 1);
      expect(lines(tail!.envelopes, "ERR")).toEqual(["an error"]);
      // rsyslog's %msg% keeps the space after an RFC 3164 TAG's colon, and the agent keeps MSG as sent.
      expect(lines(hostTail!.envelopes)).toEqual([" bsd style"]);
      const e = logsOf(tail!.envelopes)[5]!;
      expect(e.tags).toMatchObject({ tenant: "acme", app_name: "sysapp", process_type: "syslog" });
      expect(e.instanceId).toBe("2");
      expect(e.timestamp).toBe(1795428000000005000n);
    } finally {
      await rsyslog.stop();
      tail!.close();
      hostTail!.close();
    }
  });

  it("syslog - accepts `logger --rfc5424` over UDP", async () => {
    const [tail] = (await openTails(stack, ["loggerapp"], token)).values();
    await run("logger", [
      "--rfc5424",
      "-d",
      "-n",
      "127.0.0.1",
      "-P",
      String(port),
      "-t",
      "loggerapp",
      "--sd-id",
      "tailrace@47450",
      "--sd-param",
      'tenant="acme"',
      "--sd-param",
      'app="loggerapp"',
      "hello from logger",
    ]);
    // Default tenant (TAILRACE_SYSLOG_TENANT) with APP-NAME as the app, when the message names neither.
    await run("logger", ["--rfc5424", "-d", "-n", "127.0.0.1", "-P", String(port), "-t", "loggerapp", "plain tag"]);
    await waitFor("logger's lines", () => lines(tail!.envelopes).length >= 2, 30_000);
    expect(lines(tail!.envelopes).sort()).toEqual(["hello from logger", "plain tag"]);
    tail!.close();
  });

  it("syslog - fuzzed frames and bad names are counted, crash nothing, and cost good neighbours nothing", async () => {
    const [tail] = (await openTails(stack, ["fuzzed"], token)).values();
    const before = agent.agent.stats().dropped;
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const junk = () => Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
    const good = (i: number) => `<14>1 - h fuzzed - - [tailrace@47450 tenant="acme" app="fuzzed"] good ${i}`;
    const want: string[] = [];
    const udp: Buffer[] = [];
    let tcp = "";
    const tcpParts: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      want.push(`good ${i}`);
      const g = Buffer.from(good(i));
      udp.push(junk(), g);
      // TCP: octet-counted good frames between junk lines that end in LF, so the framer can resynchronise.
      tcpParts.push(Buffer.concat([junk().filter((b) => b !== 0x0a && b !== 0x3c), Buffer.from("\n")]), Buffer.from(`${g.length} `), g);
    }
    // Names that could widen a subject are refused, not rewritten.
    udp.push(Buffer.from('<14>1 - h x - - [tailrace@47450 tenant="a.b" app="fuzzed"] bad tenant'));
    udp.push(Buffer.from('<14>1 - h x - - [tailrace@47450 tenant="acme" app="*"] bad app'));
    tcp = Buffer.concat(tcpParts).toString("latin1");
    await sendUdp(port, udp);
    await sendTcp(port, Buffer.from(tcp, "latin1"));
    await waitFor("good messages", () => lines(tail!.envelopes).length >= 800, 15_000);
    const got = lines(tail!.envelopes);
    // UDP on loopback may reorder nothing but could, in principle, drop under load; here every datagram arrives.
    expect(got.filter((l) => l.startsWith("good")).sort()).toEqual([...want, ...want].sort());
    const after = agent.agent.stats().dropped;
    expect(after.malformed - before.malformed).toBeGreaterThanOrEqual(400);
    expect(after.invalid_name - before.invalid_name).toBe(2);
    // Still listening.
    await sendUdp(port, [Buffer.from(good(9999))]);
    await waitFor("a message after the fuzz", () => lines(tail!.envelopes).includes("good 9999"));
    tail!.close();
  });
});

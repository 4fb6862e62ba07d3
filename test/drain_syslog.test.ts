import { rfc3339Micros, tagsElement } from "@tailrace/drainer/internal";
import { makeTestPki, type ParsedSyslog, type Rsyslog, startRsyslog, type TempDir, tempDir, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DrainStack, type Publisher, startDrainStack } from "./drain_helpers.js";

const BIG = `big ${"é".repeat(10)}${"x".repeat(60 * 1024)} end`;
const LINES: Array<{ text: string; type: "OUT" | "ERR" }> = [
  { text: "plain ascii line", type: "OUT" },
  { text: "ünïcødé ✓ 日本語 emoji 🚀", type: "OUT" },
  { text: "an error line", type: "ERR" },
  { text: BIG, type: "OUT" },
  { text: 'quotes " and \\ and ] in text', type: "OUT" },
];

describe("syslog drains to a real rsyslog", () => {
  let ds: DrainStack;
  let dir: TempDir;
  let pub: Publisher;
  const receivers: Rsyslog[] = [];
  beforeAll(async () => {
    ds = await startDrainStack();
    dir = await tempDir("tailrace-drain-syslog-");
    await ds.startDrainer();
    pub = await ds.publisher();
  });
  afterAll(async () => {
    for (const r of receivers) await r.stop();
    await ds?.stop();
    await dir?.remove();
  });

  async function bind(app: string, url: string, tls?: object): Promise<void> {
    const { testToken } = await import("@tailrace/testkit");
    const token = await testToken({ tenant: "acme", scopes: ["drains.write"] });
    const res = await fetch(`${ds.api}/v1/apps/${app}/drains`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ url, ...(tls ? { tls } : {}) }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  }

  async function sendAndCheck(app: string, r: Rsyslog): Promise<void> {
    // Tag values that need escaping, to see the SD survive a strict parser.
    const tags = { tenant: "acme", app_name: app, source_type: "APP/PROC/WEB", process_type: "web", odd: 'a"b\\c]d' };
    const sent = LINES.map((l) => pub.line("acme", app, l.text, { type: l.type, tags, instance: "0" }));
    await pub.drain();
    const got = await waitFor(
      "rsyslog to parse every line",
      () => {
        const ms = r.messages().filter((m) => m.appName === app && !m.sd.includes('source_type="LGR"'));
        return ms.length >= sent.length ? ms : undefined;
      },
      20_000,
    );
    expect(got).toHaveLength(sent.length);
    got.forEach((m: ParsedSyslog, i) => {
      const e = sent[i];
      if (!e?.log) throw new Error("no envelope");
      expect(m.pri).toBe(e.log.type === "ERR" ? "11" : "14");
      expect(m.timestamp).toBe(rfc3339Micros(e.timestamp));
      expect(m.hostname).toBe(`acme.${app}`);
      expect(m.appName).toBe(app);
      expect(m.procId).toBe("[APP/PROC/WEB/0]");
      expect(m.msgId).toBe("-");
      expect(m.sd).toBe(tagsElement(e.tags));
      expect(m.sd).toContain('odd="a\\"b\\\\c\\]d"');
      expect(Buffer.from(m.msg, "utf8").equals(Buffer.from(e.log.payload))).toBe(true);
    });
    expect(got[3]?.msg.length).toBe(BIG.length);
  }

  it("drain - syslog:// delivers every field, non-ASCII and a 60 KiB line to rsyslog over TCP", async () => {
    const r = await startRsyslog({ dir: `${dir.path}/tcp` });
    receivers.push(r);
    await bind("web-tcp", `syslog://127.0.0.1:${r.port}`);
    await sendAndCheck("web-tcp", r);
  });

  it("drain - syslog-tls:// with a per-drain CA and client certificate (mTLS) to rsyslog's GnuTLS driver", async () => {
    await import("node:fs/promises").then((fs) => fs.mkdir(`${dir.path}/pki`));
    const pki = await makeTestPki(`${dir.path}/pki`);
    const r = await startRsyslog({
      dir: `${dir.path}/tls`,
      tls: { driver: "gtls", caFile: pki.caFile, certFile: pki.server.certFile, keyFile: pki.server.keyFile, authMode: "x509/certvalid" },
    });
    receivers.push(r);
    await bind("web-tls", `syslog-tls://localhost:${r.port}`, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
    await sendAndCheck("web-tls", r);
  });

  it("drain - syslog-tls:// to rsyslog's OpenSSL driver; an untrusted certificate is reported in the app's stream", async () => {
    await import("node:fs/promises").then((fs) => fs.mkdir(`${dir.path}/pki2`));
    const pki = await makeTestPki(`${dir.path}/pki2`);
    const r = await startRsyslog({
      dir: `${dir.path}/ossl`,
      tls: { driver: "ossl", caFile: pki.caFile, certFile: pki.server.certFile, keyFile: pki.server.keyFile, authMode: "anon" },
    });
    receivers.push(r);
    await bind("web-ossl", `syslog-tls://localhost:${r.port}`, { ca: pki.ca });
    await sendAndCheck("web-ossl", r);

    // Without the CA, the certificate does not verify: nothing is sent, and the app's own stream says why.
    await bind("web-untrusted", `syslog-tls://localhost:${r.port}`);
    pub.line("acme", "web-untrusted", "never delivered");
    await pub.drain();
    const { testToken } = await import("@tailrace/testkit");
    const token = await testToken({ tenant: "acme" });
    const notice = await waitFor(
      "an LGR line about the TLS failure",
      async () => {
        const res = await fetch(`${ds.stack.api}/api/v1/read/web-untrusted?limit=100`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { envelopes: { batch: Array<{ tags: Record<string, string>; log?: { payload: string } }> } };
        return body.envelopes.batch
          .filter((e) => e.tags.source_type === "LGR")
          .map((e) => Buffer.from(e.log?.payload ?? "", "base64").toString())
          .find((t) => t.includes("TLS"));
      },
      20_000,
    );
    expect(notice).toMatch(new RegExp(`^Tailrace drain syslog-tls://localhost:${r.port} failed: TLS: .*(certificate|verify)`));
    expect(r.messages().filter((m) => m.appName === "web-untrusted")).toHaveLength(0);
  });
});

import { request } from "node:http";
import { connect } from "node:tls";
import { makeTestPki, type TestPki, tempDir, testToken } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, extraDoppler, type Stack, startStack, testPublisher } from "./helpers.js";

describe("TLS on the doppler", () => {
  let stack: Stack;
  let pki: TestPki;
  let otherPki: TestPki;
  let api: string;
  let port: number;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    stack = await startStack();
    pki = await makeTestPki((await tempDir()).path);
    otherPki = await makeTestPki((await tempDir()).path);
    const d = await extraDoppler(stack.nats.url, { TAILRACE_TLS_CERT: pki.server.certFile, TAILRACE_TLS_KEY: pki.server.keyFile });
    port = d.doppler.port;
    api = `https://localhost:${port}`;
    stop = () => d.doppler.stop();
    const pub = await testPublisher(stack.nats.url);
    await pub.lines("acme", "tls-app", 0, 3);
    await pub.stop();
  });
  afterAll(async () => {
    await stop?.();
    await stack?.stop();
  });

  it("tls - the CLI reads over TLS when it trusts the test CA", async () => {
    const token = await testToken({ tenant: "acme" });
    const r = await cli(["logs", "tls-app", "--recent"], { TAILRACE_API: api, TAILRACE_TOKEN: token, TAILRACE_CA: pki.caFile });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toHaveLength(3);
  });

  it("tls - without the CA, or trusting another CA, the CLI refuses the certificate and says so", async () => {
    const token = await testToken({ tenant: "acme" });
    const untrusted = await cli(["logs", "tls-app", "--recent"], { TAILRACE_API: api, TAILRACE_TOKEN: token });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/certificate/i);
    const wrong = await cli(["logs", "tls-app", "--recent", "--ca", otherPki.caFile], { TAILRACE_API: api, TAILRACE_TOKEN: token });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/certificate/i);
    // The name must match too: a doppler on 127.0.0.2 serving a certificate for localhost and 127.0.0.1.
    const elsewhere = await extraDoppler(stack.nats.url, {
      TAILRACE_DOPPLER_HOST: "127.0.0.2",
      TAILRACE_TLS_CERT: pki.server.certFile,
      TAILRACE_TLS_KEY: pki.server.keyFile,
    });
    const mismatch = await cli(["logs", "tls-app", "--recent"], {
      TAILRACE_API: `https://127.0.0.2:${elsewhere.doppler.port}`,
      TAILRACE_TOKEN: token,
      TAILRACE_CA: pki.caFile,
    });
    await elsewhere.doppler.stop();
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID|IP: 127\.0\.0\.2 is not in the cert's list/);
  });

  it("tls - plain HTTP on the TLS port fails cleanly, and TLS 1.1 is refused", async () => {
    const plain = await new Promise<string>((resolve) => {
      const req = request({ host: "127.0.0.1", port, path: "/healthz" }, (res) => resolve(`status ${res.statusCode}`));
      req.on("error", (err) => resolve(`error ${(err as NodeJS.ErrnoException).code}`));
      req.setTimeout(5000, () => req.destroy(new Error("timeout")));
      req.end();
    });
    expect(plain).toMatch(/^error (ECONNRESET|EPIPE)|^status 400/);
    const old = await new Promise<string>((resolve) => {
      const s = connect({ host: "127.0.0.1", port, servername: "localhost", ca: pki.ca, maxVersion: "TLSv1.1", minVersion: "TLSv1" }, () =>
        resolve("connected"),
      );
      s.on("error", (err) => resolve(`error ${err.message}`));
    });
    expect(old).toMatch(/^error/);
  });
});

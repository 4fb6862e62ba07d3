import { request as httpsRequest } from "node:https";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { makeTestPki, TEST_JWT_SECRET, type TestPki, tempDir, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTails, startAgent, type TestAgent } from "./agent_helpers.js";
import { type Stack, startStack, text } from "./helpers.js";

const frame = (msg: string) => `${Buffer.byteLength(msg)} ${msg}`;

describe("agent ingress over TLS", () => {
  let stack: Stack;
  let agent: TestAgent;
  let pki: TestPki;
  let token: string;
  beforeAll(async () => {
    stack = await startStack();
    pki = await makeTestPki((await tempDir()).path);
    token = await testToken({ tenant: "acme" });
    agent = await startAgent(stack, {
      TAILRACE_SYSLOG_ADDR: "127.0.0.1:0",
      TAILRACE_INGRESS_ADDR: "127.0.0.1:0",
      TAILRACE_JWT_SECRET: TEST_JWT_SECRET,
      TAILRACE_TLS_CERT: pki.server.certFile,
      TAILRACE_TLS_KEY: pki.server.keyFile,
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
  });

  it("tls - syslog over TLS is accepted; plaintext on the TLS port is not", async () => {
    const [tail] = (await openTails(stack, ["tlssys"], token)).values();
    const plain = netConnect(agent.agent.ports.syslog, "127.0.0.1");
    plain.on("error", () => undefined);
    plain.write(frame('<14>1 - h tlssys - - [tailrace@47450 tenant="acme" app="tlssys"] sent in the clear'));
    const sock = tlsConnect({ host: "127.0.0.1", port: agent.agent.ports.syslog, servername: "localhost", ca: pki.ca });
    await new Promise((r) => sock.once("secureConnect", r));
    sock.write(frame('<14>1 - h tlssys - - [tailrace@47450 tenant="acme" app="tlssys"] sent over TLS'));
    await waitFor("the TLS line", () => tail?.envelopes.some((e) => text(e) === "sent over TLS"));
    await new Promise((r) => setTimeout(r, 300));
    sock.end();
    plain.destroy();
    tail?.close();
    expect(tail?.envelopes.map(text)).toEqual(["sent over TLS"]);
  });

  it("tls - the HTTP ingress serves HTTPS with the certificate, and refuses TLS 1.1", async () => {
    const body = JSON.stringify({ batch: [{ source_id: "tlshttp", event: { title: "over", body: "https" } }] });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port: agent.agent.ports.ingress,
          path: "/v1/envelopes",
          method: "POST",
          servername: "localhost",
          ca: pki.ca,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(status).toBe(202);
    const old = await new Promise<string>((resolve) => {
      const s = tlsConnect(
        {
          host: "127.0.0.1",
          port: agent.agent.ports.ingress,
          servername: "localhost",
          ca: pki.ca,
          maxVersion: "TLSv1.1",
          minVersion: "TLSv1",
        },
        () => resolve("connected"),
      );
      s.on("error", (err) => resolve(`error ${err.message}`));
    });
    expect(old).toMatch(/^error/);
  });
});

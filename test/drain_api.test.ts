import { readFileSync } from "node:fs";
import { type TempDir, tempDir, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DrainStack, startDrainStack } from "./drain_helpers.js";

async function post(
  api: string,
  app: string,
  token: string | undefined,
  body: unknown,
): Promise<{ status: number; error?: string; json: Record<string, unknown> }> {
  const res = await fetch(`${api}/v1/apps/${app}/drains`, {
    method: "POST",
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, json, ...(typeof json.error === "string" ? { error: json.error } : {}) };
}

describe("drains API", () => {
  let ds: DrainStack;
  let dir: TempDir;
  let writer: string;
  beforeAll(async () => {
    dir = await tempDir("tailrace-drain-api-");
    ds = await startDrainStack({ apiLogFile: `${dir.path}/api.log` });
    writer = await testToken({ tenant: "acme", scopes: ["drains.write"] });
  });
  afterAll(async () => {
    await ds?.stop();
    await dir?.remove();
  });

  it("drain - internal destinations are refused unless the operator allows them", async () => {
    for (const [url, reason] of [
      ["syslog://10.0.0.1:514", /10\.0\.0\.1 refused: private network/],
      ["syslog-tls://169.254.169.254", /169\.254\.169\.254 refused: link-local/],
      ["https://[::ffff:10.0.0.1]/x", /private network/],
      ["syslog://0.0.0.0:514", /unspecified/],
    ] as const) {
      const r = await post(ds.api, "guarded", writer, { url });
      expect(r.status, url).toBe(400);
      expect(r.error).toMatch(reason);
    }
    // 127.0.0.0/8 is allowed in this stack, by the operator's list.
    expect((await post(ds.api, "guarded", writer, { url: "syslog://localhost:5514" })).status).toBe(201);
    const allowing = await startDrainStack({ allow: "10.0.0.0/8,169.254.169.254/32" });
    try {
      expect((await post(allowing.api, "guarded", writer, { url: "syslog://10.0.0.1:514" })).status).toBe(201);
      expect((await post(allowing.api, "guarded", writer, { url: "syslog-tls://169.254.169.254" })).status).toBe(201);
      expect((await post(allowing.api, "guarded", writer, { url: "syslog://127.0.0.1:514" })).status).toBe(400);
    } finally {
      await allowing.stop();
    }
  });

  it("drain - bad URLs and bodies get a 400 that says what is wrong", async () => {
    for (const [body, reason] of [
      [{ url: "http://logs.example.com" }, /plain http/],
      [{ url: "ftp://logs.example.com" }, /unsupported scheme "ftp"/],
      [{ url: "syslog://logs.example.com:99999" }, /port must be/],
      [{ url: "syslog://logs example.com" }, /whitespace/],
      [{ url: "syslog://logs.example.com?foo=bar" }, /unknown query parameter "foo"/],
      [{ url: "syslog://logs.example.com?drain-data=everything" }, /drain-data must be logs, metrics or all/],
      [{ url: "syslog://logs.example.com/path" }, /take no path/],
      [{ url: "" }, /empty/],
      [{ url: 42 }, /body must be/],
      ["not json", /body must be JSON/],
      [{ url: "syslog-tls://localhost:6514", tls: { ca: "not a pem" } }, /tls.ca holds no PEM certificate/],
      [{ url: "syslog-tls://localhost:6514", tls: { cert: "x" } }, /tls.cert and tls.key go together/],
    ] as const) {
      const r = await post(ds.api, "badurls", writer, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.error).toMatch(reason);
    }
  });

  it("drain - scopes, tenancy, the per-app limit, listing without credentials and removal", async () => {
    expect((await post(ds.api, "scoped", undefined, { url: "syslog://localhost:1" })).status).toBe(401);
    const reader = await testToken({ tenant: "acme", scopes: ["logs.read"] });
    expect((await post(ds.api, "scoped", reader, { url: "syslog://localhost:1" })).status).toBe(403);
    // An app of another tenant is a 404, as for reads.
    const pub = await ds.publisher();
    pub.line("other", "theirs", "claims the app for tenant other");
    await pub.drain();
    await waitFor(
      "the claim to reach the registry",
      async () => (await post(ds.api, "theirs", writer, { url: "syslog://localhost:1" })).status === 404,
    );

    const secretUrl = "syslog-tls://alice:hunter2-secret@localhost:6514";
    const first = await post(ds.api, "limited", writer, { url: secretUrl });
    expect(first.status).toBe(201);
    expect(JSON.stringify(first.json)).not.toContain("hunter2");
    expect(first.json.url).toBe("syslog-tls://localhost:6514");
    expect((await post(ds.api, "limited", writer, { url: secretUrl })).status).toBe(409);
    for (let i = 2; i <= 5; i++) expect((await post(ds.api, "limited", writer, { url: `syslog://localhost:${i}` })).status).toBe(201);
    const sixth = await post(ds.api, "limited", writer, { url: "syslog://localhost:6" });
    expect(sixth.status).toBe(409);
    expect(sixth.error).toMatch(/already has 5 drains/);

    const list = await fetch(`${ds.api}/v1/apps/limited/drains`, { headers: { authorization: `Bearer ${reader}` } });
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(text).not.toContain("hunter2");
    const drains = (JSON.parse(text) as { drains: Array<{ id: string; url: string }> }).drains;
    expect(drains.map((d) => d.url)).toEqual(["syslog-tls://localhost:6514", ...[2, 3, 4, 5].map((i) => `syslog://localhost:${i}`)]);

    const del = (id: string, token: string) =>
      fetch(`${ds.api}/v1/apps/limited/drains/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
    expect((await del(drains[0]?.id as string, reader)).status).toBe(403);
    expect((await del(drains[0]?.id as string, writer)).status).toBe(204);
    expect((await del(drains[0]?.id as string, writer)).status).toBe(404);
    expect((await post(ds.api, "limited", writer, { url: "syslog://localhost:6" })).status).toBe(201);
  });

  it("drain - credentials never reach a log line or an LGR line, even while the drain fails", async () => {
    const logFile = `${dir.path}/drainer.log`;
    const drainer = await ds.startDrainer({}, logFile);
    const r = await post(ds.api, "creds", writer, { url: "https://bob:s3cr3t-pa55@127.0.0.1:1/drain" });
    expect(r.status).toBe(201);
    const pub = await ds.publisher();
    pub.line("acme", "creds", "a line for a drain that cannot connect");
    await pub.drain();
    await waitFor("the drain to fail", () => (drainer.stats().find((s) => s.source_id === "creds")?.errors ?? 0) > 1, 15_000);
    const reader = await testToken({ tenant: "acme" });
    const lgr = await waitFor("an LGR line", async () => {
      const res = await fetch(`${ds.stack.api}/api/v1/read/creds?limit=100`, { headers: { authorization: `Bearer ${reader}` } });
      return (
        (await res.json()) as { envelopes: { batch: Array<{ tags: Record<string, string>; log?: { payload: string } }> } }
      ).envelopes.batch
        .filter((e) => e.tags.source_type === "LGR")
        .map((e) => Buffer.from(e.log?.payload ?? "", "base64").toString())[0];
    });
    expect(lgr).toMatch(/^Tailrace drain https:\/\/127\.0\.0\.1:1\/drain failed: .*ECONNREFUSED/);
    await new Promise((res) => setTimeout(res, 500)); // pino writes asynchronously
    const logs = readFileSync(logFile, "utf8") + readFileSync(`${dir.path}/api.log`, "utf8");
    expect(logs).toContain("https://127.0.0.1:1/drain"); // the anonymised URL is logged...
    expect(logs).not.toContain("s3cr3t"); // ...the password never
    expect(logs).not.toContain("hunter2");
    expect(JSON.stringify(drainer.stats())).not.toContain("s3cr3t");

    // The listing shows the drain's last error, as its LGR line said it, so a console can show it on first load.
    const listed = await waitFor("the last error in the listing", async () => {
      const res = await fetch(`${ds.api}/v1/apps/creds/drains`, { headers: { authorization: `Bearer ${writer}` } });
      const body = (await res.json()) as { drains: Array<{ url: string; last_error?: { at: string; message: string } }> };
      return body.drains[0]?.last_error ? body : undefined;
    });
    const d = listed.drains[0];
    expect(d?.last_error?.message).toMatch(/^Tailrace drain https:\/\/127\.0\.0\.1:1\/drain failed: .*ECONNREFUSED/);
    expect(Date.parse(d?.last_error?.at ?? "")).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.stringify(listed)).not.toContain("s3cr3t");
  });
});

describe("drains API per-tenant limit", () => {
  it("drain - a tenant past its drain limit gets a 409 that says so; other tenants are unaffected", async () => {
    const ds = await startDrainStack({ maxPerTenant: 3 });
    try {
      const acme = await testToken({ tenant: "acme", scopes: ["drains.write"] });
      const beta = await testToken({ tenant: "beta", scopes: ["drains.write"] });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await post(ds.api, `app${i}`, acme, { url: `syslog://127.0.0.1:${1000 + i}` });
        expect(r.status).toBe(201);
        ids.push(r.json.id as string);
      }
      const over = await post(ds.api, "app9", acme, { url: "syslog://127.0.0.1:1999" });
      expect(over.status).toBe(409);
      expect(over.error).toMatch(/this tenant already has 3 drains, the most allowed/);
      expect((await post(ds.api, "betaapp", beta, { url: "syslog://127.0.0.1:2000" })).status).toBe(201);
      // A removed drain leaves a delete marker in the bucket; it frees its place all the same, in the tenant and the app.
      const del = await fetch(`${ds.api}/v1/apps/app0/drains/${ids[0]}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${acme}` },
      });
      expect(del.status).toBe(204);
      expect((await post(ds.api, "app0", acme, { url: "syslog://127.0.0.1:1999" })).status).toBe(201);
      expect((await post(ds.api, "app9", acme, { url: "syslog://127.0.0.1:1998" })).status).toBe(409);
    } finally {
      await ds.stop();
    }
  });
});

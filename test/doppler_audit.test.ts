import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Doppler, loadDopplerConfig } from "@tailrace/doppler";
import { createLogger } from "@tailrace/runtime";
import { startNatsServer, TEST_JWT_SECRET, tempDir, testToken } from "@tailrace/testkit";
import { describe, expect, it } from "vitest";
import { openTail, testPublisher } from "./helpers.js";

describe("doppler audit log", () => {
  it("audit - every 401, 403 and 404 is logged at info with path, status and reason, never the token", async () => {
    const nats = await startNatsServer();
    const dir = await tempDir();
    const file = join(dir.path, "doppler.log");
    const env = {
      NATS_URL: nats.url,
      TAILRACE_JWT_SECRET: TEST_JWT_SECRET,
      TAILRACE_DOPPLER_PORT: "0",
      TAILRACE_DOPPLER_HOST: "127.0.0.1",
    };
    const doppler = new Doppler(loadDopplerConfig(env), createLogger({ name: "doppler", level: "info", file }));
    await doppler.start();
    const api = `http://127.0.0.1:${doppler.port}`;
    const expired = await testToken({ tenant: "acme", ttlSec: -60 });
    const noScope = await testToken({ tenant: "acme", scopes: ["drains.write"] });
    const other = await testToken({ tenant: "beta" });
    // Give the app an owner so that beta's request is a 404.
    const acme = await testToken({ tenant: "acme" });
    const pub = await testPublisher(nats.url);
    await pub.lines("acme", "audited", 0, 1);
    await pub.stop();

    const statuses: number[] = [];
    for (const t of [expired, noScope, other])
      statuses.push((await fetch(`${api}/api/v1/read/audited`, { headers: { authorization: `Bearer ${t}` } })).status);
    await expect(openTail(api, "/v1/apps/audited/stream", other)).rejects.toMatchObject({ status: 404 });
    expect(statuses).toEqual([401, 403, 404]);
    expect((await fetch(`${api}/api/v1/read/audited`, { headers: { authorization: `Bearer ${acme}` } })).status).toBe(200);
    await doppler.stop();
    await nats.stop();

    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const audits = lines.filter((l) => l.audit === true);
    expect(audits.map((a) => a.status)).toEqual([401, 403, 404, 404]);
    for (const a of audits) {
      expect(a.level).toBe(30);
      expect(["/api/v1/read/audited", "/v1/apps/audited/stream"]).toContain(a.path);
      expect(typeof a.reason).toBe("string");
    }
    const text = readFileSync(file, "utf8");
    for (const t of [expired, noScope, other, acme]) {
      expect(text).not.toContain(t);
      expect(text).not.toContain(t.split(".")[2] as string);
    }
    expect(text).not.toContain(TEST_JWT_SECRET);
    await dir.remove();
  });
});

import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "./helpers.js";
import {
  containerGauge,
  counterEnvelope,
  type MetricsEndpoints,
  type MetricsPublisher,
  metricsPublisher,
  scrape,
  startMetricsStack,
  timerEnvelope,
} from "./metrics_helpers.js";

describe("metrics isolation", () => {
  let stack: Stack;
  let ep: MetricsEndpoints;
  let pub: MetricsPublisher;

  beforeAll(async () => {
    ({ stack, ep } = await startMetricsStack());
    pub = await metricsPublisher(stack.nats.url);
    await pub.write("alpha", "alpha-web", [
      containerGauge("alpha", "alpha-web", "0", { cpu: 1, memory: 111 }),
      counterEnvelope("alpha", "alpha-web", "0", "alpha.orders", 5),
    ]);
    // Tenant bravo: every name, label value and tag is its own, so any leak into alpha's exposition shows.
    await pub.write("bravo", "bravo-api", [
      containerGauge("bravo", "bravo-api", "7", { cpu: 99, memory: 999_999 }),
      counterEnvelope("bravo", "bravo-api", "7", "bravo.secret_orders", 42),
      timerEnvelope("bravo", "bravo-api", "7", "bravo.latency", 0.2, { customer: "bravo-customer" }),
    ]);
    const admin = await testToken({ scopes: ["logs.admin"] });
    await waitFor("both tenants' metrics", async () => {
      const a = await scrape(ep.tenantApi, "/v1/tenants/alpha/metrics", admin);
      const b = await scrape(ep.tenantApi, "/v1/tenants/bravo/metrics", admin);
      return a.text.includes("alpha_orders_total") && b.text.includes("bravo_latency_seconds");
    });
  }, 90_000);

  afterAll(async () => {
    await pub?.stop();
    await ep?.stop();
    await stack?.stop();
  });

  it("isolation - a tenant's token reads its own endpoint, and another tenant's is a 404", async () => {
    const alpha = await testToken({ tenant: "alpha" });
    expect((await scrape(ep.tenantApi, "/v1/tenants/alpha/metrics", alpha)).status).toBe(200);
    const other = await scrape(ep.tenantApi, "/v1/tenants/bravo/metrics", alpha);
    expect(other.status).toBe(404);
    expect(other.text).not.toContain("bravo_");
    // A tenant nobody has is a 404 too: existence is not confirmed either way.
    expect((await scrape(ep.tenantApi, "/v1/tenants/charlie/metrics", alpha)).status).toBe(404);
  });

  it("isolation - no label or series of tenant B ever appears in tenant A's exposition", async () => {
    const alpha = await testToken({ tenant: "alpha" });
    const { text, type } = await scrape(ep.tenantApi, "/v1/tenants/alpha/metrics", alpha);
    expect(type).toContain("version=0.0.4");
    expect(text).toContain('alpha_orders_total{source_id="alpha-web",app_name="alpha-web",instance_id="0",process_type="web"} 5');
    for (const leak of ["bravo", "999999", "secret", "customer", 'instance_id="7"', "_seconds"]) expect(text).not.toContain(leak);
    // Two tenants in one token: each endpoint still shows only its own.
    const both = await testToken({ tenant: ["alpha", "bravo"] });
    const b = await scrape(ep.tenantApi, "/v1/tenants/bravo/metrics", both);
    expect(b.text).toContain("bravo_secret_orders_total");
    expect(b.text).not.toContain("alpha");
  });

  it("isolation - missing or bad tokens get 401, a token without logs.read 403, an admin token any tenant", async () => {
    expect((await scrape(ep.tenantApi, "/v1/tenants/alpha/metrics")).status).toBe(401);
    expect((await scrape(ep.tenantApi, "/v1/tenants/alpha/metrics", "not-a-jwt")).status).toBe(401);
    const forged = await testToken({ tenant: "alpha", secret: "another-secret-0123456789abcdef" });
    expect((await scrape(ep.tenantApi, "/v1/tenants/alpha/metrics", forged)).status).toBe(401);
    const writer = await testToken({ tenant: "alpha", scopes: ["drains.write"] });
    expect((await scrape(ep.tenantApi, "/v1/tenants/alpha/metrics", writer)).status).toBe(403);
    const admin = await testToken({ scopes: ["logs.admin"] });
    expect((await scrape(ep.tenantApi, "/v1/tenants/bravo/metrics", admin)).text).toContain("bravo_secret_orders_total");
    expect((await scrape(ep.tenantApi, "/v1/tenants/a.b/metrics", admin)).status).toBe(404);
  });
});

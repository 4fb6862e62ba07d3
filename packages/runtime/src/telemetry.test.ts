import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { type DrainSample, Telemetry } from "./telemetry.js";

function promtool(text: string): { code: number | null; out: string } {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("telemetry", () => {
  it("telemetry - standard instruments export with Prometheus names, component labels and second buckets", async () => {
    const t = new Telemetry("doppler");
    t.received("ingress", { consumer: "tail" }).add(256);
    t.sent("egress").add(200);
    t.dropped("egress", "slow_consumer").add(3);
    const open = t.tails("tail");
    open.inc();
    open.inc();
    open.dec();
    t.latency("tail").record(0.004);
    t.lag("tails", () => 7);
    const text = await t.text();
    expect(text).toContain('tailrace_envelopes_received_total{component="doppler",direction="ingress",consumer="tail"} 256');
    expect(text).toContain('tailrace_envelopes_sent_total{component="doppler",direction="egress"} 200');
    expect(text).toContain('tailrace_envelopes_dropped_total{component="doppler",direction="egress",reason="slow_consumer"} 3');
    expect(text).toContain('tailrace_tails_open{component="doppler",kind="tail"} 1');
    expect(text).toContain('tailrace_consumer_lag_messages{component="doppler",consumer="tails"} 7');
    expect(text).toContain('tailrace_envelope_latency_seconds_bucket{component="doppler",stage="tail",le="0.005"} 1');
    expect(text).toContain('tailrace_envelope_latency_seconds_bucket{component="doppler",stage="tail",le="0.0025"} 0');
    expect(text).not.toMatch(/target_info|otel_scope/);
    const check = promtool(text);
    expect(check.out).toBe("");
    expect(check.code).toBe(0);
    await t.shutdown();
  });

  it("telemetry - drain counters never go backwards when drains are re-created or removed, and gone drains read no lag", async () => {
    const t = new Telemetry("drainer");
    const d = (id: string, sent: number, active = true): DrainSample => ({
      id,
      tenant: "acme",
      source_id: "web",
      active,
      sent,
      errors: 0,
      retries: 0,
      lost: 0,
      lag: 2,
    });
    let drains = [d("a", 60), d("b", 40)];
    t.observeDrains(() => drains);
    const sentTotal = async () => Number(/^tailrace_envelopes_sent_total\{[^}]*\} (\d+)$/m.exec(await t.text())?.[1]);
    expect(await sentTotal()).toBe(100);
    drains = [d("a", 60)]; // b removed
    expect(await sentTotal()).toBe(100);
    drains = [d("a", 5)]; // a re-created: its stats start again
    expect(await sentTotal()).toBe(105);
    const text = await t.text();
    expect(text).toContain('tailrace_drain_sent_total{drain="a",tenant="acme",source_id="web"} 65');
    // A removed drain keeps its last count (the SDK keeps every series it saw) and reads no lag.
    expect(text).toContain('tailrace_drain_sent_total{drain="b",tenant="acme",source_id="web"} 40');
    expect(text).toContain('tailrace_drain_lag_messages{drain="b",tenant="acme",source_id="web"} 0');
    expect(text).toContain("tailrace_drainer_drains_active 1");
    expect(text).toContain('tailrace_consumer_lag_messages{component="drainer",consumer="drains"} 2');
    expect(promtool(text).code).toBe(0);
    await t.shutdown();
  });

  it("telemetry - a name is either recorded or observed in one process", () => {
    const t = new Telemetry("agent");
    t.sent("egress").add(1);
    expect(() => t.observeCounter("tailrace.envelopes.sent", "x", () => [])).toThrow(/another kind/);
  });
});

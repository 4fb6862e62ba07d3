import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { DRAIN_STREAM } from "@tailrace/envelope";
import { tempDir, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DrainStack, firstSeen, frameReceiver, msgOf, startDrainStack } from "./drain_helpers.js";

/** The LGR lines of an app that `tailrace logs APP --recent` shows. */
async function lgrLines(api: string, app: string, token: string): Promise<string[]> {
  const res = await fetch(`${api}/api/v1/read/${app}?limit=1000`, { headers: { authorization: `Bearer ${token}` } });
  const batch = ((await res.json()) as { envelopes: { batch: Array<{ tags: Record<string, string>; log?: { payload: string } }> } })
    .envelopes.batch;
  return batch.filter((e) => e.tags.source_type === "LGR").map((e) => Buffer.from(e.log?.payload ?? "", "base64").toString());
}

describe("a drain NATS cannot hold", () => {
  let ds: DrainStack;
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    dir = await tempDir("unserved-");
    ds = await startDrainStack();
  });
  afterAll(async () => {
    await ds?.stop();
    await dir?.remove();
  });

  it("drain - one NATS refuses a consumer says so to its tenant (LGR), to the operator (one log line, a metric), serves the others, and is served once there is room", async () => {
    const log = join(dir.path, "drainer.log");
    const startedAt = Date.now();
    // The buffer takes two consumers: the drainer's feed and one catch-up, as on a NATS an operator has bounded.
    const drainer = await ds.startDrainer(
      { TAILRACE_DRAIN_MAX_CONSUMERS: "2", TAILRACE_DRAIN_WINDOW: "4", TAILRACE_DRAIN_UNSERVED_AFTER: "2s" },
      log,
    );
    const jsm = await jetstreamManager(ds.nc);
    const consumers = async () => (await jsm.streams.info(DRAIN_STREAM)).state.consumer_count;
    const token = await testToken({ tenant: "acme", scopes: ["drains.write", "logs.read"] });
    const apps = ["unserved-a", "unserved-b", "unserved-c"];
    const rx = await Promise.all(apps.map(() => frameReceiver()));
    const ids: string[] = [];
    const bind = async (i: number) => {
      const res = await fetch(`${ds.api}/v1/apps/${apps[i]}/drains`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ url: `syslog://127.0.0.1:${rx[i]?.port}` }),
      });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: string }).id);
    };
    // a and b: served, each back on the feed once it has caught up (the catch-up consumer goes).
    for (const i of [0, 1]) {
      await bind(i);
      await waitFor(`${apps[i]}'s drain`, () => drainer.stats().filter((s) => s.active && !s.unserved).length === i + 1, 30_000);
      // Alone, it catches up on a consumer of its own (a replay is for many drains starting together).
      await waitFor(`${apps[i]}'s catch-up`, () => drainer.stats().find((s) => s.source_id === apps[i])?.catchups === 1, 30_000);
      await waitFor("only the feed on the buffer", async () => (await consumers()) === 1, 30_000);
    }
    // a's receiver goes away: its window fills, it steps off the feed, and its catch-up takes the last consumer.
    await rx[0]?.down();
    const pub = await ds.publisher();
    for (let n = 0; n < 50; n++) {
      pub.line("acme", "unserved-a", `line ${n}`);
      await pub.drain();
    }
    await waitFor("a's catch-up on the buffer", async () => (await consumers()) === 2, 30_000);
    // c was bound before the drainer's feed began (as the bindings a drainer finds when it starts), so it must catch
    // up from its binding on a consumer of its own. (A drain bound while the feed runs rides it at once and needs
    // none: test/drain_bind.test.ts.)
    const c = {
      id: randomBytes(8).toString("hex"),
      tenant: "acme",
      sourceId: apps[2],
      url: `syslog://127.0.0.1:${rx[2]?.port}`,
      created: startedAt,
    };
    await ds.store.kv.create(`${c.tenant}.${c.sourceId}.${c.id}`, JSON.stringify(c));
    ids.push(c.id);
    for (let n = 0; n < 50; n++) for (const app of apps.slice(1)) pub.line("acme", app, `line ${n}`);
    await pub.drain();

    // b delivers everything; c is unserved, and everyone who should know, knows.
    const delivered = (i: number) => firstSeen((rx[i]?.frames ?? []).map((f) => msgOf(f.text))).filter((m) => m.startsWith("line "));
    await waitFor("the served drain's lines", () => delivered(1).length === 50, 30_000);
    await waitFor(
      "the third drain to count as unserved",
      () => drainer.stats().some((s) => s.source_id === "unserved-c" && s.unserved),
      30_000,
    );
    await waitFor("an LGR line in the unserved app's own logs", async () =>
      (await lgrLines(ds.stack.api, "unserved-c", token)).some((l) => /cannot be set up on NATS/.test(l)),
    );
    const lgr = await lgrLines(ds.stack.api, "unserved-c", token);
    expect(lgr.join("\n")).toContain(`syslog://127.0.0.1:${rx[2]?.port}`);
    const metrics = await (await fetch(`http://127.0.0.1:${drainer.port}/metrics`)).text();
    expect(metrics).toMatch(/^tailrace_drainer_drains_unserved(\{[^}]*\})? 1$/m);
    // Retries go on, quietly: one line when set-up first failed and one when the drain counted as unserved.
    await new Promise((r) => setTimeout(r, 3000));
    const lines = () =>
      readFileSync(log, "utf8")
        .split("\n")
        .filter((l) => l.includes("unserved-c"));
    expect(lines().filter((l) => l.includes("drain consumer failed; retrying"))).toHaveLength(1);
    expect(lines().filter((l) => l.includes("drain cannot be served"))).toHaveLength(1);
    expect(lines().find((l) => l.includes("drain cannot be served"))).toMatch(/maximum consumers/i);
    expect(delivered(2)).toEqual([]);

    // a's receiver comes back: a catches up and steps back on the feed, its consumer goes, and c is served, from
    // its binding on; a lost nothing either.
    await rx[0]?.up();
    await waitFor("the third drain's lines", () => delivered(2).length === 50, 60_000);
    expect(delivered(2)).toEqual(Array.from({ length: 50 }, (_, n) => `line ${n}`));
    await waitFor("a's lines", () => delivered(0).length === 50, 30_000);
    expect(delivered(0)).toEqual(Array.from({ length: 50 }, (_, n) => `line ${n}`));
    expect(drainer.stats().find((s) => s.source_id === "unserved-c")?.unserved).toBe(false);
    expect(lines().some((l) => l.includes("drain is served again"))).toBe(true);
    await waitFor("the metric back at 0", async () =>
      /^tailrace_drainer_drains_unserved(\{[^}]*\})? 0$/m.test(await (await fetch(`http://127.0.0.1:${drainer.port}/metrics`)).text()),
    );
  }, 120_000);
});

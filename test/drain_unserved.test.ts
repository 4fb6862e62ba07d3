import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DrainStack, firstSeen, frameReceiver, msgOf, startDrainStack } from "./drain_helpers.js";

const MiB = 1024 ** 2;

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
    // JetStream may keep 100 MiB on disk: the data stream (16 MiB) and two drain streams (32 MiB each) fit, a third
    // does not, as on a node whose disk is full of other apps' drains (issue 13: it failed at 230 drains there).
    const conf = join(dir.path, "js.conf");
    writeFileSync(conf, `jetstream { max_file_store: ${100 * MiB} }\n`);
    ds = await startDrainStack({ dopplerEnv: { TAILRACE_STREAM_MAX_BYTES: String(16 * MiB) }, natsArgs: ["-c", conf] });
  });
  afterAll(async () => {
    await ds?.stop();
    await dir?.remove();
  });

  it("drain - one NATS cannot set up says so to its tenant (LGR), to the operator (one log line, a metric), serves the others, and is served once there is room", async () => {
    const log = join(dir.path, "drainer.log");
    const drainer = await ds.startDrainer({ TAILRACE_DRAIN_MAX_BYTES: String(32 * MiB), TAILRACE_DRAIN_UNSERVED_AFTER: "2s" }, log);
    const token = await testToken({ tenant: "acme", scopes: ["drains.write", "logs.read"] });
    const apps = ["unserved-a", "unserved-b", "unserved-c"];
    const rx = await Promise.all(apps.map(() => frameReceiver()));
    const ids: string[] = [];
    for (const [i, app] of apps.entries()) {
      const res = await fetch(`${ds.api}/v1/apps/${app}/drains`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ url: `syslog://127.0.0.1:${rx[i]?.port}` }),
      });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: string }).id);
      // One after the other, so that the third is the one with no room.
      if (i < 2) await waitFor(`${app}'s drain`, () => drainer.stats().filter((s) => s.active && !s.unserved).length === i + 1, 30_000);
    }
    const pub = await ds.publisher();
    for (let n = 0; n < 50; n++) for (const app of apps) pub.line("acme", app, `line ${n}`);
    await pub.drain();

    // The two that fit deliver everything; the third is unserved, and everyone who should know, knows.
    const delivered = (i: number) => firstSeen((rx[i]?.frames ?? []).map((f) => msgOf(f.text))).filter((m) => m.startsWith("line "));
    await waitFor("the served drains' lines", () => delivered(0).length === 50 && delivered(1).length === 50, 30_000);
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
    expect(lines().find((l) => l.includes("drain cannot be served"))).toMatch(/insufficient|resources|storage/i);
    expect(delivered(2)).toEqual([]);

    // Unbinding the first app's drain frees its stream's room: the third is served, from its binding on.
    const del = await fetch(`${ds.api}/v1/apps/unserved-a/drains/${ids[0]}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(del.status).toBe(204);
    await waitFor("the third drain's lines", () => delivered(2).length === 50, 60_000);
    expect(delivered(2)).toEqual(Array.from({ length: 50 }, (_, n) => `line ${n}`));
    expect(drainer.stats().find((s) => s.source_id === "unserved-c")?.unserved).toBe(false);
    expect(lines().some((l) => l.includes("drain is served again"))).toBe(true);
    await waitFor("the metric back at 0", async () =>
      /^tailrace_drainer_drains_unserved(\{[^}]*\})? 0$/m.test(await (await fetch(`http://127.0.0.1:${drainer.port}/metrics`)).text()),
    );
  }, 120_000);
});

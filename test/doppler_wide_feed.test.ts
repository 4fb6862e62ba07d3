import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { ALL_DATA, DATA_STREAM } from "@tailrace/envelope";
import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTail, type Stack, startStack, testPublisher, text } from "./helpers.js";

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => String(a + i));

/** The filters of the consumers on the data stream. */
async function consumerFilters(nc: NatsConnection): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const out: string[] = [];
  for await (const c of jsm.consumers.list(DATA_STREAM)) out.push(c.config.filter_subject ?? "");
  return out.sort();
}

describe("doppler wide feed", () => {
  let stack: Stack;
  let nc: NatsConnection;
  beforeAll(async () => {
    // Two apps get a consumer of their own; the tails of every further app share one on the whole stream.
    stack = await startStack({ TAILRACE_TAIL_CONSUMERS: "2" });
    nc = await connect({ servers: stack.nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await stack?.stop();
  });

  it("wide feed - past the consumer limit, tails of five apps of two tenants each get exactly their app's lines, in order", async () => {
    const acme = await testToken({ tenant: "acme" });
    const globex = await testToken({ tenant: "globex" });
    const before = await consumerFilters(nc);
    const apps = [
      { tenant: "acme", app: "own-0", token: acme },
      { tenant: "acme", app: "own-1", token: acme },
      { tenant: "acme", app: "wide-2", token: acme },
      { tenant: "acme", app: "wide-3", token: acme },
      { tenant: "globex", app: "wide-4", token: globex },
    ];
    const tails = [];
    for (const a of apps) tails.push(await openTail(stack.api, `/v1/apps/${a.app}/stream`, a.token));
    // Two of each: one more tail of a wide app shares its route, one more of an own app its consumer.
    tails.push(await openTail(stack.api, "/v1/apps/wide-3/stream", acme));
    tails.push(await openTail(stack.api, "/v1/apps/own-0/stream", acme));

    const added = (await consumerFilters(nc)).filter((f) => !before.includes(f));
    expect(added.sort()).toEqual([ALL_DATA, "tr.data.acme.own-0.*", "tr.data.acme.own-1.*"].sort());

    const pub = await testPublisher(stack.nats.url);
    // Lines of an app nobody tails go through the wide consumer too, and reach no tail.
    await Promise.all([...apps.map((a) => pub.lines(a.tenant, a.app, 0, 3000, 3000)), pub.lines("acme", "untailed", 0, 3000, 3000)]);
    const want = [3000, 3000, 3000, 3000, 3000, 3000, 3000];
    await waitFor("every tail has its app's lines", () => tails.every((t, i) => t.envelopes.length >= (want[i] as number)), 60_000);
    await new Promise((r) => setTimeout(r, 300));
    for (const [i, t] of tails.entries()) {
      const app = i < 5 ? apps[i]?.app : i === 5 ? "wide-3" : "own-0";
      expect(t.envelopes.map(text), `tail ${i} (${app})`).toEqual(range(0, 3000));
      expect(new Set(t.envelopes.map((e) => e.sourceId)), `tail ${i}`).toEqual(new Set([app]));
    }
    expect(new Set(tails[4]?.envelopes.map((e) => e.tags.tenant))).toEqual(new Set(["globex"]));

    const metrics = await (await fetch(`${stack.api}/metrics`)).text();
    expect(metrics).toMatch(/tailrace_doppler_tail_feeds\{component="doppler",feed="wide"\} 3/);
    expect(metrics).toMatch(/tailrace_doppler_tail_feeds\{component="doppler",feed="app"\} 2/);

    // A wide tail's cursor resumes on a tail of its own, exactly where it left off.
    const wide2 = tails[2];
    const cursor = wide2?.cursors[wide2.cursors.length - 1] as string;
    wide2?.close();
    const more = pub.lines("acme", "wide-2", 3000, 4000, 2000);
    const resumed = await openTail(stack.api, `/v1/apps/wide-2/stream?cursor=${cursor}`, acme);
    await more;
    await waitFor("the resumed tail has the rest", () => resumed.envelopes.length >= 1000, 30_000);
    expect(resumed.envelopes.map(text)).toEqual(range(3000, 4000));
    resumed.close();

    // When the last tail of the shared apps leaves, the shared consumer goes; the own ones go with their tails.
    for (const t of tails) t.close();
    await waitFor("the doppler's tail consumers are gone", async () => (await consumerFilters(nc)).length === before.length, 30_000);
    await pub.stop();
  }, 120_000);

  it("wide feed - with the limit at 0, a new tail joins the shared consumer and misses nothing stored after it opened", async () => {
    const zero = await startStack({ TAILRACE_TAIL_CONSUMERS: "0" });
    try {
      const token = await testToken({ tenant: "acme" });
      const pub = await testPublisher(zero.nats.url);
      const flowing = pub.lines("acme", "late", 0, 4000, 2000);
      await new Promise((r) => setTimeout(r, 500));
      // Joins while lines flow: its first line is whatever was stored after it opened, then every line to the end.
      const tail = await openTail(zero.api, "/v1/apps/late/stream", token);
      await flowing;
      await waitFor("the tail reaches the last line", () => tail.envelopes.some((e) => text(e) === "3999"), 30_000);
      const got = tail.envelopes.map(text).map(Number);
      const first = got[0] as number;
      expect(first).toBeGreaterThan(0);
      expect(got).toEqual(range(first, 4000).map(Number));
      tail.close();
      await pub.stop();
    } finally {
      await zero.stop();
    }
  }, 60_000);
});

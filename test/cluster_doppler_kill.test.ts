/**
 * Issue 12, drill 4: a doppler killed with 100 tails on it. Two dopplers, each its own process connected to a
 * different node of a real 3-node NATS cluster (zones a and b, R3 streams), sit behind a real TCP balancer. A hundred
 * `tailrace logs APP --follow` clients over five apps (one quiet until the kill, so its followers hold no line's cursor
 * when their doppler dies) follow through the balancer: ten are the real binary, ninety run
 * the command's own follow loop (`followLogs` from @tailrace/cli) in this process, as a hundred node processes would
 * not fit on two cores. Numbered lines flow; the doppler holding at least half of the tails is SIGKILLed mid-stream;
 * every follower must print exactly its app's lines, in order, with no gap and no duplicate, and each one that was on
 * the killed doppler must say it reconnected. Bounds are liveness bounds for a loaded 2-core machine, never speeds.
 */
import { type Balancer, type NatsCluster, startBalancer, startNatsCluster, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { urlsFrom } from "./cluster_helpers.js";
import { cliFollower, type DopplerProc, type Follower, inProcessFollower, spawnDoppler, tailsOpen } from "./follow_helpers.js";
import { type TestPublisher, testPublisher } from "./helpers.js";

const APPS = ["dk-a", "dk-b", "dk-c", "dk-d"];
/**
 * An app that writes nothing until the kill: its followers hold no cursor of a line when their doppler dies, and the
 * lines it writes while they reconnect must reach them too.
 */
const QUIET = "dk-quiet";
const QUIET_LINES = 1000;
const FOLLOWERS = 100;
const CLI_FOLLOWERS = 10;
/** Lines per app, and how fast each app writes them: 500 lines/s in all, 12,500 a second to the followers. */
const LINES = 2000;
const PER_SEC = 125;
/** The kill comes once every follower has printed this many lines, so every one of them holds a cursor. */
const KILL_AFTER = 600;

const expected = (f: Follower) => (f.app === QUIET ? QUIET_LINES : LINES);

/** What is wrong with what one follower printed, or undefined if it printed exactly lines 0..LINES-1. */
function problem(f: Follower, i: number): string | undefined {
  const lines = f.lines();
  const bad = lines.findIndex((l, k) => /\] OUT (\d+)$/.exec(l)?.[1] !== String(k));
  if (bad < 0 && lines.length === expected(f)) return undefined;
  const at = bad < 0 ? lines.length : bad;
  return `follower ${i} (${f.kind}, ${f.app}): ${lines.length} lines, first wrong at ${at}: ${JSON.stringify(lines[at])}; stderr: ${f.stderr().slice(-500)}`;
}

describe("cluster - a doppler killed under 100 followers", () => {
  let cluster: NatsCluster | undefined;
  const dopplers: DopplerProc[] = [];
  let lb: Balancer | undefined;
  const followers: Follower[] = [];
  const pubs: TestPublisher[] = [];
  afterAll(async () => {
    await Promise.all(followers.map((f) => f.stop().catch(() => undefined)));
    for (const p of pubs) await p.stop().catch(() => undefined);
    await lb?.stop();
    for (const d of dopplers) await d.kill();
    await cluster?.stop();
  });

  it("drill - every `tailrace logs --follow` client reconnects through the balancer to the other doppler, with no gap and no duplicate", async () => {
    const t0 = Date.now();
    const step = (what: string) => process.env.DRILL_DEBUG && console.error(`${Date.now() - t0} ms: ${what}`);
    cluster = await startNatsCluster();
    step("cluster");
    const c = cluster;
    for (let i = 0; i < 2; i++) {
      // A tail's queue holds a resume's replay: a starved test core must not turn a reader into a slow consumer
      // here (that behaviour has its own test, doppler_consumers).
      dopplers.push(await spawnDoppler({ NATS_URL: urlsFrom(c, i), TAILRACE_STREAM_REPLICAS: "3", TAILRACE_TAIL_QUEUE: "200000" }));
    }
    step("dopplers");
    lb = await startBalancer(dopplers.map((d) => ({ port: d.port })));
    const token = await testToken({ tenant: "acme" });
    for (let k = 0; k < FOLLOWERS; k++) {
      const app = [...APPS, QUIET][k % (APPS.length + 1)] as string;
      followers.push(k < CLI_FOLLOWERS ? cliFollower(lb.url, token, app) : inProcessFollower(lb.url, token, app));
    }
    const tails = () => Promise.all(dopplers.map((d) => tailsOpen(d.api)));
    await waitFor("every follower's tail open", async () => (await tails()).reduce((a, b) => a + b) === FOLLOWERS, 30_000, 200);

    step("tails open");
    for (const _ of [...APPS, QUIET]) pubs.push(await testPublisher(urlsFrom(c, 2)));
    const publishing = Promise.all(APPS.map((app, i) => pubs[i]?.lines("acme", app, 0, LINES, PER_SEC)));
    await waitFor(
      "every follower past the first lines",
      () => followers.every((f) => f.app === QUIET || f.count() >= KILL_AFTER),
      30_000,
      100,
    );

    step("past the first lines");
    const before = await tails();
    const victim = (before[0] as number) >= (before[1] as number) ? 0 : 1;
    const survivor = dopplers[1 - victim] as DopplerProc;
    await dopplers[victim]?.kill();
    const killedAt = Date.now();
    const quiet = pubs[APPS.length]?.lines("acme", QUIET, 0, QUIET_LINES, PER_SEC);
    // The lines keep coming during and after the kill; the followers resume from their cursors on the survivor.
    step("killed");
    await Promise.all([publishing, quiet]);
    step("published");
    const short = () => followers.filter((f) => f.count() < expected(f));
    await waitFor("every follower to print every line", () => short().length === 0, 45_000, 200).catch((err: Error) => {
      const which = short().map((f) => `${f.kind} ${f.app}: ${f.count()} lines`);
      throw new Error(
        `${err.message}\nshort: ${which.join(", ")}\n${short().map(problem).slice(0, 5).join("\n")}\n${survivor.log().slice(-3000)}`,
      );
    });
    step("every line");
    const after = await tailsOpen(survivor.api);
    // A duplicate would arrive after the last line: give one a moment to show before judging.
    await new Promise((r) => setTimeout(r, 500));
    await Promise.all(followers.map((f) => f.stop()));

    const reconnected = followers.filter((f) => /reconnecting/.test(f.stderr()));
    // The pause a follower saw across the kill, beside the longest any saw before it (the publishers write in bursts).
    const calm = Math.max(...followers.map((f) => f.longestPauseMs(0, killedAt)));
    const pauses = reconnected.map((f) => f.longestPauseMs(killedAt)).sort((a, b) => a - b);
    console.log(
      `doppler killed under ${FOLLOWERS} followers (${CLI_FOLLOWERS} CLI processes, ${FOLLOWERS - CLI_FOLLOWERS} in-process, ` +
        `${APPS.length + 1} apps): ${LINES} lines each (${QUIET_LINES} for the app quiet until the kill); tails before the kill ${before.join("/")}; ${reconnected.length} reconnected ` +
        `(${reconnected.filter((f) => f.kind === "cli").length} CLI); longest pause around the kill ${pauses.at(-1) ?? 0} ms, ` +
        `median ${pauses[Math.floor(pauses.length / 2)] ?? 0} ms (longest before the kill ${calm} ms)`,
    );
    expect(followers.map(problem).filter(Boolean)).toEqual([]);
    expect(before[victim]).toBeGreaterThanOrEqual(FOLLOWERS / 2);
    // Exactly the followers that were on the killed doppler moved, and all of them are on the survivor now.
    expect(reconnected.length).toBe(before[victim]);
    expect(after).toBe(FOLLOWERS);
    expect(followers.filter((f) => /gave up/.test(f.stderr()))).toEqual([]);
  }, 90_000);
});

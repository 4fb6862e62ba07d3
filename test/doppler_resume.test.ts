import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extraDoppler, openTail, type Stack, startStack, type TailClient, testPublisher, text } from "./helpers.js";

/** Reads frames until at least `n` envelopes, then closes; returns what arrived and the last frame's cursor. */
async function readThenClose(tail: TailClient, n: number): Promise<{ lines: string[]; cursor: string }> {
  await waitFor(`${n} envelopes`, () => tail.envelopes.length >= n, 20_000);
  // A snapshot between two frames: everything up to the last frame's cursor, and nothing after it.
  const snapshot = { lines: tail.envelopes.map(text), cursor: tail.cursors[tail.cursors.length - 1] as string };
  tail.close();
  return snapshot;
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => String(a + i));

describe("doppler resume", () => {
  let stack: Stack;
  let token: string;
  beforeAll(async () => {
    stack = await startStack();
    token = await testToken({ tenant: "acme" });
  });
  afterAll(() => stack?.stop());

  it("resume - half of 10,000 lines, a reconnect with the cursor while lines flow: exactly all, in order", async () => {
    const pub = await testPublisher(stack.nats.url);
    const first = await openTail(stack.api, "/v1/apps/resume1/stream", token);
    const flowing = pub.lines("acme", "resume1", 0, 10_000, 4000);
    const a = await readThenClose(first, 5000);
    const second = await openTail(stack.api, `/v1/apps/resume1/stream?cursor=${a.cursor}`, token);
    await flowing;
    await waitFor("the rest", () => a.lines.length + second.envelopes.length >= 10_000, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    second.close();
    await pub.stop();
    expect([...a.lines, ...second.envelopes.map(text)]).toEqual(range(0, 10_000));
  });

  it("resume - across a doppler restart, on a new doppler, no gap and no duplicate", async () => {
    const pub = await testPublisher(stack.nats.url);
    const other = await extraDoppler(stack.nats.url);
    const first = await openTail(other.api, "/v1/apps/resume2/stream", token);
    const flowing = pub.lines("acme", "resume2", 0, 10_000, 4000);
    const a = await readThenClose(first, 3000);
    await other.doppler.stop();
    const restarted = await extraDoppler(stack.nats.url);
    const second = await openTail(restarted.api, `/v1/apps/resume2/stream?cursor=${a.cursor}`, token);
    await flowing;
    await waitFor("the rest", () => a.lines.length + second.envelopes.length >= 10_000, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    second.close();
    await restarted.doppler.stop();
    await pub.stop();
    expect([...a.lines, ...second.envelopes.map(text)]).toEqual(range(0, 10_000));
  });

  it("resume - a tail that got no line yet resumes from its start cursor: the lines of its absence, no others", async () => {
    const pub = await testPublisher(stack.nats.url);
    // Other apps' lines before and while: the start cursor is a place in the whole stream, not in this app's history.
    await pub.lines("acme", "resume-other", 0, 100);
    const first = await openTail(stack.api, "/v1/apps/resume5/stream", token);
    await waitFor("the start cursor", () => first.start);
    first.close();
    await pub.lines("acme", "resume5", 0, 500);
    await pub.lines("acme", "resume-other", 100, 200);
    const second = await openTail(stack.api, `/v1/apps/resume5/stream?cursor=${first.start}`, token);
    await pub.lines("acme", "resume5", 500, 1000);
    await waitFor("every line", () => second.envelopes.length >= 1000, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    second.close();
    await pub.stop();
    expect(first.envelopes).toEqual([]);
    // No LGR notice either: nothing of this app's was past retention.
    expect(second.envelopes.map(text)).toEqual(range(0, 1000));
  });

  it("resume - a replay larger than any queue is paced, not dropped", async () => {
    const pub = await testPublisher(stack.nats.url);
    const first = await openTail(stack.api, "/v1/apps/resume3/stream", token);
    await pub.lines("acme", "resume3", 0, 10);
    const a = await readThenClose(first, 10);
    // 50,000 lines land while no one is connected, then the cursor replays them all (the tail queue holds 10,000).
    await pub.lines("acme", "resume3", 10, 50_010);
    await pub.stop();
    const second = await openTail(stack.api, `/v1/apps/resume3/stream?cursor=${a.cursor}`, token);
    await waitFor("the replay", () => second.envelopes.length >= 50_000, 30_000);
    await new Promise((r) => setTimeout(r, 200));
    second.close();
    expect(second.envelopes.filter((e) => e.tags.source_type === "LGR")).toEqual([]);
    expect([...a.lines, ...second.envelopes.map(text)]).toEqual(range(0, 50_010));
  });

  it("resume - a cursor past retention says what span is missing, then continues", async () => {
    const small = await extraDoppler(stack.nats.url);
    const pub = await testPublisher(stack.nats.url);
    const first = await openTail(small.api, "/v1/apps/resume4/stream", token);
    await pub.lines("acme", "resume4", 0, 5);
    const a = await readThenClose(first, 5);
    // Push the cursor's batch out of the app's history (the stream keeps 1,000 batches per app and kind).
    for (let i = 0; i < 1100; i++) await pub.lines("acme", "resume4", 5 + i, 6 + i);
    await pub.stop();
    const second = await openTail(small.api, `/v1/apps/resume4/stream?cursor=${a.cursor}`, token);
    await waitFor("the notice and the kept lines", () => second.envelopes.length >= 1001, 20_000);
    second.close();
    await small.doppler.stop();
    const notice = second.envelopes[0];
    expect(notice?.tags.source_type).toBe("LGR");
    expect(text(notice as never)).toMatch(/could not resume without a gap: envelopes between \S+Z and \S+Z are past retention/);
    expect(second.envelopes.slice(1).map(text)).toEqual(range(105, 1105));
  });

  it("resume - a malformed cursor gets 400", async () => {
    await expect(openTail(stack.api, "/v1/apps/resume1/stream?cursor=abc", token)).rejects.toMatchObject({ status: 400 });
    await expect(openTail(stack.api, "/v1/apps/resume1/stream?cursor=0-0-0", token)).rejects.toMatchObject({ status: 400 });
  });
});

import { appendFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import type { Envelope } from "@tailrace/envelope";
import { createLogger } from "@tailrace/runtime";
import { DockerContainer, tempDir, waitFor } from "@tailrace/testkit";
import { describe, expect, it } from "vitest";
import { Mark } from "../../egress/mark.js";
import type { AppChannel } from "../../egress/nats.js";
import { AgentCounters } from "../../telemetry/counters.js";
import { DockerJsonDecoder } from "../docker/decoder.js";
import { InstanceSink } from "../instance.js";
import { CheckpointStore } from "./checkpoint.js";
import { FileTailer } from "./tailer.js";

/**
 * A channel that stores like a slow, uneven JetStream: each envelope's mark is released 0–`maxDelayMs` later, so the
 * tailer's stop-and-wait loop is held back while the file keeps rotating under it (as on a busy machine).
 */
function slowChannel(maxDelayMs: number): { channel: AppChannel; out: Envelope[] } {
  const out: Envelope[] = [];
  const channel = {
    write(e: Envelope, mark?: Mark) {
      mark?.attach(e);
      out.push(e);
      setTimeout(() => Mark.release(e, false), Math.random() * maxDelayMs);
    },
  } as unknown as AppChannel;
  return { channel, out };
}

const text = (out: Envelope[]) => out.filter((e) => e.log).map((e) => Buffer.from(e.log?.payload ?? []).toString("utf8"));

async function tailer(path: string, maxDelayMs: number, state: string) {
  const { channel, out } = slowChannel(maxDelayMs);
  const counters = new AgentCounters();
  const sink = new InstanceSink(
    { tenant: "acme", app: "rot", processType: "web", instanceId: "0", logRateLimit: 0 },
    channel,
    counters,
    "docker",
  );
  const t = new FileTailer({
    key: "docker-rot",
    path,
    decoder: new DockerJsonDecoder(sink, counters),
    checkpoints: new CheckpointStore(state, false),
    pollMs: 5,
    chunkBytes: 4096,
    logger: createLogger({ name: "tailer-test", level: process.env.TEST_LOG_LEVEL ?? "silent" }),
  });
  t.start();
  return { t, out };
}

describe("file tailer", () => {
  // Many rotations, several between two polls, with a publisher that holds each chunk back: the reader is always
  // behind, several files rotate between two of its looks, and files it has read are renamed again (.1 → .2 …).
  // Rotations come a few milliseconds apart, so neighbouring files often share a (coarse) mtime.
  it("file tailer - hard rotation under a slow publisher loses and repeats nothing", async () => {
    const root = await tempDir("tailrace-tailer-");
    const c = new DockerContainer(root.path, "f".repeat(64), {});
    const state = await tempDir("tailrace-tailer-state-");
    const want: string[] = [];
    c.write(["start"]);
    want.push("start");
    const { t, out } = await tailer(c.log, 15, state.path);
    try {
      await waitFor("the first line", () => text(out).length === 1, 30_000);
      for (let round = 0; round < 60; round++) {
        const batch = Array.from({ length: 40 }, (_, i) => `r${round}-${i}`);
        want.push(...batch);
        c.write(batch.slice(0, 20));
        await new Promise((r) => setTimeout(r, round % 3));
        c.write(batch.slice(20));
        // Keep more files than the reader can fall behind by: a deleted file that was never read is a real loss.
        if (round % 2 === 1) c.rotate(40);
      }
      // Liveness bound only: the reader catches up within seconds; 60 s leaves room for a machine under load.
      await waitFor("every rotated line", () => text(out).length >= want.length, 60_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(text(out)).toEqual(want);
    } finally {
      await t.stop();
      await root.remove();
      await state.remove();
    }
  });

  // Rotation with deletion (max-file reached): an inode the kernel hands out again must not look like a file read.
  it("file tailer - a new file that reuses a deleted file's inode is read", async () => {
    const root = await tempDir("tailrace-tailer-");
    const state = await tempDir("tailrace-tailer-state-");
    const log = `${root.path}/x-json.log`;
    writeFileSync(log, "");
    const { t, out } = await tailer(log, 2, state.path);
    const want: string[] = [];
    try {
      for (let round = 0; round < 40; round++) {
        const l = `round ${round}`;
        want.push(l);
        appendFileSync(log, DockerContainer.entries(l));
        await waitFor(`line ${round}`, () => text(out).length === want.length, 30_000);
        // Keep one rotation: the previous `.1` is deleted, and its inode is free for the next new file.
        rmSync(`${log}.1`, { force: true });
        renameSync(log, `${log}.1`);
        writeFileSync(log, "");
      }
      await new Promise((r) => setTimeout(r, 100));
      expect(text(out)).toEqual(want);
    } finally {
      await t.stop();
      await root.remove();
      await state.remove();
    }
  });
});

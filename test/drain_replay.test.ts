import { Kvm } from "@nats-io/kv";
import { Cursors, LEASES_BUCKET, shardOf } from "@tailrace/drainer/internal";
import { waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catchups, type DrainStack, firstSeen, frameReceiver, msgOf, startDrainStack } from "./drain_helpers.js";

const APPS = 40;
const LINES = 25;

describe("drain replay", () => {
  let ds: DrainStack;
  beforeAll(async () => {
    ds = await startDrainStack();
  });
  afterAll(() => ds?.stop());

  it("drain - a drainer that starts with 40 bindings and their lines waiting reads them on one replay: every line of every drain, in order", async () => {
    // A drainer once, so that the drains' buffer exists and keeps what comes while no drainer runs.
    const first = await ds.startDrainer();
    await first.stop();
    const rx = await frameReceiver();
    const apps = Array.from({ length: APPS }, (_, i) => `boot-${i}`);
    for (const app of apps) await ds.store.add("acme", app, `syslog://127.0.0.1:${rx.port}`, 5);
    const pub = await ds.publisher();
    for (let n = 0; n < LINES; n++) {
      for (const app of apps) pub.line("acme", app, `${n} ${app}`);
      await pub.drain();
    }
    // No drainer ran while they were bound and written: the new one starts each from its binding's creation.
    const d = await ds.startDrainer();
    const byApp = () => {
      const m = new Map<string, string[]>();
      for (const f of rx.frames) {
        const msg = msgOf(f.text);
        const app = msg.split(" ")[1] ?? "";
        m.set(app, [...(m.get(app) ?? []), msg]);
      }
      return m;
    };
    await waitFor("every line of every drain", () => apps.every((app) => firstSeen(byApp().get(app) ?? []).length >= LINES), 30_000);
    for (const app of apps) expect(firstSeen(byApp().get(app) ?? [])).toEqual(Array.from({ length: LINES }, (_, i) => `${i} ${app}`));
    const c = await catchups(d);
    // One consumer for all of them, not one each.
    expect(c).toEqual({ own: 0, replay: APPS });
  }, 60_000);
  it("drain - a drainer that cannot read a shard's checkpoint yet waits for it, and does not start the drain again from its binding", async () => {
    const rx = await frameReceiver();
    const first = await ds.startDrainer();
    await ds.store.add("acme", "ckpt", `syslog://127.0.0.1:${rx.port}`, 5);
    const pub = await ds.publisher();
    const lines = () => rx.frames.map((f) => msgOf(f.text)).filter((m) => m.endsWith(" ckpt"));
    for (let n = 0; n < 50; n++) pub.line("acme", "ckpt", `${n} ckpt`);
    await pub.drain();
    await waitFor("the first lines", () => lines().length >= 50, 20_000);
    // A clean stop checkpoints the drain where it is.
    await first.stop();
    // The next drainer's first reads of the checkpoint fail, as they do while the cursors bucket's leader is frozen.
    const read = Cursors.prototype.read;
    let failing = true;
    let failed = 0;
    Cursors.prototype.read = async function (this: Cursors, shard: number) {
      if (failing) {
        failed++;
        throw new Error("timeout");
      }
      return read.call(this, shard);
    };
    try {
      await ds.startDrainer();
      await waitFor("reads of the checkpoint to fail", () => failed >= 2, 20_000);
      for (let n = 50; n < 100; n++) pub.line("acme", "ckpt", `${n} ckpt`);
      await pub.drain();
      await new Promise((r) => setTimeout(r, 1000));
      failing = false;
      await waitFor("every line", () => new Set(lines()).size >= 100, 30_000);
    } finally {
      Cursors.prototype.read = read;
    }
    // Once, in order: the waiting drain started from its checkpoint, not from its binding (which sends 0-49 again).
    expect(lines()).toEqual(Array.from({ length: 100 }, (_, n) => `${n} ckpt`));
  }, 60_000);
});

describe("drain checkpoints", () => {
  let ds: DrainStack;
  beforeAll(async () => {
    ds = await startDrainStack();
  });
  afterAll(() => ds?.stop());

  it("drain - a drainer that loses a shard and takes it back while its checkpoints could not be written goes on from where it delivered, not from the stale checkpoint", async () => {
    const rx = await frameReceiver();
    const d = await ds.startDrainer();
    const b = await ds.store.add("acme", "stale", `syslog://127.0.0.1:${rx.port}`, 5);
    const pub = await ds.publisher();
    const lines = () => rx.frames.map((f) => msgOf(f.text)).filter((m) => m.endsWith(" stale"));
    const write = Cursors.prototype.write;
    let failing = false;
    let written = 0;
    let refused = 0;
    Cursors.prototype.write = async function (this: Cursors, shard: number, cursors: ReadonlyMap<string, number>) {
      if (failing) {
        refused++;
        throw new Error("timeout");
      }
      await write.call(this, shard, cursors);
      written++;
    };
    try {
      for (let n = 0; n < 50; n++) pub.line("acme", "stale", `${n} stale`);
      await pub.drain();
      await waitFor("the first lines", () => lines().length >= 50, 20_000);
      // A checkpoint of those 50, then none: the cursors bucket does not answer (its leader frozen, say).
      const before = written;
      await waitFor("a checkpoint of the first lines", () => written > before, 20_000);
      failing = true;
      for (let n = 50; n < 100; n++) pub.line("acme", "stale", `${n} stale`);
      await pub.drain();
      await waitFor("the next lines", () => lines().length >= 100, 20_000);
      await waitFor("a checkpoint refused", () => refused > 0, 20_000);
      // The shard's lease goes for a moment (as when its bucket's leader is frozen past the TTL and the renewal
      // cannot take it again), and the same drainer, the only one, takes it back and reads the checkpoint of line 49.
      const leases = await new Kvm(ds.nc).open(LEASES_BUCKET);
      const key = `shard.${shardOf(b.id)}`;
      const owner = (await leases.get(key))?.string();
      await leases.delete(key);
      await leases.create(key, "a-drainer-that-died");
      await waitFor("the shard lost", () => d.stats().some((s) => s.source_id === "stale" && !s.active), 20_000);
      await leases.delete(key);
      await waitFor("the shard taken back", async () => (await leases.get(key))?.string() === owner, 20_000);
      for (let n = 100; n < 150; n++) pub.line("acme", "stale", `${n} stale`);
      await pub.drain();
      await waitFor("every line", () => new Set(lines()).size >= 150, 30_000);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      Cursors.prototype.write = write;
    }
    // Once each, in order: 50-99 were sent, and the stale checkpoint does not send them again.
    expect(lines()).toEqual(Array.from({ length: 150 }, (_, n) => `${n} stale`));
  }, 60_000);
});

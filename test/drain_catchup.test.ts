import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { CatchUp } from "@tailrace/drainer/internal";
import { DRAIN_STREAM } from "@tailrace/envelope";
import { createLogger } from "@tailrace/runtime";
import { type NatsServer, startNatsServer, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BATCHES = 400;

describe("drain catch-up", () => {
  let nats: NatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url, reconnectTimeWait: 50 });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: DRAIN_STREAM, subjects: ["tr.data.>"] });
    const js = jsm.jetstream();
    const body = new Uint8Array(32 * 1024).fill(97);
    for (let i = 0; i < BATCHES; i++) await js.publish("tr.data.acme.web.log", body);
  });

  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it("drain - a reconnect in the middle of a fetch loses no batch: what was sent meanwhile comes on a new consumer", async () => {
    const jsm = await jetstreamManager(nc);
    const seqs: number[] = [];
    let reconnected = false;
    const reader = new CatchUp({
      nc,
      jsm,
      filter: "tr.data.acme.web.log",
      from: { seq: 1 },
      logger: createLogger({ name: "test-catchup", level: "silent" }),
      what: "test catch-up",
      onMessage: (m) => {
        seqs.push(m.seq);
        // The server has more of this fetch on its way (and in the socket): drop the connection under it.
        if (seqs.length === 10 && !reconnected) {
          reconnected = true;
          void nc.reconnect();
        }
      },
      room: () => 256,
      onCaughtUp: () => undefined,
    });
    await reader.start();
    await waitFor("every batch", async () => seqs.length >= BATCHES && seqs[seqs.length - 1] === BATCHES, 20_000);
    await reader.stop();
    expect(reconnected).toBe(true);
    // Every batch once, in order: nothing skipped over (which the drain would count as dropped by the buffer).
    expect(seqs).toEqual(Array.from({ length: BATCHES }, (_, i) => i + 1));
  });
});

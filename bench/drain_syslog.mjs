// Scenario: lines/s from the data stream through one drainer to one TCP syslog drain (RFC 5424, octet counting).
// The lines are published and stored first; the clock runs from the drainer's start to the last frame at the receiver,
// so the figure is the drain's own rate. The raw NATS figure from the same run is printed beside it.

import { createServer } from "node:net";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsPublisher } from "@tailrace/agent";
import { AppClaims } from "@tailrace/agent/internal";
import { Drainer, DrainStore, loadDrainerConfig } from "@tailrace/drainer";
import { nowNs } from "@tailrace/envelope";
import pino from "pino";
import { cpuSeconds, rawNatsRate, startDoppler, startNatsServer } from "./lib.mjs";

const LINE = "GET /orders/12345 200 1.2ms user=alice trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7";

/**
 * A receiver that counts octet-counted frames and remembers when the last one came. It runs in the drainer's
 * process, so it reads each chunk where it lies: joining every chunk to the rest of the previous one cost as much
 * CPU as a tenth of the drain.
 */
async function receiver() {
  const r = { frames: 0, bytes: 0, first: 0, last: 0, port: 0 };
  const server = createServer((sock) => {
    let skip = 0; // bytes of the current frame still to come
    let digits = ""; // a length prefix split across chunks
    sock.on("data", (d) => {
      let pos = 0;
      while (pos < d.length) {
        if (skip > 0) {
          const n = Math.min(skip, d.length - pos);
          skip -= n;
          pos += n;
          if (skip === 0) r.frames++;
          continue;
        }
        const sp = d.indexOf(0x20, pos);
        if (sp < 0) {
          digits += d.toString("latin1", pos);
          break;
        }
        skip = Number(digits + d.toString("latin1", pos, sp));
        digits = "";
        pos = sp + 1;
        if (skip === 0) r.frames++;
      }
      r.bytes += d.length;
      r.last = performance.now();
      if (!r.first) r.first = r.last;
    });
  });
  await new Promise((res) => server.listen(0, "127.0.0.1", res));
  r.port = server.address().port;
  r.close = () => new Promise((res) => server.close(res));
  return r;
}

async function publish(url, total) {
  const nc = await connect({ servers: url });
  const pub = new NatsPublisher(jetstream(nc), new AppClaims(nc), {
    bufferSize: 200_000,
    maxBatch: 512,
    flushMs: 2,
    maxInFlight: 64,
    agentId: `bench-drain-${Date.now()}`,
    logger: pino({ level: "warn" }),
  });
  const ch = pub.channel("bench", "drained");
  const tags = { tenant: "bench", app_name: "drained", source_type: "APP/PROC/WEB", process_type: "web" };
  const payload = Buffer.from(LINE);
  for (let i = 0; i < total; i++) {
    ch.write({ timestamp: nowNs(), sourceId: "drained", instanceId: "0", tags, log: { payload, type: "OUT" } });
    if (i % 2000 === 0) {
      await new Promise((r) => setImmediate(r));
      while (pub.buffer.size > 100_000) await new Promise((r) => setTimeout(r, 1));
    }
  }
  await pub.stop(60_000);
  await nc.close();
}

export async function run({ total = 500_000 } = {}) {
  const nats = await startNatsServer();
  const doppler = await startDoppler(nats.url, { TAILRACE_RECENT_PER_APP: "1000000", TAILRACE_STREAM_MAX_BYTES: String(4 * 1024 ** 3) });
  const rx = await receiver();
  const nc = await connect({ servers: nats.url });
  let drainer;
  try {
    const raw = await rawNatsRate(nats.url);
    const store = await DrainStore.open(nc);
    await store.add("bench", "drained", `syslog://127.0.0.1:${rx.port}`, 5);
    await publish(nats.url, total);
    drainer = new Drainer(
      loadDrainerConfig({
        NATS_URL: nats.url,
        TAILRACE_DRAIN_ALLOW_CIDRS: "127.0.0.0/8",
        TAILRACE_DRAINER_PORT: "0",
        TAILRACE_DRAINER_HOST: "127.0.0.1",
      }),
      pino({ level: "warn" }),
    );
    const cpu = { bench: process.cpuUsage(), nats: cpuSeconds(nats.pid) };
    const start = performance.now();
    await drainer.start();
    const deadline = Date.now() + 120_000;
    while (rx.frames < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const used = process.cpuUsage(cpu.bench);
    const secs = (rx.last - start) / 1000;
    const linesPerSec = Math.round(rx.frames / secs);
    return {
      rawNatsMsgsPerSec: raw.msgsPerSec,
      drainTcpSyslog: {
        linesPerSec,
        received: rx.frames,
        sent: total,
        mbPerSec: Math.round((rx.bytes / secs / 1024 ** 2) * 10) / 10,
        ratioToRawNats: Math.round((linesPerSec / raw.msgsPerSec) * 100) / 100,
        // From the drainer's start to its first line at the receiver: start-up, shard leases, the drain's consumer.
        firstLineMs: Math.round(rx.first - start),
        // CPU seconds from the drainer's start to the end: this process (the drainer and the receiver) and nats-server.
        cpuS: {
          benchProcess: Math.round((used.user + used.system) / 1e4) / 100,
          natsServer: Math.round((cpuSeconds(nats.pid) - cpu.nats) * 100) / 100,
        },
      },
    };
  } finally {
    await drainer?.stop();
    await nc.close();
    await rx.close();
    await doppler.stop();
    await nats.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  console.log(JSON.stringify(r, null, 2));
}

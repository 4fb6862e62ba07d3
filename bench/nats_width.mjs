// Scenario: what the drains' design costs nats-server 2.9 as drains grow (issue 13), measured on nats-server alone.
// Messages published to a TAILRACE_DATA-like stream (1,000 apps' subjects, 200-byte messages, core publish with a
// flush every 1,000 as the agent pipelines), and the rate the stream stores them at, beside:
// - "streamPerApp": N streams that each source one app's subject from it (the design before issue 13);
// - "consumerPerDrain": one buffer stream sourcing everything, with N idle filtered durable consumers on it (the
//   design that keeps a consumer per drain);
// - 0 of either, the floor of the same run.
// The design kept (one buffer, one feed per drainer, consumers only for drains behind) is the 0 column plus one source.
import { AckPolicy, DeliverPolicy, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { SMALL, startNatsServer } from "./lib.mjs";

const MESSAGES = SMALL ? 20_000 : 40_000;

async function measure(mode, n) {
  const s = await startNatsServer();
  const nc = await connect({ servers: s.url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "DATA", subjects: ["tr.data.>"], max_msgs_per_subject: 1000 });
    const t0 = performance.now();
    if (mode === "consumerPerDrain") {
      await jsm.streams.add({ name: "DRAINS", sources: [{ name: "DATA" }] });
      for (let i = 0; i < n; i++) {
        await jsm.consumers.add("DRAINS", {
          durable_name: `d${i}`,
          filter_subject: `tr.data.t.app${i}.log`,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
        });
      }
    } else {
      for (let i = 0; i < n; i++) {
        await jsm.streams.add({ name: `S${i}`, sources: [{ name: "DATA", filter_subject: `tr.data.t.app${i}.log` }], max_msgs: 100_000 });
      }
    }
    const setupMs = performance.now() - t0;
    const payload = new Uint8Array(200);
    const apps = Math.max(n, 1000);
    const start = performance.now();
    for (let i = 0; i < MESSAGES; i++) {
      nc.publish(`tr.data.t.app${i % apps}.log`, payload);
      if (i % 1000 === 999) await nc.flush();
    }
    await nc.flush();
    for (;;) {
      if ((await jsm.streams.info("DATA")).state.messages >= MESSAGES) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const storedPerSec = Math.round(MESSAGES / ((performance.now() - start) / 1000));
    return { mode, n, setupMs: Math.round(setupMs), storedPerSec };
  } finally {
    await nc.close();
    await s.stop();
  }
}

export async function run() {
  const widths = SMALL ? [0, 100] : [0, 1000, 5000];
  const out = { messages: MESSAGES, streamPerApp: [], consumerPerDrain: [] };
  for (const n of SMALL ? [0, 100] : [0, 1000, 3000]) out.streamPerApp.push(await measure("streamPerApp", n));
  for (const n of widths) out.consumerPerDrain.push(await measure("consumerPerDrain", n));
  for (const k of ["streamPerApp", "consumerPerDrain"]) {
    const floor = out[k][0].storedPerSec;
    for (const p of out[k]) p.ratioToNone = Math.round((p.storedPerSec / floor) * 100) / 100;
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run(), null, 2));
}

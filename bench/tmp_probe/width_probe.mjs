// Probe: JetStream publish cost vs number of idle filtered consumers / sourced streams (nats-server 2.9).
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { startNatsServer } from "@tailrace/testkit";

const mode = process.argv[2]; // consumers | sources
const counts = process.argv.slice(3).map(Number);
for (const n of counts) {
  const s = await startNatsServer();
  const nc = await connect({ servers: s.url });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: "DATA", subjects: ["tr.data.>"], max_msgs_per_subject: 1000 });
  let t0 = Date.now();
  if (mode === "consumers") {
    await jsm.streams.add({ name: "DRAIN", subjects: ["xx.>"], sources: [{ name: "DATA" }] });
    for (let i = 0; i < n; i++) {
      await jsm.consumers.add("DRAIN", {
        durable_name: `d${i}`,
        filter_subject: `tr.data.t.app${i}.log`,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
      });
    }
  } else {
    for (let i = 0; i < n; i++) {
      await jsm.streams.add({ name: `S${i}`, sources: [{ name: "DATA", filter_subject: `tr.data.t.app${i}.log` }], max_msgs: 100000 });
    }
  }
  const setup = Date.now() - t0;
  const payload = new Uint8Array(200);
  const N = 40000;
  const apps = Math.max(n, 1000);
  // Core publish + flush, as the agent does (it does not wait for acks per message).
  t0 = performance.now();
  for (let i = 0; i < N; i++) {
    nc.publish(`tr.data.t.app${i % apps}.log`, payload);
    if (i % 1000 === 999) await nc.flush();
  }
  await nc.flush();
  // Wait until DATA has them all.
  for (;;) {
    const si = await jsm.streams.info("DATA");
    if (si.state.messages >= Math.min(N, apps * 1000)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const pubMs = performance.now() - t0;
  let copyMs = 0;
  if (mode === "consumers") {
    for (;;) {
      const si = await jsm.streams.info("DRAIN");
      if (si.state.messages >= N) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    copyMs = performance.now() - t0;
  }
  const rss = await fetch(`http://127.0.0.1:${s.monitorPort ?? 0}/varz`)
    .then((r) => r.json())
    .then((v) => v.mem)
    .catch(() => undefined);
  console.log(
    JSON.stringify({
      mode,
      n,
      setupMs: setup,
      storedPerSec: Math.round(N / (pubMs / 1000)),
      copiedPerSec: copyMs ? Math.round(N / (copyMs / 1000)) : undefined,
      rss,
    }),
  );
  await nc.close();
  await s.stop();
}

import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { startNatsServer } from "@tailrace/testkit";

const s = await startNatsServer();
const nc = await connect({ servers: s.url });
const jsm = await jetstreamManager(nc);
await jsm.streams.add({ name: "D", subjects: ["d.>"], max_consumers: 1 });
await jsm.consumers.add("D", { name: "a", ack_policy: "none" });
try {
  await jsm.consumers.add("D", { name: "b", ack_policy: "none" });
} catch (e) {
  console.log("second:", e.message);
}
try {
  const si = (await jsm.streams.info("D")).config;
  await jsm.streams.update("D", { ...si, max_consumers: 3 });
  console.log("update ok");
} catch (e) {
  console.log("update:", e.message);
}
try {
  await jsm.consumers.add("D", { name: "b", ack_policy: "none" });
  console.log("b ok");
} catch (e) {
  console.log("b:", e.message);
}
await nc.close();
await s.stop();

// Scenario: the batch codec on the NATS hop. Binary (ours) against protojson text, for a batch of 256 log lines.
// Prints encode and decode rates in envelopes/s and the bytes per envelope on the wire.
import { decodeBatch, encodeBatch, fromProtoJsonBatch, logEnvelope, toProtoJsonBatch } from "@tailrace/envelope";

const tags = { tenant: "demo", app_name: "web", source_type: "APP/PROC/WEB", process_type: "web" };
const batch = Array.from({ length: 256 }, (_, i) =>
  logEnvelope({
    sourceId: "web",
    instanceId: "0",
    tags,
    payload: `GET /orders/${i} 200 1.2ms user=alice trace=4bf92f3577b34da6a3ce929d0e0e4736`,
  }),
);

function rate(fn, seconds = 1) {
  let n = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    fn();
    n++;
  }
  return (n * batch.length) / seconds;
}

export async function run() {
  const bin = encodeBatch(batch);
  const json = Buffer.from(toProtoJsonBatch(batch));
  const rows = [
    ["binary", rate(() => encodeBatch(batch)), rate(() => decodeBatch(bin)), bin.length / batch.length],
    [
      "protojson",
      rate(() => Buffer.from(toProtoJsonBatch(batch))),
      rate(() => fromProtoJsonBatch(json.toString())),
      json.length / batch.length,
    ],
  ];
  return rows.map(([codec, enc, dec, bytes]) => ({
    codec,
    encodePerSec: Math.round(enc),
    decodePerSec: Math.round(dec),
    bytesPerEnvelope: Math.round(bytes),
  }));
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());

// A websocket tail in its own process, as a user's would be. Prints one JSON line when it has `expect` envelopes
// (or on SIGTERM): how many it received, when the first and last arrived, and latency samples if asked.
import WebSocket from "ws";

const [url, token, expectArg, mode] = process.argv.slice(2);
const expect = Number(expectArg);
let got = 0;
let first = 0;
let last = 0;
const lat = [];
const nowNs = () => BigInt(Date.now()) * 1_000_000n;
const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
function report() {
  // Exit only once the (possibly large) report is written: stdout to a pipe is asynchronous.
  process.stdout.write(`${JSON.stringify({ got, first, last, lat: mode === "latency" ? lat : undefined })}\n`, () => process.exit(0));
}
ws.on("open", () => process.stdout.write('{"open":true}\n'));
const MARK = Buffer.from('{"timestamp":"');
const START = Buffer.from('{"batch":[],');
ws.on("message", (data) => {
  // A live tail's first frame holds no envelope, only its start cursor: the clock starts with the first line.
  if (data.subarray(0, START.length).equals(START)) return;
  const now = performance.timeOrigin + performance.now();
  if (!first) first = now;
  last = now;
  let n = 0;
  if (mode === "latency") {
    const batch = JSON.parse(data.toString()).batch;
    const t = nowNs();
    for (const e of batch) if (e.tags.source_type !== "LGR") lat.push(Number(t - BigInt(e.timestamp)) / 1e6);
    n = batch.length;
  } else {
    // Count envelopes by scanning the frame: the figure is the pipeline's, not this process's JSON.parse.
    for (let at = data.indexOf(MARK); at !== -1; at = data.indexOf(MARK, at + MARK.length)) n++;
  }
  got += n;
  if (got >= expect) report();
});
ws.on("error", (e) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
process.on("SIGTERM", report);

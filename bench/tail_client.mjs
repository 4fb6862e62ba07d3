// A websocket tail in its own process, as a user's would be. Prints one JSON line when it has `expect` envelopes
// (or on SIGTERM): how many it received, when the first and last arrived, and latency samples if asked.
// Mode `seq` reads numbered lines (payload `0`, `1`, ... per instance, as a drill writes them) and reports, per
// instance, how many distinct numbers arrived, the longest gap between two frames that carried lines, and the worst
// ingest→tail latency. SIGUSR2 prints a progress report (that one in `seq` mode) without exiting.
import WebSocket from "ws";

const [url, token, expectArg, mode] = process.argv.slice(2);
const expect = Number(expectArg);
let got = 0;
let first = 0;
let last = 0;
const lat = [];
// seq mode
const seen = new Map();
let duplicates = 0;
let notices = 0;
let maxGapMs = 0;
let maxGapEnd = 0;
let maxLatencyMs = 0;
const nowNs = () => BigInt(Date.now()) * 1_000_000n;
const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
function seqReport() {
  const unique = {};
  for (const [instance, set] of seen) unique[instance] = set.size;
  return { got, first, last, unique, duplicates, notices, maxGapMs, maxGapEnd, maxLatencyMs };
}
let reported = false;
function report() {
  if (reported) return;
  reported = true;
  const body = mode === "seq" ? seqReport() : { got, first, last, lat: mode === "latency" ? lat : undefined };
  // Exit only once the (possibly large) report is written: stdout to a pipe is asynchronous.
  process.stdout.write(`${JSON.stringify(body)}\n`, () => process.exit(0));
}
ws.on("open", () => process.stdout.write('{"open":true}\n'));
const MARK = Buffer.from('{"timestamp":"');
const START = Buffer.from('{"batch":[],');
ws.on("message", (data) => {
  // A live tail's first frame holds no envelope, only its start cursor: the clock starts with the first line.
  if (data.subarray(0, START.length).equals(START)) return;
  const now = performance.timeOrigin + performance.now();
  let n = 0;
  if (mode === "latency") {
    const batch = JSON.parse(data.toString()).batch;
    const t = nowNs();
    for (const e of batch) if (e.tags.source_type !== "LGR") lat.push(Number(t - BigInt(e.timestamp)) / 1e6);
    n = batch.length;
  } else if (mode === "seq") {
    const t = nowNs();
    for (const e of JSON.parse(data.toString()).batch) {
      if (e.tags.source_type === "LGR") {
        notices++;
        continue;
      }
      n++;
      let set = seen.get(e.instance_id);
      if (!set) seen.set(e.instance_id, (set = new Set()));
      const k = Number(Buffer.from(e.log.payload, "base64").toString());
      if (set.has(k)) duplicates++;
      else set.add(k);
      maxLatencyMs = Math.max(maxLatencyMs, Number(t - BigInt(e.timestamp)) / 1e6);
    }
    if (n > 0 && last && now - last > maxGapMs) {
      maxGapMs = Math.round(now - last);
      maxGapEnd = Math.round(now);
    }
  } else {
    // Count envelopes by scanning the frame: the figure is the pipeline's, not this process's JSON.parse.
    for (let at = data.indexOf(MARK); at !== -1; at = data.indexOf(MARK, at + MARK.length)) n++;
  }
  if (n > 0) {
    if (!first) first = now;
    last = now;
  }
  got += n;
  if (got >= expect) report();
});
ws.on("error", (e) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
ws.on("close", (code, reason) => {
  process.stderr.write(`tail closed: ${code} ${reason}\n`);
  report();
});
process.on("SIGTERM", report);
process.on("SIGUSR2", () => process.stdout.write(`${JSON.stringify(mode === "seq" ? seqReport() : { got, first, last })}\n`));

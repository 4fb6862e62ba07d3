// Opens many websocket tails from one process and reports, on SIGTERM or when each has `expect` envelopes,
// how many each received and the latency percentiles over all of them (and the sampled latencies, `lat`, so that
// several such processes can be merged). Tail `first + i` reads app `<prefix><(first + i) % apps>`.
// Usage: node many_tails.mjs <ws base> <token> <count> <apps> <expect> [prefix=fan] [first=0]
import WebSocket from "ws";

const [base, token, countArg, appsArg, expectArg, prefix = "fan", firstArg = "0"] = process.argv.slice(2);
const first = Number(firstArg);
const count = Number(countArg);
const apps = Number(appsArg);
const expect = Number(expectArg);
const got = new Array(count).fill(0);
const lat = [];
let open = 0;
let closed = 0;
let done = 0;
const sockets = [];
const MARK = Buffer.from('{"timestamp":"');

function report() {
  lat.sort((a, b) => a - b);
  const pick = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? null;
  let total = 0;
  let short = 0;
  for (const n of got) {
    total += n;
    if (n < expect) short++;
  }
  const out = {
    open,
    closed,
    total,
    short,
    minReceived: Math.min(...got),
    maxReceived: Math.max(...got),
    p50Ms: pick(0.5),
    p99Ms: pick(0.99),
    lat,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
}

for (let i = 0; i < count; i++) {
  const ws = new WebSocket(`${base}/v1/apps/${prefix}${(first + i) % apps}/stream`, {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
  });
  sockets.push(ws);
  ws.on("open", () => {
    if (++open === count) process.stdout.write('{"allOpen":true}\n');
  });
  ws.on("message", (data) => {
    // Parse (and sample latency on) a few tails only; count the rest by scanning, so this process, which reads
    // what a thousand users would, is not the bottleneck it measures.
    let n = 0;
    if ((first + i) % 50 === 0) {
      const now = Date.now();
      const batch = JSON.parse(data.toString()).batch;
      for (const e of batch) if (e.tags?.source_type !== "LGR") lat.push(now - Number(BigInt(e.timestamp) / 1_000_000n));
      n = batch.length;
    } else {
      for (let at = data.indexOf(MARK); at !== -1; at = data.indexOf(MARK, at + MARK.length)) n++;
    }
    got[i] += n;
    if (got[i] >= expect && got[i] - n < expect && ++done === count) report();
  });
  ws.on("error", (e) => process.stderr.write(`tail ${i}: ${e.message}\n`));
  ws.on("close", () => closed++);
  // Stagger connects: a burst of thousands at once only measures the accept queue.
  if (i % 200 === 199) await new Promise((r) => setTimeout(r, 50));
}
process.on("SIGTERM", report);

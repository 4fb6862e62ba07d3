// Opens many websocket tails from one process and reports, on SIGTERM (then exits) or once each has `expect` envelopes,
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
const MARK = Buffer.from('{"timestamp":"');

let reported = false;
/** Prints the report once; with `exit`, exits once it is written (stdout to a pipe is asynchronous). */
function report(exit) {
  if (reported) return exit && process.exit(0);
  reported = true;
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
    failed,
    retried,
    closed,
    total,
    short,
    minReceived: Math.min(...got),
    maxReceived: Math.max(...got),
    p50Ms: pick(0.5),
    p99Ms: pick(0.99),
    lat,
  };
  // Stays up after the last tail is done, so its parent can still read its CPU time; SIGTERM ends it.
  process.stdout.write(`${JSON.stringify(out)}\n`, () => exit && process.exit(0));
}

let failed = 0;
let retried = 0;
const MAX_ATTEMPTS = 5;
function openTail(i, attempt) {
  const ws = new WebSocket(`${base}/v1/apps/${prefix}${(first + i) % apps}/stream`, {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
  });
  let opened = false;
  ws.on("open", () => {
    opened = true;
    if (++open + failed === count) process.stdout.write(`{"allOpen":true,"failed":${failed},"retried":${retried}}\n`);
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
    if (got[i] >= expect && got[i] - n < expect && ++done === count) report(false);
  });
  ws.on("error", (e) => {
    if (opened) return void process.stderr.write(`tail ${i}: ${e.message}\n`);
    // Refused or reset while connecting (a burst of thousands fills the accept queue): try again, as a client would.
    if (attempt < MAX_ATTEMPTS) {
      retried++;
      setTimeout(() => openTail(i, attempt + 1), 200 * attempt);
      return;
    }
    process.stderr.write(`tail ${i}: ${e.message} (gave up after ${attempt} attempts)\n`);
    if (open + ++failed === count) process.stdout.write(`{"allOpen":true,"failed":${failed},"retried":${retried}}\n`);
  });
  ws.on("close", () => {
    if (opened) closed++;
  });
}

for (let i = 0; i < count; i++) {
  openTail(i, 1);
  // Stagger connects: a burst of thousands at once only measures the accept queue.
  if (i % 200 === 199) await new Promise((r) => setTimeout(r, 50));
}
process.on("SIGTERM", () => report(true));

// `--recent` reads in a process of their own, as a user's CLI would run, so that a bench process busy publishing does
// not add its own event-loop delay to the figure. Makes `count` reads one after another (at least `gapMs` apart) and
// prints one JSON line: envelopes in the last answer, the answers by status, the latency percentiles, and how many
// reads took over 50 ms (the target).
// Usage: node recent_client.mjs <url> <token> <count> [gapMs=0]
const [url, token, countArg, gapArg = "0"] = process.argv.slice(2);
const count = Number(countArg);
const gapMs = Number(gapArg);
const times = [];
const statuses = {};
let envelopes = 0;
// One read first, not counted: a fresh Node process pays for loading its HTTP client and opening the connection.
await fetch(url, { headers: { authorization: `Bearer ${token}` } }).then(
  (r) => r.arrayBuffer(),
  () => undefined,
);
for (let i = 0; i < count; i++) {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.text();
    times.push(performance.now() - t0);
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    if (res.ok) envelopes = JSON.parse(body).envelopes.batch.length;
  } catch (err) {
    statuses[err.message] = (statuses[err.message] ?? 0) + 1;
  }
  const wait = gapMs - (performance.now() - t0);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
times.sort((a, b) => a - b);
const pick = (p) => Math.round((times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? NaN) * 10) / 10;
const over50Ms = times.filter((t) => t > 50).length;
const report = { requests: times.length, statuses, envelopes, p50Ms: pick(0.5), p99Ms: pick(0.99), maxMs: pick(1), over50Ms };
process.stdout.write(`${JSON.stringify(report)}\n`);

// Scenario: the web console in headless Chromium following one app at 5,000 lines/s.
// Agent publisher → NATS → doppler (own process) → console front → websocket → the page's per-frame renderer.
// Measures frames/s and frame times in the page while it streams, main-thread long tasks, the DOM's size, and
// whether every line arrived; prints the raw NATS floor of the same run beside it.

import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsPublisher } from "@tailrace/agent";
import { AppClaims } from "@tailrace/agent/internal";
import { nowNs } from "@tailrace/envelope";
import { launchChromium, startConsoleFront } from "@tailrace/testkit/browser";
import pino from "pino";
import { percentile, rawNatsRate, startDoppler, startNatsServer, testToken } from "./lib.mjs";

const LINE = "GET /orders/12345 200 1.2ms user=alice trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7";

/** Runs inside the page: counts frames and long tasks, and samples the DOM's size, until `stop()`. */
function startProbe() {
  const probe = { frames: [], longTasks: [], maxNodes: 0, maxRows: 0, running: true };
  const sample = () => {
    probe.maxNodes = Math.max(probe.maxNodes, document.getElementsByTagName("*").length);
    probe.maxRows = Math.max(probe.maxRows, document.querySelectorAll("#log .l").length);
  };
  const frame = (t) => {
    probe.frames.push(t);
    if (probe.frames.length % 30 === 0) sample();
    if (probe.running) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  const po = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) probe.longTasks.push(e.duration);
  });
  po.observe({ type: "longtask", buffered: false });
  window.__probe = {
    stop() {
      probe.running = false;
      po.disconnect();
      sample();
      return { ...probe, received: Number(document.getElementById("counts")?.dataset.received ?? 0) };
    },
  };
}

/** Streams `rate` lines/s for `seconds` to a page following the app; returns what the page measured. */
export async function measure({ rate = 5000, seconds = 10, natsUrl, api } = {}) {
  const front = await startConsoleFront(api);
  const browser = await launchChromium();
  const nc = await connect({ servers: natsUrl });
  const pub = new NatsPublisher(jetstream(nc), new AppClaims(nc), {
    bufferSize: 200_000,
    maxBatch: 256,
    flushMs: 2,
    maxInFlight: 16,
    agentId: `bench-console-${Date.now()}`,
    logger: pino({ level: "warn" }),
  });
  try {
    const app = `render${Date.now() % 100000}`;
    const ch = pub.channel("bench", app);
    const tags = { tenant: "bench", app_name: app, source_type: "APP/PROC/WEB", process_type: "web" };
    const write = (i, inst) =>
      ch.write({
        timestamp: nowNs(),
        sourceId: app,
        instanceId: inst,
        tags,
        log: { payload: Buffer.from(`${LINE} n=${i}`), type: i % 10 ? "OUT" : "ERR" },
      });
    write(-1, "0"); // claims the app, so the page can list it
    await pub.drain(5000);
    const token = await testToken({ tenant: "bench" });
    const page = await browser.newPage();
    await page.goto(`${front.url}/#token=${token}&app=${app}`);
    await page.waitForFunction(() => document.body.dataset.state === "live" && document.querySelectorAll("#log .l").length > 0, null, {
      timeout: 15_000,
    });
    await page.evaluate(startProbe);
    await new Promise((r) => setTimeout(r, 1000));
    const idle = await page.evaluate(() => {
      const p = window.__probe.stop();
      return p.frames.length;
    });
    await page.evaluate(startProbe);
    const start = performance.now();
    let sent = 0;
    while (performance.now() - start < seconds * 1000) {
      const due = Math.floor(((performance.now() - start) / 1000) * rate);
      for (; sent < due; sent++) write(sent, String(sent % 4));
      await new Promise((r) => setTimeout(r, 10));
    }
    const streamMs = performance.now() - start;
    await pub.drain(10_000);
    const total = sent + 1;
    await page
      .waitForFunction((n) => Number(document.getElementById("counts")?.dataset.received ?? 0) >= n, total, { timeout: 15_000 })
      .catch(() => undefined);
    const p = await page.evaluate(() => window.__probe.stop());
    const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? 0);
    await page.screenshot({ path: new URL("../test-artifacts/console_render.png", import.meta.url).pathname }).catch(() => {});
    // Frames inside the streaming window only.
    const t0 = p.frames[0] ?? 0;
    const inWindow = p.frames.filter((t) => t - t0 <= streamMs);
    const gaps = [];
    for (let i = 1; i < inWindow.length; i++) gaps.push(inWindow[i] - inWindow[i - 1]);
    // Two-second slots of the streaming window in which the page drew no frame at all: a frozen page, not a slow one.
    const slots = Math.max(1, Math.floor(streamMs / 2000));
    const drawn = new Array(slots).fill(0);
    for (const t of inWindow) drawn[Math.min(slots - 1, Math.floor((t - t0) / 2000))]++;
    gaps.sort((a, b) => a - b);
    const r1 = (v) => Math.round(v * 10) / 10;
    return {
      rate,
      seconds,
      linesSent: total,
      linesReceived: p.received,
      idleFps: idle,
      fps: r1(inWindow.length / (streamMs / 1000)),
      frameP50Ms: r1(percentile(gaps, 50)),
      frameP95Ms: r1(percentile(gaps, 95)),
      frameMaxMs: r1(gaps[gaps.length - 1] ?? 0),
      frozenSlots: drawn.filter((n) => n === 0).length,
      longTasks: p.longTasks.length,
      longTaskMsTotal: Math.round(p.longTasks.reduce((a, b) => a + b, 0)),
      domNodesMax: p.maxNodes,
      domRowsMax: p.maxRows,
      jsHeapMB: r1(heap / 2 ** 20),
    };
  } finally {
    await pub.stop();
    await nc.close();
    await browser.close();
    await front.close();
  }
}

export async function run({ rate = 5000, seconds = 10 } = {}) {
  const nats = await startNatsServer();
  const doppler = await startDoppler(nats.url);
  try {
    const raw = await rawNatsRate(nats.url);
    const page = await measure({ rate, seconds, natsUrl: nats.url, api: doppler.api });
    return { rawNatsMsgsPerSec: raw.msgsPerSec, console: page };
  } finally {
    await doppler.stop();
    await nats.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  console.log(JSON.stringify(r, null, 2));
}

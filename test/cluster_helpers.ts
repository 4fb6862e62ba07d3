/**
 * The drills' stack: a real 3-node NATS cluster on loopback (zones a, b, c; authenticated routes), dopplers and a
 * drainer connected to it with the whole URL list, rsyslog as the drain receiver, and a recorder for what a user
 * sees (tail, `--recent`, drain) while a fault happens.
 */
import { mkdirSync } from "node:fs";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Doppler } from "@tailrace/doppler";
import { Drainer, loadDrainerConfig } from "@tailrace/drainer";
import { appFilter, DATA_STREAM, decodeBatch, type Envelope, nowNs } from "@tailrace/envelope";
import { NATS_CLIENT_DEFAULTS } from "@tailrace/runtime";
import {
  type NatsCluster,
  type Rsyslog,
  startNatsCluster,
  startRsyslog,
  type TempDir,
  tempDir,
  testToken,
  waitFor,
} from "@tailrace/testkit";
import { fileLogger } from "./drain_helpers.js";
import { agentPublisher, extraDoppler, num, openTail, type TailClient } from "./helpers.js";

/** The URL list starting at node `i`: a component given it connects there first and fails over to the rest. */
export function urlsFrom(cluster: NatsCluster, i: number): string {
  const n = cluster.nodes.map((x) => x.url);
  return [...n.slice(i % n.length), ...n.slice(0, i % n.length)].join(",");
}

export interface ClusterStack {
  cluster: NatsCluster;
  dir: TempDir;
  nc: NatsConnection;
  dopplers: Array<{ doppler: Doppler; api: string }>;
  /** The in-process drainer (unless the stack was started without). */
  drainer: Drainer | undefined;
  rsyslog: Rsyslog;
  /**
   * Binds a syslog drain of `app` to the rsyslog receiver and waits until a drainer delivers it (`taken`, by default
   * the in-process drainer's stats).
   */
  bindDrain(app: string, taken?: () => Promise<boolean>): Promise<void>;
  /** The first doppler's readers and the drainer's drains, for a failing drill's message. */
  dopplerStatus(): unknown;
  /** The node that leads the data stream now. */
  dataLeader(): Promise<string>;
  /** Resolves once every replica of the data stream is current again (a node that came back has caught up). */
  dataReplicasCurrent(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startClusterStack(
  o: { dopplers?: number; drainer?: boolean; dopplerEnv?: Record<string, string> } = {},
): Promise<ClusterStack> {
  const cluster = await startNatsCluster();
  const dir = await tempDir("tailrace-drill-");
  const dopplers: ClusterStack["dopplers"] = [];
  // DRILL_LOG_DIR keeps the dopplers' and the drainer's debug logs there, to read after a drill.
  const logDir = process.env.DRILL_LOG_DIR;
  if (logDir) mkdirSync(logDir, { recursive: true });
  for (let i = 0; i < (o.dopplers ?? 1); i++) {
    // A tail's queue holds the backlog a reader delivers at once when it resumes after a frozen node (20 s of
    // traffic): the drills are about NATS, and a test client on a starved CI core must not be cut off as a slow
    // reader (that behaviour has its own test, doppler_consumers).
    const d = await extraDoppler(
      urlsFrom(cluster, i),
      { TAILRACE_DRAIN_ALLOW_CIDRS: "127.0.0.0/8", TAILRACE_TAIL_QUEUE: "200000", ...o.dopplerEnv },
      logDir ? fileLogger(`drill-doppler-${i}`, `${logDir}/doppler-${i}.log`) : undefined,
    );
    dopplers.push({ doppler: d.doppler, api: d.api });
  }
  const drainer =
    o.drainer === false
      ? undefined
      : new Drainer(
          loadDrainerConfig({
            NATS_URL: urlsFrom(cluster, 2),
            TAILRACE_DRAIN_ALLOW_CIDRS: "127.0.0.0/8",
            TAILRACE_DRAINER_HOST: "127.0.0.1",
            TAILRACE_DRAINER_PORT: "0",
            TAILRACE_DRAIN_BACKOFF_MAX: "1s",
            TAILRACE_DRAIN_CONFIRM: "200ms",
          }),
          fileLogger(
            "drill-drainer",
            logDir ? `${logDir}/drainer.log` : process.env.TEST_LOG_LEVEL ? undefined : `${dir.path}/drainer.log`,
          ),
        );
  await drainer?.start();
  const rsyslog = await startRsyslog({ dir: `${dir.path}/rsyslog` });
  const nc = await connect({ servers: cluster.url.split(","), ...NATS_CLIENT_DEFAULTS });
  const jsm = await jetstreamManager(nc);
  const api = dopplers[0]?.api as string;
  return {
    cluster,
    dir,
    nc,
    dopplers,
    drainer,
    rsyslog,
    async bindDrain(app, taken) {
      const token = await testToken({ tenant: "acme", scopes: ["drains.write"] });
      const res = await fetch(`${api}/v1/apps/${app}/drains`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ url: `syslog://127.0.0.1:${rsyslog.port}` }),
      });
      if (res.status !== 201) throw new Error(`binding a drain: ${res.status} ${await res.text()}`);
      const inProcess = async () => drainer?.stats().some((s) => s.source_id === app && s.active) ?? false;
      await waitFor("a drainer to take the drain", taken ?? inProcess, 30_000, 100);
    },
    dopplerStatus() {
      const d = dopplers[0]?.doppler as unknown as { status(): unknown };
      return { doppler: d.status(), drains: drainer?.stats() };
    },
    async dataLeader() {
      return (await jsm.streams.info(DATA_STREAM)).cluster?.leader ?? "";
    },
    async dataReplicasCurrent(timeoutMs = 60_000) {
      await waitFor(
        "every replica of the data stream current",
        async () => {
          const c = (await jsm.streams.info(DATA_STREAM).catch(() => undefined))?.cluster;
          return c?.leader && (c.replicas ?? []).length === cluster.nodes.length - 1 && (c.replicas ?? []).every((r) => r.current);
        },
        timeoutMs,
      );
    },
    async stop() {
      await nc.close().catch(() => undefined);
      await drainer?.stop().catch(() => undefined);
      for (const d of dopplers) await d.doppler.stop().catch(() => undefined);
      await rsyslog.stop();
      await cluster.stop();
      await dir.remove();
    },
  };
}

/** What a user saw during a drill: the tail's lines, `--recent`'s answers and pauses, the drain's lines. */
export interface Watch {
  tail: TailClient;
  /** Longest time between two good `--recent` answers (ms), and how many failed. */
  recent(): { answers: number; failures: number; longestPauseMs: number };
  /** How the doppler closed the tail, if it did (code and reason). */
  closed(): string;
  /** Longest time the tail went without a frame while lines were being published (ms). */
  tailPauseMs(): number;
  /** The tail's pauses over a second: when each ended (ms since the epoch) and how long it was. */
  tailPauses(): Array<{ endedAt: number; ms: number }>;
  stop(): void;
}

/** Opens a tail of `app` and polls `--recent` for it every 100 ms. */
export async function watchApp(api: string, app: string): Promise<Watch> {
  const token = await testToken({ tenant: "acme" });
  const tail = await openTail(api, `/v1/apps/${app}/stream`, token);
  let closed = "";
  tail.ws.on("close", (code, reason) => (closed = `${code} ${reason.toString()}`));
  let lastFrame = Date.now();
  let tailPause = 0;
  const pauses: Array<{ endedAt: number; ms: number }> = [];
  tail.ws.on("message", () => {
    const now = Date.now();
    tailPause = Math.max(tailPause, now - lastFrame);
    if (now - lastFrame > 1000) pauses.push({ endedAt: now, ms: now - lastFrame });
    lastFrame = now;
  });
  let answers = 0;
  let failures = 0;
  let lastAnswer = Date.now();
  let longest = 0;
  let stopped = false;
  void (async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${api}/api/v1/read/${app}?limit=10&descending=true`, {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(String(res.status));
        const now = Date.now();
        longest = Math.max(longest, now - lastAnswer);
        lastAnswer = now;
        answers++;
      } catch {
        failures++;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    tail,
    recent: () => ({ answers, failures, longestPauseMs: Math.max(longest, Date.now() - lastAnswer) }),
    tailPauseMs: () => tailPause,
    tailPauses: () => pauses,
    closed: () => closed,
    stop() {
      stopped = true;
      tail.close();
    },
  };
}

/** Agents publishing numbered lines (`0`, `1`, ... per instance) at a steady rate until stopped. */
export interface Traffic {
  /** Lines written so far, per instance. */
  written: Map<string, number>;
  /** Stops writing and waits until the agents have everything acknowledged by JetStream. */
  stop(): Promise<void>;
}

/** One agent per URL list, each its own instance of `app`, together writing `perSec` lines a second. */
export async function startTraffic(urls: string[], app: string, perSec: number): Promise<Traffic> {
  const agents = await Promise.all(urls.map((u) => agentPublisher(u, { bufferSize: 2_000_000, maxBatch: 256, maxInFlight: 16 })));
  const written = new Map<string, number>();
  let stopped = false;
  const tags = { tenant: "acme", app_name: app, source_type: "APP/PROC/WEB", process_type: "web" };
  const loops = agents.map(async ({ pub }, k) => {
    const instance = String.fromCharCode(97 + k);
    const ch = pub.channel("acme", app);
    const each = perSec / agents.length;
    const start = Date.now();
    let i = 0;
    while (!stopped) {
      // Write what is due by now, in slices of 10 ms, so the rate holds however the event loop is shared.
      const due = Math.floor(((Date.now() - start) / 1000) * each);
      for (; i < due; i++) {
        ch.write({ timestamp: nowNs(), sourceId: app, instanceId: instance, tags, log: { payload: Buffer.from(String(i)), type: "OUT" } });
      }
      written.set(instance, i);
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  return {
    written,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      // Generous: an agent holds what it could not publish during the fault and sends it once NATS answers.
      for (const a of agents) {
        const left = await a.pub.drain(120_000);
        if (left > 0) throw new Error(`an agent still holds ${left} envelopes it could not publish`);
        await a.close();
      }
    },
  };
}

export interface Tally {
  received: number;
  unique: number;
  lost: number;
  duplicates: number;
  /** Lines whose first arrival came after a later line of their own instance. */
  reordered: number;
}

/** The tail's lines as numbered lines of instances (LGR notices left out). */
export function tailLines(envs: Envelope[]): Array<{ n: number; instance: string }> {
  return envs.filter((e) => e.tags.source_type !== "LGR").map((e) => ({ n: Number(num(e)), instance: e.instanceId }));
}

/** The drain's lines as rsyslog parsed them, for one app. */
export function drainLines(r: Rsyslog, app: string): Array<{ n: number; instance: string }> {
  return r
    .messages()
    .filter((m) => m.appName === app && !m.sd.includes('source_type="LGR"'))
    .map((m) => ({ n: Number(m.msg), instance: /\/([^/\]]+)\]$/.exec(m.procId)?.[1] ?? "" }));
}

/** Lost and duplicated lines against what each instance wrote, and lines out of order within their instance. */
export function tally(lines: Array<{ n: number; instance: string }>, written: Map<string, number>): Tally {
  const seen = new Set<string>();
  const lastOf = new Map<string, number>();
  let reordered = 0;
  let received = 0;
  for (const { n, instance } of lines) {
    received++;
    const key = `${instance}/${n}`;
    // A line sent again (at least once: a drain resumes from its last acknowledged batch) is a duplicate, not a
    // reordering; order is judged on each line's first arrival.
    if (seen.has(key)) continue;
    seen.add(key);
    const last = lastOf.get(instance) ?? -1;
    if (n < last) reordered++;
    else lastOf.set(instance, n);
  }
  let lost = 0;
  for (const [instance, count] of written) for (let i = 0; i < count; i++) if (!seen.has(`${instance}/${i}`)) lost++;
  return { received, unique: seen.size, lost, duplicates: received - seen.size, reordered };
}

/**
 * Every numbered line of `app` that the data stream holds now, with its stream sequence, read by a pull consumer of
 * its own: when a reader missed lines, this tells whether NATS lost them or the reader did.
 */
export async function storedLines(
  nc: NatsConnection,
  app: string,
): Promise<{ lines: Array<{ n: number; instance: string; seq: number }>; readOn: string }> {
  const jsm = await jetstreamManager(nc);
  const ci = await jsm.consumers.add(DATA_STREAM, {
    filter_subject: appFilter("acme", app, "log"),
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    mem_storage: true,
    inactive_threshold: 30_000_000_000,
  });
  const c = await jetstream(nc).consumers.get(DATA_STREAM, ci.name);
  const out: Array<{ n: number; instance: string; seq: number }> = [];
  // Read until a fetch comes back empty: `pending` can read 0 while the replica that serves the consumer catches up.
  for (;;) {
    const batch = await c.fetch({ max_messages: 1000, expires: 2000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      for (const e of decodeBatch(m.data)) {
        if (e.tags.source_type !== "LGR") out.push({ n: Number(num(e)), instance: e.instanceId, seq: m.seq });
      }
    }
    if (got === 0) break;
  }
  await jsm.consumers.delete(DATA_STREAM, ci.name).catch(() => undefined);
  return { lines: out, readOn: ci.cluster?.leader ?? "" };
}

/**
 * Each running node's own copy of the data stream (from its monitoring port): whether the replicas agree. A replica
 * that reports itself current yet holds fewer messages than the leader is NATS's divergence, not a reader's.
 */
export async function replicaStates(cluster: NatsCluster): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const n of cluster.nodes) {
    if (!n.running) continue;
    try {
      const res = await fetch(`http://127.0.0.1:${n.httpPort}/jsz?streams=true`, { signal: AbortSignal.timeout(3000) });
      const j = (await res.json()) as {
        account_details?: Array<{
          stream_detail?: Array<{
            name: string;
            state: { messages: number; first_seq: number; last_seq: number };
            cluster?: { leader?: string };
          }>;
        }>;
      };
      const sd = j.account_details?.flatMap((a) => a.stream_detail ?? []).find((d) => d.name === DATA_STREAM);
      out[n.name] = sd ? { ...sd.state, leader: sd.cluster?.leader } : "no copy";
    } catch (err) {
      out[n.name] = `no answer: ${(err as Error).message}`;
    }
  }
  return out;
}

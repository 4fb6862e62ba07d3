/**
 * A real nats-server cluster on loopback for drills: N nodes (3 by default), each with JetStream, a server name, a
 * zone tag (`az:a`, `az:b`, `az:c`) and `unique_tag: "az"`, so that the replicas of every R3 stream land in three
 * zones. Routes are authenticated, and use TLS when a test PKI is given. Nodes can be killed, paused and restarted on
 * the same ports and store, as an operator would see them.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { natsServerBin } from "./nats_server.js";
import type { TestPki } from "./tls.js";

/** The oldest nats-server whose clustering we rely on (server tags, `unique_tag`, direct get). */
export const MIN_NATS_SERVER = "2.9.0";

export interface ClusterNode {
  readonly name: string;
  readonly zone: string;
  /** `nats://127.0.0.1:<port>`: the same across restarts. */
  readonly url: string;
  readonly port: number;
  readonly routePort: number;
  /** The monitoring port (`/varz`, `/jsz`, `/routez`). */
  readonly httpPort: number;
  readonly storeDir: string;
  /** Whether the process is up (a paused node counts as up). */
  readonly running: boolean;
  /** Kills the process (SIGKILL by default: no goodbye to its peers or clients). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: to its peers and clients it looks like a partition. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Starts it again on the same ports and store. */
  start(): Promise<void>;
  /** The server's own log so far (for a failing drill's message). */
  log(): string;
}

export interface NatsCluster {
  nodes: ClusterNode[];
  /** All client URLs, comma-separated, as `NATS_URL` takes them. */
  url: string;
  /** The JetStream meta leader's name, as the running nodes see it (empty while there is none). */
  metaLeader(): Promise<string>;
  /** Resolves once every running node sees the same meta leader and its peers (a cluster ready for JetStream). */
  ready(timeoutMs?: number): Promise<void>;
  /** The route user and password the nodes authenticate each other with. */
  routeUser: string;
  routePassword: string;
  stop(): Promise<void>;
}

export interface NatsClusterOptions {
  /** Nodes, 3 by default; zones are `a`, `b`, `c`, ... */
  size?: number;
  /** Route TLS with this PKI's route certificate (both ends verify the CA). */
  tls?: TestPki;
  /** Extra top-level config, e.g. `include "auth.conf"` (paths relative to the cluster dir). */
  extraConfig?: string;
  /** Files to write into the cluster dir first (name → content). */
  files?: Record<string, string>;
}

/** `x.y.z` of the nats-server binary. Throws a clear error where it is older than {@link MIN_NATS_SERVER}. */
export function checkNatsServerVersion(bin = natsServerBin()): string {
  let out: string;
  try {
    out = execFileSync(bin, ["--version"], { encoding: "utf8" });
  } catch (err) {
    throw new Error(`cannot run ${bin} --version: ${(err as Error).message}`);
  }
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(out);
  if (!m) throw new Error(`cannot read the version of ${bin} from "${out.trim()}"`);
  const have = [Number(m[1]), Number(m[2]), Number(m[3])];
  const need = MIN_NATS_SERVER.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    if ((have[i] as number) > (need[i] as number)) break;
    if ((have[i] as number) < (need[i] as number)) {
      throw new Error(`nats-server ${have.join(".")} is too old for a cluster: Tailrace needs ${MIN_NATS_SERVER} or newer (${bin})`);
    }
  }
  return have.join(".");
}

/** Ports this process has handed out: two calls never get the same one, though nothing listens on it yet. */
const handedOut = new Set<number>();

/**
 * A port nothing listens on now, below Linux's ephemeral range (32768 and up), so that no outgoing connection of the
 * busy test machine takes it before the node binds it, nor while a node is down for a restart. The cluster needs
 * its ports before it starts, as every node names its peers. Each vitest worker draws from its own slice of the
 * range, so that two test files running at once cannot both pick a port before either binds it.
 */
export async function freePort(): Promise<number> {
  const slices = 8;
  const slice = (Number(process.env.VITEST_POOL_ID ?? process.pid) - 1 + slices) % slices;
  const width = Math.floor(12_000 / slices);
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + slice * width + Math.floor(Math.random() * width);
    if (handedOut.has(port)) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (ok) {
      handedOut.add(port);
      return port;
    }
    if (attempt > 100) throw new Error("no free port below 32768 on 127.0.0.1");
  }
}

interface NodeSpec {
  name: string;
  zone: string;
  port: number;
  routePort: number;
  httpPort: number;
  storeDir: string;
  confFile: string;
}

function nodeConfig(n: NodeSpec, peers: NodeSpec[], o: NatsClusterOptions, user: string, password: string): string {
  const routes = peers.filter((p) => p !== n).map((p) => `nats://${user}:${password}@127.0.0.1:${p.routePort}`);
  const tls = o.tls
    ? `  tls { cert_file: "${o.tls.route.certFile}", key_file: "${o.tls.route.keyFile}", ca_file: "${o.tls.caFile}", verify: true, timeout: 5 }\n`
    : "";
  return `server_name: ${n.name}
listen: 127.0.0.1:${n.port}
http: 127.0.0.1:${n.httpPort}
server_tags: ["az:${n.zone}"]
jetstream { store_dir: "${n.storeDir}", unique_tag: "az" }
cluster {
  name: tailrace
  listen: 127.0.0.1:${n.routePort}
  authorization { user: ${user}, password: ${password}, timeout: 5 }
${tls}  routes: [${routes.map((r) => `"${r}"`).join(", ")}]
  no_advertise: false
}
${o.extraConfig ?? ""}
`;
}

class Node implements ClusterNode {
  private child: ChildProcess | undefined;
  private out = "";
  readonly url: string;

  constructor(private readonly spec: NodeSpec) {
    this.url = `nats://127.0.0.1:${spec.port}`;
  }

  get name(): string {
    return this.spec.name;
  }
  get zone(): string {
    return this.spec.zone;
  }
  get port(): number {
    return this.spec.port;
  }
  get routePort(): number {
    return this.spec.routePort;
  }
  get httpPort(): number {
    return this.spec.httpPort;
  }
  get storeDir(): string {
    return this.spec.storeDir;
  }
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  log(): string {
    return this.out;
  }

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    const child = spawn(natsServerBin(), ["-c", this.spec.confFile], { stdio: ["ignore", "ignore", "pipe"] });
    this.child = child;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start in 20 s:\n${this.out.slice(-4000)}`)), 20_000);
      let ready = false;
      child.stderr?.on("data", (chunk: Buffer) => {
        // Keep the tail of the log only, and keep reading so the server never blocks on a full pipe.
        this.out = (this.out + chunk.toString()).slice(-200_000);
        if (!ready && /Server is ready/.test(this.out)) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        if (!ready) reject(new Error(`${this.name} exited (${code ?? signal}) while starting:\n${this.out.slice(-4000)}`));
      });
    });
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    if (signal !== "SIGKILL") child.kill("SIGCONT");
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (this.running) {
      child.kill("SIGKILL");
      await exited;
    }
  }

  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  resume(): void {
    this.child?.kill("SIGCONT");
  }
}

interface Jsz {
  meta_cluster?: { leader?: string; replicas?: Array<{ name: string; current: boolean }> };
}

async function jsz(node: ClusterNode): Promise<Jsz | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${node.httpPort}/jsz`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as Jsz;
  } catch {
    return undefined;
  }
}

/** Starts the cluster and returns once JetStream is ready on it: a meta leader that every node follows. */
export async function startNatsCluster(o: NatsClusterOptions = {}): Promise<NatsCluster> {
  checkNatsServerVersion();
  const size = o.size ?? 3;
  const dir = await mkdtemp(join(tmpdir(), "tailrace-cluster-"));
  for (const [name, content] of Object.entries(o.files ?? {})) await writeFile(join(dir, name), content);
  const user = "route";
  const password = `r${Math.random().toString(36).slice(2)}`;
  const specs: NodeSpec[] = [];
  for (let i = 0; i < size; i++) {
    const zone = String.fromCharCode(97 + i);
    specs.push({
      name: `n${i + 1}-az${zone}`,
      zone,
      port: await freePort(),
      routePort: await freePort(),
      httpPort: await freePort(),
      storeDir: join(dir, `n${i + 1}`),
      confFile: join(dir, `n${i + 1}.conf`),
    });
  }
  for (const s of specs) await writeFile(s.confFile, nodeConfig(s, specs, o, user, password));
  const nodes = specs.map((s) => new Node(s));
  try {
    await Promise.all(nodes.map((n) => n.start()));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill()));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const metaLeader = async () => {
    for (const n of nodes.filter((n) => n.running)) {
      const leader = (await jsz(n))?.meta_cluster?.leader;
      if (leader) return leader;
    }
    return "";
  };
  const ready = async (timeoutMs = 30_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const up = nodes.filter((n) => n.running);
      const seen = await Promise.all(up.map(jsz));
      const leaders = new Set(seen.map((j) => j?.meta_cluster?.leader ?? ""));
      const current = seen.every((j) => (j?.meta_cluster?.replicas ?? []).every((r) => r.current || !up.some((n) => n.name === r.name)));
      if (leaders.size === 1 && !leaders.has("") && current) return;
      if (Date.now() > until) throw new Error(`the cluster has no JetStream meta leader after ${timeoutMs} ms: ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  try {
    await ready();
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill()));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    nodes,
    url: nodes.map((n) => n.url).join(","),
    metaLeader,
    ready,
    routeUser: user,
    routePassword: password,
    async stop() {
      await Promise.all(nodes.map((n) => n.kill("SIGTERM")));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

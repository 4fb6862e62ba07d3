/**
 * `tailrace up --cluster`: three nats-servers on loopback under `<dir>/nats-cluster/`, laid out as a three-zone
 * production cluster is (docs/OPERATIONS.md): a server name and a zone tag each (`az:a`, `az:b`, `az:c`), JetStream
 * with `unique_tag: "az"` so every R3 stream has one replica per zone, and routes that authenticate (a route user
 * with a password kept under the dir) and speak TLS with a development CA made once with openssl, both ends
 * verifying it. docker-compose.yml runs the same settings; test/compose.test.ts keeps the two in step.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { findNatsServer, portFree } from "./nats_server.js";

/** What every node of a Tailrace NATS cluster has, here and in docker-compose.yml. */
export const CLUSTER_NAME = "tailrace";
export const ZONE_TAG = "az";
export const ZONES = ["a", "b", "c"] as const;
export const ROUTE_USER = "route";
/** The oldest nats-server with server tags, `unique_tag` and direct get. */
export const MIN_NATS_SERVER = [2, 9, 0] as const;

export class NatsClusterError extends Error {
  override name = "NatsClusterError";
}

export interface LocalCluster {
  /** The three client URLs, comma-separated, as `NATS_URL` takes them. */
  url: string;
  nodes: Array<{ name: string; url: string; monitor: string }>;
  stop(): Promise<void>;
}

function checkVersion(bin: string): void {
  const out = execFileSync(bin, ["--version"], { encoding: "utf8" });
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(out);
  const have = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    if ((have[i] as number) > (MIN_NATS_SERVER[i] as number)) return;
    if ((have[i] as number) < (MIN_NATS_SERVER[i] as number)) {
      throw new NatsClusterError(
        `nats-server ${have.join(".")} is too old for --cluster: it needs ${MIN_NATS_SERVER.join(".")} or newer (${bin})`,
      );
    }
  }
}

/** `preferred` when it is free, else one the system picks. */
async function pickPort(preferred: number, taken: Set<number>): Promise<number> {
  if (!taken.has(preferred) && (await portFree(preferred))) return preferred;
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => {
        const a = s.address();
        s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
      });
    });
    if (!taken.has(port)) return port;
  }
}

/** A development CA and one route certificate for 127.0.0.1/localhost, made once and kept under `dir`. */
function routePki(dir: string): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const ca = join(dir, "ca.pem");
  const caKey = join(dir, "ca.key");
  const cert = join(dir, "route.pem");
  const key = join(dir, "route.key");
  if (!existsSync(cert) || !existsSync(key) || !existsSync(ca)) {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    execFileSync("openssl", ["req", "-x509", ...ec, "-days", "365", "-subj", "/CN=tailrace dev route CA", "-keyout", caKey, "-out", ca], {
      stdio: "ignore",
    });
    const csr = join(dir, "route.csr");
    execFileSync("openssl", ["req", ...ec, "-subj", "/CN=localhost", "-keyout", key, "-out", csr], { stdio: "ignore" });
    const ext = join(dir, "route.ext");
    // Routes dial each other: the certificate serves both as server and as client.
    writeFileSync(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
    // biome-ignore format: one openssl invocation
    execFileSync("openssl", ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-days", "90", "-extfile", ext, "-out", cert], { stdio: "ignore" });
  }
  return { ca, cert, key };
}

function secret(file: string): string {
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  // Letters and digits only: nats-server reads the password in its config unquoted.
  const s = `r${randomBytes(18).toString("hex")}`;
  writeFileSync(file, `${s}\n`, { mode: 0o600 });
  return s;
}

interface Spec {
  name: string;
  zone: string;
  port: number;
  routePort: number;
  httpPort: number;
}

function config(n: Spec, all: Spec[], dir: string, pki: { ca: string; cert: string; key: string }, password: string): string {
  const routes = all.filter((p) => p !== n).map((p) => `"nats-route://${ROUTE_USER}:${password}@127.0.0.1:${p.routePort}"`);
  return `# Written by tailrace up --cluster; written again at every start.
server_name: ${n.name}
listen: 127.0.0.1:${n.port}
http: 127.0.0.1:${n.httpPort}
server_tags: ["${ZONE_TAG}:${n.zone}"]
jetstream { store_dir: "${join(dir, n.name)}", unique_tag: "${ZONE_TAG}" }
cluster {
  name: ${CLUSTER_NAME}
  listen: 127.0.0.1:${n.routePort}
  authorization { user: ${ROUTE_USER}, password: ${password}, timeout: 5 }
  tls { cert_file: "${pki.cert}", key_file: "${pki.key}", ca_file: "${pki.ca}", verify: true, timeout: 5 }
  routes: [${routes.join(", ")}]
}
`;
}

function run(bin: string, conf: string, name: string): Promise<ChildProcess> {
  const child = spawn(bin, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new NatsClusterError(`${name} did not start in 20 s:\n${out.slice(-4000)}`)), 20_000);
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
      if (/Server is ready/.test(out)) {
        clearTimeout(timer);
        child.stderr?.off("data", onData);
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new NatsClusterError(`${name} exited with ${code} while starting:\n${out.slice(-4000)}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 8000).unref();
  });
}

/** Resolves once the three nodes agree on a JetStream meta leader: the cluster can create R3 streams. */
async function ready(nodes: Spec[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const leaders = await Promise.all(
      nodes.map(async (n) => {
        try {
          const res = await fetch(`http://127.0.0.1:${n.httpPort}/jsz`, { signal: AbortSignal.timeout(2000) });
          const j = (await res.json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
          return j.meta_cluster?.leader ?? "";
        } catch {
          return "";
        }
      }),
    );
    if (leaders[0] && leaders.every((l) => l === leaders[0])) return;
    if (Date.now() > until) throw new NatsClusterError(`the cluster has no JetStream meta leader after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Starts the three nodes (client ports 4222-4224 where free) and returns once JetStream is ready on them. */
export async function startLocalCluster(dir: string): Promise<LocalCluster> {
  const bin = findNatsServer();
  if (!bin) throw new NatsClusterError("nats-server not found: install it (apt-get install nats-server) or set NATS_URL");
  checkVersion(bin);
  mkdirSync(dir, { recursive: true });
  const pki = routePki(join(dir, "tls"));
  const password = secret(join(dir, "route-password"));
  const taken = new Set<number>();
  const specs: Spec[] = [];
  for (const [i, zone] of ZONES.entries()) {
    const spec = { name: `n${i + 1}-${ZONE_TAG}${zone}`, zone, port: 0, routePort: 0, httpPort: 0 };
    for (const [field, preferred] of [
      ["port", 4222 + i],
      ["routePort", 6222 + i],
      ["httpPort", 8222 + i],
    ] as const) {
      spec[field] = await pickPort(preferred, taken);
      taken.add(spec[field]);
    }
    specs.push(spec);
  }
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(stopChild));
  };
  try {
    for (const s of specs) {
      const conf = join(dir, `${s.name}.conf`);
      writeFileSync(conf, config(s, specs, dir, pki, password), { mode: 0o600 });
      children.push(await run(bin, conf, s.name));
    }
    await ready(specs, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const nodes = specs.map((s) => ({ name: s.name, url: `nats://127.0.0.1:${s.port}`, monitor: `http://127.0.0.1:${s.httpPort}` }));
  return { url: nodes.map((n) => n.url).join(","), nodes, stop };
}

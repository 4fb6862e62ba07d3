import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { tempDir, waitFor } from "@tailrace/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, cli, pidsUnder } from "./helpers.js";

/**
 * Whether a TLS handshake with a route port succeeds: with the route certificate it must, and without one it must
 * not (`verify: true`). A plain TCP client gets no INFO at all: the route speaks TLS from its first byte.
 */
function routeHandshake(port: number, o: { ca: string; cert?: string; key?: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", ...o });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    // TLS 1.3: a missing client certificate is refused after the handshake, when the server reads it.
    s.once("secureConnect", () => setTimeout(() => done(!s.destroyed), 500));
    s.once("error", () => done(false));
    s.once("close", () => done(false));
    setTimeout(() => done(false), 5000);
  });
}

interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
  account_details?: Array<{ stream_detail?: Array<{ name: string; cluster?: { leader?: string; replicas?: Array<{ name: string }> } }> }>;
}

describe("tailrace up --cluster", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill("SIGKILL");
  });

  it("up - --cluster runs three zoned nats-servers with authenticated TLS routes; streams are R3; Ctrl-C stops all three", async () => {
    const dir = await tempDir("tailrace-up-cluster-");
    const state = `${dir.path}/state`;
    // The agent's own ports on free ones: another `up` (test/up.test.ts) may run beside this one.
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TAILRACE_AGENT_HTTP_ADDR: "127.0.0.1:0",
      TAILRACE_INGRESS_ADDR: "127.0.0.1:0",
    };
    child = spawn(process.execPath, [CLI, "up", "--cluster", "--port", "0", "--dir", state], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    // Fail at once, with its output, where `up` gives up (a nats-server too old, a port taken).
    const exitedEarly = new Promise<never>((_, reject) =>
      child?.once("exit", (code) => reject(new Error(`tailrace up exited with ${code} before it was up`))),
    );
    exitedEarly.catch(() => undefined); // its later, normal exit is no error
    const api = await Promise.race([waitFor("the API URL", () => /export TAILRACE_API=(\S+)/.exec(out)?.[1], 90_000), exitedEarly]).catch(
      (e) => {
        throw new Error(`${e.message}\nstdout:${out}\nstderr:${err}`);
      },
    );
    const token = /export TAILRACE_TOKEN=(\S+)/.exec(out)?.[1] as string;
    expect(out).toMatch(/NATS {7}nats:\/\/127\.0\.0\.1:\d+,nats:\/\/127\.0\.0\.1:\d+,nats:\/\/127\.0\.0\.1:\d+ \(3 nodes in zones/);

    // Each node's own configuration, as an operator would read it.
    const clusterDir = join(state, "nats-cluster");
    const confs = readdirSync(clusterDir)
      .filter((f) => f.endsWith(".conf"))
      .map((f) => readFileSync(join(clusterDir, f), "utf8"));
    expect(confs).toHaveLength(3);
    const zones = confs.map((c) => /server_tags: \["az:(\w)"\]/.exec(c)?.[1]).sort();
    expect(zones).toEqual(["a", "b", "c"]);
    for (const c of confs) {
      expect(c).toMatch(/unique_tag: "az"/);
      expect(c).toMatch(/authorization \{ user: route, password: \w+/);
      expect(c).toMatch(/tls \{ cert_file: .*verify: true/);
    }
    const monitors = confs.map((c) => Number(/^http: 127\.0\.0\.1:(\d+)$/m.exec(c)?.[1]));
    const routePorts = confs.map((c) => Number(/cluster \{[^}]*?listen: 127\.0\.0\.1:(\d+)/s.exec(c)?.[1]));

    // The routes speak TLS and take only a peer with a certificate from the cluster's CA.
    const pki = (f: string) => readFileSync(join(clusterDir, "tls", f));
    for (const port of routePorts) {
      expect(
        await routeHandshake(port, { ca: pki("ca.pem").toString(), cert: pki("route.pem").toString(), key: pki("route.key").toString() }),
      ).toBe(true);
      expect(await routeHandshake(port, { ca: pki("ca.pem").toString() })).toBe(false);
    }

    // The data stream has three replicas, one per zone, without TAILRACE_STREAM_REPLICAS.
    const jsz = async (port: number) => (await (await fetch(`http://127.0.0.1:${port}/jsz?streams=true`)).json()) as Jsz;
    const data = await waitFor("the data stream on three nodes", async () => {
      const j = await jsz(monitors[0] as number);
      const s = j.account_details?.flatMap((a) => a.stream_detail ?? []).find((d) => d.name === "TAILRACE_DATA");
      return s?.cluster?.replicas?.length === 2 ? { j, s } : undefined;
    });
    expect(data.j.meta_cluster?.cluster_size).toBe(3);
    // A node lists the stream's other peers as its replicas: with itself, the three holders.
    const self = /^server_name: (\S+)$/m.exec(confs[0] as string)?.[1];
    const holders = new Set([self, ...(data.s.cluster?.replicas ?? []).map((r) => r.name)]);
    expect([...holders].map((n) => /-az(\w)$/.exec(n ?? "")?.[1]).sort()).toEqual(["a", "b", "c"]);

    const recent = await waitFor(
      "demo lines from `logs demo --recent`",
      async () => {
        const r = await cli(["logs", "demo", "--recent"], { TAILRACE_API: api, TAILRACE_TOKEN: token });
        return r.code === 0 && /\[APP\/PROC\/WEB\/0\] (OUT|ERR) demo: /.test(r.stdout) ? r.stdout : undefined;
      },
      60_000,
      500,
    );
    expect(recent).toMatch(/demo: /);

    expect(pidsUnder(clusterDir).length).toBe(3);
    const exited = new Promise<number | null>((r) => child?.once("exit", (code) => r(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    await waitFor("no nats-server left", () => pidsUnder(dir.path).length === 0, 20_000);
    await dir.remove();
  }, 180_000);
});

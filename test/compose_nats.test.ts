/**
 * docker-compose.yml's NATS cluster, run: three nats-servers from the very files in deploy/nats/ and the command
 * lines compose gives them, with only host names, ports and paths moved to loopback and a test PKI. Docker cannot
 * run here; this proves nats-server 2.9 takes the configuration and forms a zoned cluster over authenticated TLS
 * routes.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, natsServerBin, tempDir, waitFor } from "@tailrace/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { waitForMetaLeader } from "./deploy_helpers.js";

const DEPLOY = new URL("../deploy/nats/", import.meta.url).pathname;
const compose = parse(readFileSync(new URL("../docker-compose.yml", import.meta.url), "utf8"), { merge: true }) as {
  services: Record<string, { command?: string[] }>;
};

interface Node {
  name: string;
  port: number;
  routePort: number;
  httpPort: number;
  dir: string;
}

describe("docker-compose.yml's NATS cluster", () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
  });

  it("compose - the deploy/nats files form a 3-zone JetStream cluster whose routes need the password and the CA", async () => {
    const tmp = await tempDir("compose-nats-");
    // The certificates come from the script an operator runs (deploy/nats/tls/make-certs.sh).
    const tls = join(tmp.path, "tls");
    execFileSync("sh", [join(DEPLOY, "tls", "make-certs.sh"), tls], { stdio: "ignore" });
    const pki = { caFile: join(tls, "ca.pem"), route: { certFile: join(tls, "route.pem"), keyFile: join(tls, "route.key") } };
    const names = ["nats-1", "nats-2", "nats-3"];
    const nodes: Node[] = [];
    for (const name of names) {
      nodes.push({ name, port: await freePort(), routePort: await freePort(), httpPort: await freePort(), dir: join(tmp.path, name) });
    }
    const env = {
      PATH: process.env.PATH,
      TAILRACE_NATS_AGENT_PASSWORD: "agent-pw",
      TAILRACE_NATS_DOPPLER_PASSWORD: "doppler-pw",
      TAILRACE_NATS_DRAINER_PASSWORD: "drainer-pw",
      TAILRACE_NATS_ADMIN_PASSWORD: "admin-pw",
      TAILRACE_NATS_SYS_PASSWORD: "sys-pw",
      TAILRACE_NATS_ROUTE_PASSWORD: "route-pw_1",
    };
    const logs = new Map<string, string>();
    for (const n of nodes) {
      cpSync(DEPLOY, n.dir, { recursive: true });
      const rewrite = (file: string, edits: Array<[string, string]>) => {
        let text = readFileSync(join(n.dir, file), "utf8");
        for (const [from, to] of edits) {
          expect(text, `${file} has ${from}`).toContain(from);
          text = text.replaceAll(from, to);
        }
        writeFileSync(join(n.dir, file), text);
      };
      rewrite("nats.conf", [
        ["listen: 0.0.0.0:4222", `listen: 127.0.0.1:${n.port}`],
        ["http: 8222", `http: 127.0.0.1:${n.httpPort}`],
      ]);
      rewrite("cluster.conf", [
        ['store_dir: "/data"', `store_dir: "${join(n.dir, "data")}"`],
        ["listen: 0.0.0.0:6222", `listen: 127.0.0.1:${n.routePort}`],
        ["/etc/nats/tls/route.pem", pki.route.certFile],
        ["/etc/nats/tls/route.key", pki.route.keyFile],
        ["/etc/nats/tls/ca.pem", pki.caFile],
      ]);
      // Compose's own command line, with its host names and paths moved here.
      let line = compose.services[n.name]?.command?.[0] ?? "";
      line = line.replaceAll("$${", "${").replace("exec nats-server", `exec ${natsServerBin()}`).replaceAll("/etc/nats/", `${n.dir}/`);
      for (const o of nodes) line = line.replaceAll(`@${o.name}:6222`, `@127.0.0.1:${o.routePort}`);
      const child = spawn("/bin/sh", ["-c", line], { env, stdio: ["ignore", "ignore", "pipe"] });
      logs.set(n.name, "");
      child.stderr?.on("data", (d: Buffer) => logs.set(n.name, (logs.get(n.name) + d.toString()).slice(-20_000)));
      children.push(child);
    }
    await waitForMetaLeader(
      nodes.map((n) => n.httpPort),
      logs,
    );
    for (const n of nodes) {
      const varz = (await (await fetch(`http://127.0.0.1:${n.httpPort}/varz`)).json()) as { tags?: string[]; server_name?: string };
      expect(varz.server_name).toBe(n.name);
      expect(varz.tags).toEqual([`az:${"abc"[names.indexOf(n.name)]}`]);
      const routez = (await (await fetch(`http://127.0.0.1:${n.httpPort}/routez`)).json()) as { num_routes: number };
      expect(routez.num_routes).toBe(2);
    }
    // No node saw a route refused among the three.
    for (const [name, log] of logs) {
      expect(log, name).not.toMatch(/Authorization Violation|authentication error/i);
    }

    // A fourth server with the CA and certificate but the wrong route password is refused.
    const bad = join(tmp.path, "bad.conf");
    const badPort = await freePort();
    writeFileSync(
      bad,
      `server_name: intruder\nlisten: 127.0.0.1:${await freePort()}\ncluster {\n  name: tailrace\n  listen: 127.0.0.1:${badPort}\n` +
        `  tls { cert_file: "${pki.route.certFile}", key_file: "${pki.route.keyFile}", ca_file: "${pki.caFile}", verify: true }\n` +
        `  routes: ["nats-route://route:wrong@127.0.0.1:${nodes[0]?.routePort}"]\n}\n`,
    );
    const intruder = spawn(natsServerBin(), ["-c", bad], { stdio: ["ignore", "ignore", "pipe"] });
    children.push(intruder);
    let intruderLog = "";
    intruder.stderr?.on("data", (d: Buffer) => (intruderLog += d.toString()));
    await waitFor(
      "the intruder's route refused",
      () => /Authorization Violation|authentication|closed/i.test(intruderLog + logs.get("nats-1")),
      20_000,
    );
    const routez = (await (await fetch(`http://127.0.0.1:${nodes[0]?.httpPort}/routez`)).json()) as { num_routes: number };
    expect(routez.num_routes).toBe(2);

    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))));
    await tmp.remove();
  }, 90_000);
});

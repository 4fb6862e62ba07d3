import { CLUSTER_NAME, COMMAND_NAMES, ROUTE_USER, ZONE_TAG, ZONES } from "@tailrace/cli";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { natsUsers, repoFile, requiredSettings, SETTINGS } from "./deploy_helpers.js";

interface Service {
  image?: string;
  volumes?: string[];
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: string[];
}

const NATS_CONF = "deploy/nats/nats.conf";
const CLUSTER_CONF = repoFile("deploy/nats/cluster.conf");
const nodeConf = (name: string) => repoFile(`deploy/nats/${name}.conf`);

const compose = parse(repoFile("docker-compose.yml"), { merge: true }) as {
  services: Record<string, Service>;
};

describe("docker-compose.yml", () => {
  it("compose - runs a 3-node NATS cluster over three zones, with authenticated TLS routes between all nodes, as `up --cluster` does", () => {
    const nats = Object.entries(compose.services).filter(([name]) => name.startsWith("nats-"));
    expect(nats).toHaveLength(3);
    expect(CLUSTER_CONF).toMatch(new RegExp(`jetstream \\{[^}]*unique_tag: "${ZONE_TAG}"`));
    expect(CLUSTER_CONF).toMatch(new RegExp(`cluster \\{\\s*name: ${CLUSTER_NAME}\\b`));
    expect(CLUSTER_CONF).toMatch(new RegExp(`authorization \\{ user: ${ROUTE_USER}, password: \\$TAILRACE_NATS_ROUTE_PASSWORD`));
    expect(CLUSTER_CONF).toMatch(/tls \{[^}]*ca_file: "\/etc\/nats\/tls\/ca\.pem"[^}]*verify: true/);
    const zones: string[] = [];
    for (const [name, svc] of nats) {
      const conf = nodeConf(name);
      expect(conf).toMatch(/^include nats\.conf$/m);
      expect(conf).toMatch(/^include cluster\.conf$/m);
      expect(conf).toMatch(new RegExp(`^server_name: ${name}$`, "m"));
      zones.push(new RegExp(`^server_tags: \\["${ZONE_TAG}:(\\w)"\\]$`, "m").exec(conf)?.[1] ?? "");
      const line = svc.command?.[0] ?? "";
      expect(line).toMatch(new RegExp(`^exec nats-server -c /etc/nats/${name}\\.conf `));
      const routes = / --routes (\S+)/.exec(line)?.[1]?.split(",") ?? [];
      const others = nats.map(([n]) => n).filter((n) => n !== name);
      expect(routes.sort()).toEqual(others.map((o) => `nats-route://${ROUTE_USER}:$\${TAILRACE_NATS_ROUTE_PASSWORD}@${o}:6222`).sort());
    }
    expect(zones.sort()).toEqual([...ZONES]);
  });

  it("compose - every Tailrace service runs a command the CLI has, with settings the code knows", () => {
    const tailrace = Object.entries(compose.services).filter(([, s]) => s.image === "tailrace:dev");
    expect(tailrace.map(([n]) => n).sort()).toEqual(expect.arrayContaining(["agent", "doppler", "drainer"]));
    for (const [name, svc] of tailrace) {
      const cmd = svc.command?.[0];
      expect(COMMAND_NAMES, `${name} runs ${cmd}`).toContain(cmd);
      for (const key of Object.keys(svc.environment ?? {})) {
        expect(SETTINGS, `${name} sets ${key}`).toContain(key);
      }
      for (const key of requiredSettings(cmd)) expect(svc.environment, `${name} must set required ${key}`).toHaveProperty(key);
      for (const dep of svc.depends_on ?? []) expect(compose.services).toHaveProperty(dep);
    }
  });

  it("compose - every NATS node loads deploy/nats/nats.conf and gets every password its auth.conf and cluster.conf read", () => {
    expect(repoFile(NATS_CONF)).toMatch(/^include auth\.conf$/m);
    expect([...natsUsers.keys()].sort()).toEqual(["admin", "agent", "doppler", "drainer", "sys"]);
    const nats = Object.entries(compose.services).filter(([name]) => name.startsWith("nats-"));
    for (const [name, svc] of nats) {
      expect(svc.command?.[0], `${name} runs the shipped config`).toContain(`-c /etc/nats/${name}.conf`);
      expect(nodeConf(name), `${name}'s config includes the shared one`).toMatch(/^include nats\.conf$/m);
      expect(svc.volumes, `${name} mounts deploy/nats`).toContain("./deploy/nats:/etc/nats:ro");
      for (const v of [...natsUsers.values(), "TAILRACE_NATS_ROUTE_PASSWORD"])
        expect(svc.environment, `${name} gets ${v}`).toHaveProperty(v, expect.stringContaining(`\${${v}:?`));
    }
  });

  it("compose - each Tailrace service connects to NATS as its own user, which auth.conf defines", () => {
    for (const name of ["agent", "doppler", "drainer"]) {
      const env = compose.services[name]?.environment ?? {};
      expect(env.NATS_USER, `${name} has its own NATS user`).toBe(name);
      const variable = natsUsers.get(name);
      expect(variable, `auth.conf defines the user ${name}`).toBeDefined();
      expect(env.NATS_PASSWORD, `${name}'s password is the one the server checks`).toContain(`\${${variable}:?`);
    }
  });
});

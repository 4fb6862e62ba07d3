import { readFileSync } from "node:fs";
import { agentSpec } from "@tailrace/agent";
import { COMMAND_NAMES, knownSettings } from "@tailrace/cli";
import { dopplerSpec } from "@tailrace/doppler";
import { drainerSpec } from "@tailrace/drainer";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: string[];
}

const compose = parse(readFileSync(new URL("../docker-compose.yml", import.meta.url), "utf8"), { merge: true }) as {
  services: Record<string, Service>;
};

describe("docker-compose.yml", () => {
  it("compose - runs a 3-node NATS cluster with JetStream and routes between all nodes", () => {
    const nats = Object.entries(compose.services).filter(([name]) => name.startsWith("nats-"));
    expect(nats).toHaveLength(3);
    for (const [name, svc] of nats) {
      expect(svc.command).toContain("-js");
      const routes = svc.command?.[svc.command.indexOf("--routes") + 1] ?? "";
      const others = nats.map(([n]) => n).filter((n) => n !== name);
      for (const o of others) expect(routes).toContain(`nats://${o}:6222`);
    }
  });

  it("compose - every Tailrace service runs a command the CLI has, with settings the code knows", () => {
    const tailrace = Object.entries(compose.services).filter(([, s]) => s.image === "tailrace:dev");
    expect(tailrace.map(([n]) => n).sort()).toEqual(expect.arrayContaining(["agent", "doppler", "drainer"]));
    for (const [name, svc] of tailrace) {
      const cmd = svc.command?.[0];
      expect(COMMAND_NAMES, `${name} runs ${cmd}`).toContain(cmd);
      for (const key of Object.keys(svc.environment ?? {})) {
        expect([...knownSettings, "NATS_URL"], `${name} sets ${key}`).toContain(key);
      }
      const spec = cmd === "doppler" ? dopplerSpec : cmd === "agent" ? agentSpec : cmd === "drainer" ? drainerSpec : {};
      for (const [key, setting] of Object.entries(spec)) {
        if (!("default" in setting)) expect(svc.environment, `${name} must set required ${key}`).toHaveProperty(key);
      }
      for (const dep of svc.depends_on ?? []) expect(compose.services).toHaveProperty(dep);
    }
  });
});

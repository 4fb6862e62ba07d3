import { describe, expect, it } from "vitest";
import { placeSyslog } from "./mapping.js";
import { parseSyslog } from "./parse.js";

const place = (msg: string, dflt = "") => placeSyslog(parseSyslog(Buffer.from(msg)), dflt);

describe("placeSyslog", () => {
  it("syslog mapping - SD element, then tenant.app hostname, then the default tenant with APP-NAME", () => {
    expect(place('<14>1 - h app 9 - [tailrace@47450 tenant="t" app="a" process="worker" instance="3"] m')).toEqual({
      ok: true,
      info: { tenant: "t", app: "a", processType: "worker", instanceId: "3" },
    });
    expect(place("<14>1 - t2.a2 app 9 - - m")).toEqual({
      ok: true,
      info: { tenant: "t2", app: "a2", processType: "syslog", instanceId: "9" },
    });
    expect(place("<14>Nov 23 10:00:00 host myapp: m", "dflt")).toEqual({
      ok: true,
      info: { tenant: "dflt", app: "myapp", processType: "syslog", instanceId: "0" },
    });
    expect(place("<14>1 - host.example.com app - - - m")).toEqual({ ok: false, reason: "unmapped" });
    expect(place('<14>1 - h app - - [tailrace@47450 tenant="a b" app="x"] m')).toEqual({ ok: false, reason: "invalid_name" });
    expect(place("<14>1 - h my.app - - - m", "dflt")).toEqual({ ok: false, reason: "invalid_name" });
  });
});

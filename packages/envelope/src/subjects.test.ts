import { describe, expect, it } from "vitest";
import { InvalidNameError } from "./errors.js";
import { appFilter, dataSubject, parseDataSubject, tenantFilter } from "./subjects.js";

describe("subjects", () => {
  it("subjects - tenant first, kind last", () => {
    expect(dataSubject("acme", "web", "log")).toBe("tr.data.acme.web.log");
    expect(appFilter("acme", "web")).toBe("tr.data.acme.web.*");
    expect(tenantFilter("acme")).toBe("tr.data.acme.>");
    expect(parseDataSubject("tr.data.acme.web.gauge")).toEqual({ tenant: "acme", sourceId: "web", kind: "gauge" });
    expect(parseDataSubject("tr.data.acme.web.bogus")).toBeUndefined();
  });

  it("subjects - no name can widen a subject: dots, wildcards, whitespace and empties are refused", () => {
    for (const bad of ["a.b", "*", ">", "a b", "", "a\tb", "a\nb", "-lead", "é", "x".repeat(129)]) {
      expect(() => dataSubject(bad, "web", "log")).toThrow(InvalidNameError);
      expect(() => appFilter("acme", bad)).toThrow(InvalidNameError);
    }
  });
});

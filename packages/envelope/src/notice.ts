import type { Envelope } from "./envelope.js";
import { nowNs } from "./envelope.js";

/**
 * An in-band notice from Tailrace itself (drops, rate limits, drain errors), as a log envelope with
 * `source_type` LGR in the app's own stream, so `tailrace logs APP` shows what happened to it.
 */
export function lgrNotice(tenant: string, sourceId: string, text: string, extra: Record<string, string> = {}): Envelope {
  return {
    timestamp: nowNs(),
    sourceId,
    instanceId: "",
    tags: { ...extra, tenant, source_type: "LGR" },
    log: { payload: Buffer.from(text, "utf8"), type: "ERR" },
  };
}

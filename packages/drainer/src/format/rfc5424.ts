/**
 * Envelopes as RFC 5424 syslog messages in Cloud Foundry's drain format, so that receivers set up for CF drains
 * (Papertrail, Datadog, Splunk, Logit, Better Stack) parse ours unchanged. The reference is loggregator-agent-release,
 * src/pkg/egress/syslog/rfc5424.go. Where we differ, it is to stay valid RFC 5424 where CF is not:
 * - PARAM-VALUEs are escaped, and tag keys made valid SD-NAMEs;
 * - no tags (or `disable-metadata`) gives the NILVALUE `-`, not an empty field;
 * - over-long names are cut rather than the envelope refused;
 * - the timestamp is UTC with `Z` and always six fractional digits.
 *
 * The messages carry no framing; see octet.ts.
 */
import type { Envelope } from "@tailrace/envelope";
import type { DrainData } from "../binding/url.js";
import { appName, hostname, logProcId, metricProcId } from "./fields.js";
import { formatGoFloat } from "./gofloat.js";
import { CF_ENTERPRISE_ID, sdParam, tagsElement } from "./sd.js";
import { rfc3339Micros } from "./timestamp.js";

export interface SyslogFormatOptions {
  /** The drain URL's `disable-metadata=true`: leave out the tags element. */
  disableMetadata: boolean;
}

/** Facility user (1): severity info (6) for OUT, error (3) for ERR, as CF sends them. */
const PRI_OUT = "<14>";
const PRI_ERR = "<11>";
const NEWLINE = 0x0a;

function header(pri: string, e: Envelope, procId: string): string {
  return `${pri}1 ${rfc3339Micros(e.timestamp)} ${hostname(e)} ${appName(e)} ${procId} - `;
}

/**
 * A log envelope as one syslog message: header, tags, then the payload byte for byte (invalid UTF-8 included) with
 * the newline CF appends. Returns undefined for any other kind of envelope.
 */
export function formatSyslog(e: Envelope, opts: SyslogFormatOptions): Buffer | undefined {
  if (!e.log) return undefined;
  const sd = (opts.disableMetadata ? undefined : tagsElement(e.tags)) ?? "-";
  const head = `${header(e.log.type === "ERR" ? PRI_ERR : PRI_OUT, e, logProcId(e))}${sd} `;
  const headLen = Buffer.byteLength(head);
  const payload = e.log.payload;
  const out = Buffer.allocUnsafe(headLen + payload.length + 1);
  out.write(head, 0, "utf8");
  out.set(payload, headLen);
  out[out.length - 1] = NEWLINE;
  return out;
}

function metricElements(e: Envelope): string[] | undefined {
  if (e.gauge) {
    return Object.entries(e.gauge.metrics).map(
      ([name, m]) =>
        `[gauge@${CF_ENTERPRISE_ID} ${sdParam("name", name)} ${sdParam("value", formatGoFloat(m.value))} ${sdParam("unit", m.unit)}]`,
    );
  }
  if (e.counter) {
    const c = e.counter;
    return [`[counter@${CF_ENTERPRISE_ID} ${sdParam("name", c.name)} total="${c.total}" delta="${c.delta}"]`];
  }
  if (e.timer) {
    const t = e.timer;
    return [`[timer@${CF_ENTERPRISE_ID} ${sdParam("name", t.name)} start="${t.start}" stop="${t.stop}"]`];
  }
  return undefined;
}

/**
 * A gauge, counter or timer envelope as syslog messages: one per gauge metric, one for a counter or timer. Each has
 * PRI <14>, PROCID `[instance]` and the metric's SD element before the tags; the MSG is only CF's newline.
 * Returns undefined for logs and events (CF's event format is not part of the drain contract).
 */
export function formatSyslogMetric(e: Envelope, opts: SyslogFormatOptions): Buffer[] | undefined {
  const elements = metricElements(e);
  if (!elements) return undefined;
  const head = header(PRI_OUT, e, metricProcId(e));
  const tags = (opts.disableMetadata ? undefined : tagsElement(e.tags)) ?? "";
  return elements.map((el) => Buffer.from(`${head}${el}${tags} \n`, "utf8"));
}

/**
 * Every message a drain with this `drain-data` sends for `e`: logs for `logs`, gauges, counters and timers for
 * `metrics`, both for `all`. Events are never drained.
 */
export function syslogMessages(e: Envelope, opts: SyslogFormatOptions & { drainData: DrainData }): Buffer[] {
  if (e.log) {
    if (opts.drainData === "metrics") return [];
    return [formatSyslog(e, opts) as Buffer];
  }
  if (opts.drainData === "logs") return [];
  return formatSyslogMetric(e, opts) ?? [];
}

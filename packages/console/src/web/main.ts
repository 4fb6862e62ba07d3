/**
 * The console page: sign in with a token, pick an app, read its recent lines and follow it live, with filters,
 * pause/resume by cursor, download, per-instance sparklines and the drains panel. Errors always end up as a message
 * on the page, never as a blank screen.
 */
import { Api, ApiError, type AppMeta, appPath, explain } from "./api.js";
import { DrainsPanel } from "./drains.js";
import { envelopeKey, type Line, PartJoiner, toLines, type WireEnvelope } from "./envelope.js";
import { MetricsModel, renderMetrics } from "./metrics.js";
import { type Claims, looksLikeJwt, parseFragment, readClaims, sessionTokenStore } from "./session.js";
import { NO_FILTER, toText } from "./store.js";
import { Tail, type TailState, wsOriginOf } from "./tail.js";
import { LogView } from "./view.js";

const RECENT_LINES = 1000;
const RECENT_GAUGES = 60;

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page lacks #${id}`);
  return el as T;
}

const ui = {
  app: $<HTMLSelectElement>("app"),
  state: $("state"),
  stateDetail: $("state-detail"),
  pause: $<HTMLButtonElement>("pause"),
  download: $<HTMLButtonElement>("download"),
  signout: $<HTMLButtonElement>("signout"),
  banner: $("banner"),
  login: $("login"),
  loginForm: $<HTMLFormElement>("login-form"),
  token: $<HTMLInputElement>("token"),
  main: $("main"),
  source: $<HTMLSelectElement>("f-source"),
  instance: $<HTMLSelectElement>("f-instance"),
  text: $<HTMLInputElement>("f-text"),
  only: $<HTMLInputElement>("f-only"),
  counts: $("counts"),
  log: $("log"),
  metrics: $("metrics"),
  drains: $("drains"),
  drainForm: $<HTMLFormElement>("drain-form"),
  drainUrl: $<HTMLInputElement>("drain-url"),
  drainNote: $("drain-note"),
};

const tokens = sessionTokenStore(sessionStorage);
const view = new LogView(ui.log);
const metrics = new MetricsModel();
let drains: DrainsPanel | undefined;
let api: Api | undefined;
let currentToken = "";
let claims: Claims | undefined;
let apps: AppMeta[] = [];
let tail: Tail | undefined;
/** Bumped on every app switch, so late answers for the previous app are dropped. */
let generation = 0;
let seq = 0;
let received = 0;
const nextSeq = () => ++seq;

function banner(text: string, kind: "error" | "info" = "error"): void {
  ui.banner.textContent = text;
  ui.banner.dataset.kind = kind;
  ui.banner.hidden = text === "";
}

function showState(state: TailState | "error", detail = ""): void {
  const label: Record<string, string> = {
    connecting: "connecting",
    live: "live",
    reconnecting: "reconnecting",
    paused: "paused",
    stopped: "not connected",
    error: "error",
  };
  ui.state.dataset.state = state;
  ui.state.textContent = label[state] ?? state;
  ui.stateDetail.textContent = detail;
  document.body.dataset.state = state;
  ui.pause.disabled = !(state === "live" || state === "paused" || state === "reconnecting" || state === "connecting");
  ui.pause.textContent = state === "paused" ? "Resume" : "Pause";
}

function showLogin(message = ""): void {
  tail?.stop();
  ui.login.hidden = false;
  ui.main.hidden = true;
  ui.signout.hidden = true;
  ui.app.disabled = true;
  ui.download.disabled = true;
  showState("stopped");
  if (message) banner(message);
  ui.token.focus();
}

// --- lines in ---------------------------------------------------------------------------------------------------

const joiner = new PartJoiner();
/** While recent and live overlap: keys seen, and live frames held until the recent read is in. */
let merge: { keys: Set<string>; held: WireEnvelope[][] | undefined; until: number } | undefined;

function ingest(batch: readonly WireEnvelope[], gen: number): void {
  if (gen !== generation) return;
  const lines: Line[] = [];
  const gauges: WireEnvelope[] = [];
  for (const e of batch) {
    if (merge) {
      const k = envelopeKey(e);
      if (merge.keys.has(k)) continue;
      merge.keys.add(k);
    }
    // Gauges feed the sparklines; the log view shows what `cf logs` shows: log lines (and events).
    if (e.gauge) gauges.push(e);
    else if (e.log || e.event) for (const ready of joiner.push(e)) for (const l of toLines(ready, nextSeq)) lines.push(l);
  }
  received += lines.length;
  if (lines.length) {
    view.push(lines);
    drains?.observe(lines);
  }
  if (gauges.length && metrics.push(gauges)) scheduleMetrics();
}

function live(batch: WireEnvelope[], gen: number): void {
  if (merge?.held) {
    merge.held.push(batch);
    return;
  }
  if (merge && performance.now() > merge.until) merge = undefined;
  ingest(batch, gen);
}

let metricsScheduled = false;
function scheduleMetrics(): void {
  if (metricsScheduled) return;
  metricsScheduled = true;
  setTimeout(() => {
    metricsScheduled = false;
    renderMetrics(ui.metrics, metrics);
  }, 250);
}

/** Reads the recent lines and gauges once the tail is open, then lets the held live frames through, de-duplicated. */
async function loadRecent(app: AppMeta, gen: number): Promise<void> {
  merge = { keys: new Set(), held: [], until: 0 };
  try {
    const [logs, gauges] = await Promise.all([
      (api as Api).recent(app.sourceId, app.tenant, ["LOG"], RECENT_LINES),
      (api as Api).recent(app.sourceId, app.tenant, ["GAUGE"], RECENT_GAUGES),
    ]);
    if (gen !== generation) return;
    ingest([...gauges, ...logs], gen);
  } catch (err) {
    if (gen !== generation) return;
    banner(`Could not read the recent lines: ${explain(err, app.sourceId)}`);
  }
  const held = merge?.held ?? [];
  if (merge) {
    merge.held = undefined;
    // Live frames may still carry envelopes the recent read had; a few seconds of de-duplication covers that.
    merge.until = performance.now() + 5000;
  }
  for (const b of held) ingest(b, gen);
}

// --- the chosen app ---------------------------------------------------------------------------------------------

function updateFilterChoices(): void {
  const st = new Set<string>();
  for (const s of view.store.sourceTypes) {
    st.add(s.split("/")[0] as string);
    st.add(s);
  }
  syncOptions(ui.source, [...st].sort());
  syncOptions(
    ui.instance,
    [...view.store.instances].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })),
  );
}

function syncOptions(sel: HTMLSelectElement, values: string[]): void {
  if (sel.options.length - 1 === values.length) return;
  const current = sel.value;
  const opts = [new Option("all", "")];
  for (const v of values) opts.push(new Option(v, v));
  sel.replaceChildren(...opts);
  sel.value = values.includes(current) ? current : "";
}

function applyFilter(): void {
  view.setFilter({
    sourceType: ui.source.value,
    instance: ui.instance.value === "" ? undefined : ui.instance.value,
    text: ui.text.value,
    onlyMatching: ui.only.checked,
  });
}

function openApp(app: AppMeta): void {
  const gen = ++generation;
  tail?.stop();
  view.clear();
  view.setFilter(NO_FILTER);
  ui.source.value = ui.instance.value = ui.text.value = "";
  ui.only.checked = false;
  metrics.clear();
  renderMetrics(ui.metrics, metrics);
  merge = undefined;
  received = 0;
  banner("");
  sessionStorage.setItem("tailrace.app", app.sourceId);
  ui.download.disabled = false;
  const a = api as Api;
  const multi = (claims?.tenants.length ?? 0) > 1;
  const tenant = multi ? app.tenant : undefined;
  let recentLoaded = false;
  tail = new Tail(
    { wsOrigin: wsOriginOf(location), path: appPath("/v1/apps/{id}/stream", app.sourceId, tenant), token: currentToken },
    {
      onBatch: (batch) => live(batch, gen),
      onState: (state, detail) => {
        if (gen !== generation) return;
        showState(state, detail);
        if (state === "live") {
          banner("");
          if (!recentLoaded) {
            recentLoaded = true;
            void loadRecent(app, gen);
          }
        }
        if (state === "reconnecting")
          banner(`The connection dropped; reconnecting. No line is lost: the tail resumes from its cursor.`, "info");
      },
      probe: async () => {
        try {
          await a.recent(app.sourceId, tenant, ["LOG"], 1);
          return 200;
        } catch (err) {
          return err instanceof ApiError ? err.status : 0;
        }
      },
      onFatal: (status) => {
        if (gen !== generation) return;
        showState("error");
        if (status === 401) showLogin(explain(new ApiError(401, ""), app.sourceId));
        else banner(explain(new ApiError(status, ""), app.sourceId));
      },
      onGap: () =>
        banner("The doppler no longer had the lines since the last cursor; following live again. Some lines may be missing.", "info"),
    },
  );
  tail.start();
  void drains?.open(a, app.sourceId, tenant);
}

// --- sign in ----------------------------------------------------------------------------------------------------

async function signIn(token: string, wantedApp: string | undefined): Promise<void> {
  if (!looksLikeJwt(token)) {
    tokens.clear();
    showLogin("That is not a token: paste the JWT (three base64url parts separated by dots).");
    return;
  }
  claims = readClaims(token);
  currentToken = token;
  api = new Api(token);
  banner("Loading apps…", "info");
  try {
    apps = await api.meta();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) tokens.clear();
    showLogin(explain(err));
    return;
  }
  banner("");
  ui.login.hidden = true;
  ui.main.hidden = false;
  ui.signout.hidden = false;
  const scopes = claims?.scopes ?? [];
  drains = new DrainsPanel({
    el: ui.drains,
    form: ui.drainForm,
    input: ui.drainUrl,
    note: ui.drainNote,
    canWrite: scopes.includes("drains.write") || scopes.includes("logs.admin"),
  });
  const want = wantedApp ?? sessionStorage.getItem("tailrace.app") ?? undefined;
  // A deep link may name an app that has not logged yet: the doppler gives it to the token's tenant.
  if (want && !apps.some((a) => a.sourceId === want) && wantedApp) {
    apps.push({ sourceId: want, tenant: claims?.tenants[0] ?? "", count: 0 });
  }
  ui.app.replaceChildren(
    ...apps.map((a) => new Option(claims && claims.tenants.length > 1 ? `${a.sourceId} (${a.tenant})` : a.sourceId, a.sourceId)),
  );
  ui.app.disabled = apps.length === 0;
  if (apps.length === 0) {
    showState("stopped");
    banner(
      `No apps yet for this token${claims?.tenants.length ? ` (tenant ${claims.tenants.join(", ")})` : ""}. Start one, or open /#app=NAME to wait for its first line.`,
      "info",
    );
    return;
  }
  const chosen = apps.find((a) => a.sourceId === want) ?? (apps[0] as AppMeta);
  ui.app.value = chosen.sourceId;
  openApp(chosen);
}

// The fragment is read once, at load, and removed from the address bar before anything else happens.
const frag = parseFragment(location.hash);

// --- wiring -----------------------------------------------------------------------------------------------------

ui.loginForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = ui.token.value.trim();
  ui.token.value = "";
  tokens.set(t);
  void signIn(t, frag.app);
});
ui.signout.addEventListener("click", () => {
  tokens.clear();
  sessionStorage.removeItem("tailrace.app");
  generation++;
  view.clear();
  showLogin();
  banner("Signed out; the token is gone from this tab.", "info");
});
ui.app.addEventListener("change", () => {
  const a = apps.find((x) => x.sourceId === ui.app.value);
  if (a) openApp(a);
});
ui.pause.addEventListener("click", () => {
  if (!tail) return;
  if (tail.current === "paused") tail.resume();
  else {
    // The socket closes first, so nothing more arrives; what arrived already is drawn before the state reads paused.
    tail.pause();
    view.flush();
  }
});
ui.download.addEventListener("click", () => {
  const blob = new Blob([toText(view.visibleLines())], { type: "text/plain;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${ui.app.value || "tailrace"}-${new Date().toISOString().replace(/[:.]/g, "-")}.log`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
});
for (const el of [ui.source, ui.instance, ui.only]) el.addEventListener("change", applyFilter);
let textTimer: ReturnType<typeof setTimeout> | undefined;
ui.text.addEventListener("input", () => {
  clearTimeout(textTimer);
  textTimer = setTimeout(applyFilter, 150);
});
view.onRender = () => {
  updateFilterChoices();
  ui.counts.textContent = `${received.toLocaleString()} lines received · ${view.store.size.toLocaleString()} held`;
  ui.counts.dataset.received = String(received);
};

window.addEventListener("error", (ev) => banner(`The console hit an error: ${ev.message}. Reload the page to start again.`));
window.addEventListener("unhandledrejection", (ev) =>
  banner(`The console hit an error: ${String((ev.reason as Error)?.message ?? ev.reason)}.`),
);

if (location.hash) history.replaceState(null, "", location.pathname + location.search);
if (frag.token) tokens.set(frag.token);
const token = tokens.get();
if (token) void signIn(token, frag.app);
else showLogin(frag.app ? `Paste a token to open ${frag.app}.` : "");

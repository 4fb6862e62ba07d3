/**
 * The drains panel: list, add and remove an app's drains (docs/DRAINS.md). The API does not report a drain's
 * health, but drain failures arrive in the app's own stream as LGR lines tagged `drain_id`; the panel shows the
 * newest one per drain as its last error.
 */
import { type Api, type Drain, explain } from "./api.js";
import type { Line } from "./envelope.js";

export interface DrainsPanelOptions {
  el: HTMLElement;
  form: HTMLFormElement;
  input: HTMLInputElement;
  note: HTMLElement;
  canWrite: boolean;
}

export class DrainsPanel {
  private drains: Drain[] = [];
  private readonly lastError = new Map<string, Line>();
  private api: Api | undefined;
  private app: { id: string; tenant: string | undefined } | undefined;
  private error = "";

  constructor(private readonly o: DrainsPanelOptions) {
    o.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.add(o.input.value.trim());
    });
  }

  /** Shows the drains of `app`; clears everything known about the previous one. */
  async open(api: Api, app: string, tenant: string | undefined): Promise<void> {
    this.api = api;
    this.app = { id: app, tenant };
    this.drains = [];
    this.lastError.clear();
    this.error = "";
    this.o.form.hidden = !this.o.canWrite;
    this.o.note.textContent = this.o.canWrite ? "" : "This token can list drains but not change them (that needs the scope drains.write).";
    await this.reload();
  }

  /** Notes LGR lines about drains as their last error. */
  observe(lines: readonly Line[]): void {
    let changed = false;
    for (const l of lines) {
      if (l.drainId && l.cls === "lgr") {
        this.lastError.set(l.drainId, l);
        changed = true;
      }
    }
    if (changed) this.render();
  }

  /** Lists the drains again; a message from the last change stays up. */
  async reload(): Promise<void> {
    if (!this.api || !this.app) return;
    try {
      this.drains = await this.api.drains(this.app.id, this.app.tenant);
    } catch (err) {
      this.error = explain(err, this.app.id);
    }
    this.render();
  }

  private async add(url: string): Promise<void> {
    if (!this.api || !this.app || !url) return;
    try {
      await this.api.addDrain(this.app.id, this.app.tenant, url);
      this.o.input.value = "";
      this.error = "";
    } catch (err) {
      this.error = `Could not add the drain: ${explain(err, this.app.id)}`;
    }
    await this.reload();
  }

  private async remove(id: string): Promise<void> {
    if (!this.api || !this.app) return;
    try {
      await this.api.removeDrain(this.app.id, this.app.tenant, id);
      this.error = "";
    } catch (err) {
      this.error = `Could not remove the drain: ${explain(err, this.app.id)}`;
    }
    await this.reload();
  }

  private render(): void {
    const items: HTMLElement[] = [];
    if (this.error) {
      const p = document.createElement("p");
      p.className = "error";
      p.setAttribute("role", "alert");
      p.textContent = this.error;
      items.push(p);
    }
    if (this.drains.length === 0) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = "No drains.";
      items.push(p);
    }
    for (const d of this.drains) {
      const row = document.createElement("div");
      row.className = "drain";
      row.dataset.id = d.id;
      const url = document.createElement("code");
      url.textContent = d.url;
      const meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = ` ${d.id} · since ${new Date(d.created).toLocaleString()}`;
      row.append(url, meta);
      if (this.o.canWrite) {
        const rm = document.createElement("button");
        rm.type = "button";
        rm.className = "rm";
        rm.textContent = "Remove";
        rm.addEventListener("click", () => void this.remove(d.id));
        row.append(rm);
      }
      // The newest of what the drainer recorded and what this page saw in the stream since it opened.
      const seen = this.lastError.get(d.id);
      const kept = d.last_error;
      const status = document.createElement("div");
      status.className = seen || kept ? "drain-error" : "muted";
      if (seen && (!kept || Number(BigInt(seen.ts) / 1_000_000n) >= Date.parse(kept.at)))
        status.textContent = `Last error: ${seen.head.split(" ")[0]} ${seen.text}`;
      else if (kept) status.textContent = `Last error: ${new Date(kept.at).toLocaleString()} ${kept.message}`;
      else status.textContent = "No error reported.";
      row.append(status);
      items.push(row);
    }
    this.o.el.replaceChildren(...items);
  }
}

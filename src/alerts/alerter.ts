/**
 * Alert evaluation: the rules' firing set becomes incidents, and incidents become notifications.
 *
 * - A (rule, subject) firing with no open incident opens one; an open incident no longer firing is closed.
 *   The store refuses a second open incident for the same pair, so two processes evaluating at once open
 *   it once.
 * - Each channel of the rule owes one `fire` notification per incident and, once it closed, one `recovery`
 *   (only where the fire was sent). A notification is claimed in the store before it is sent, so it is sent
 *   by one process; a failed send gives the claim back and the next evaluation tries again. A claim left by
 *   a process that died while sending is taken over after CLAIM_STALE_MS (that one message may then go
 *   twice: the alternative is losing it).
 * - A channel that fails is logged (no secrets) and never stops the others or the caller.
 */
import type { AlertsConfig } from "../config/alerts.ts";
import type { FlowConfig } from "../config/schema.ts";
import { redactString } from "../core/redact.ts";
import type { Firing, Incident, NotificationKind } from "../ports/alerts.ts";
import type { ApiVersionInfo, Connector } from "../ports/connector.ts";
import type { Store } from "../ports/store.ts";
import { type AlertChannel, type ChannelOptions, createChannel } from "./channels.ts";
import { alertMessage } from "./message.ts";
import { evaluateRules } from "./rules.ts";

/** A claim older than this is taken to belong to a process that died while sending. */
export const CLAIM_STALE_MS = 10 * 60_000;

export interface AlerterLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AlerterOptions {
  store: Store;
  alerts: AlertsConfig;
  flows: Record<string, FlowConfig>;
  /** The open connections: their API versions, and the deprecation notices their answers carried. */
  connectors: Map<string, Connector>;
  /** The configuration's resolved secrets: never in a log line or a stored error. */
  secrets: readonly string[];
  logger?: AlerterLogger;
  now?: () => Date;
  /** Channel overrides for tests (a fetch, a sleep). */
  channel?: Partial<Omit<ChannelOptions, "redact">>;
}

export interface Delivery {
  incident: number;
  channel: string;
  kind: NotificationKind;
  ok: boolean;
  error?: string;
}

export interface Evaluation {
  firing: Firing[];
  opened: Incident[];
  closed: Incident[];
  deliveries: Delivery[];
}

/** Moves the deprecation notices seen by these connections into the store. */
export async function flushDeprecations(
  store: Store,
  connectors: Map<string, Connector>,
  now: Date = new Date(),
): Promise<void> {
  const at = now.toISOString();
  for (const [name, c] of connectors) {
    const seen = c.drainDeprecations?.() ?? [];
    if (seen.length > 0) {
      await store.alerts().recordDeprecations(
        seen.map((d) => ({ ...d, connection: name })),
        at,
      );
    }
  }
}

export class Alerter {
  readonly #o: AlerterOptions;
  readonly #channels = new Map<string, AlertChannel>();
  #running: Promise<Evaluation> | null = null;

  constructor(opts: AlerterOptions) {
    this.#o = opts;
    const redact = (text: string) => redactString(text, opts.secrets);
    for (const [name, config] of Object.entries(opts.alerts.channels)) {
      this.#channels.set(name, createChannel(name, config, { ...opts.channel, redact }));
    }
  }

  get enabled(): boolean {
    return this.#o.alerts.rules.length > 0;
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  /** Moves the deprecation notices the connections saw into the store, where every process sees them. */
  flushDeprecations(): Promise<void> {
    return flushDeprecations(this.#o.store, this.#o.connectors, this.#now());
  }

  versions(): Map<string, ApiVersionInfo> {
    const out = new Map<string, ApiVersionInfo>();
    for (const [name, c] of this.#o.connectors) {
      const v = c.apiVersion?.();
      if (v) out.set(name, v);
    }
    return out;
  }

  /** One evaluation; concurrent calls in this process share the one running. */
  evaluate(): Promise<Evaluation> {
    this.#running ??= this.#evaluate().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #evaluate(): Promise<Evaluation> {
    const store = this.#o.store;
    const alerts = store.alerts();
    await this.flushDeprecations();
    const now = this.#now();
    const firing = await evaluateRules(this.#o.alerts.rules, {
      now,
      store,
      alerts,
      marks: store.marks(),
      flows: this.#o.flows,
      versions: this.versions(),
      connections: [...this.#o.connectors.keys()],
    });
    const at = now.toISOString();
    const key = (rule: string, subject: string) => `${rule}\u0000${subject}`;
    const firingNow = new Map(firing.map((f) => [key(f.rule, f.subject), f]));
    const open = await alerts.openIncidents();
    const openKeys = new Set(open.map((i) => key(i.rule, i.subject)));
    const opened: Incident[] = [];
    const closed: Incident[] = [];
    for (const f of firing) {
      if (openKeys.has(key(f.rule, f.subject))) continue;
      const incident = await alerts.openIncident(f, at);
      if (incident) {
        opened.push(incident);
        this.#o.logger?.warn(
          { rule: f.rule, subject: f.subject, incident: incident.id },
          `alert: ${f.summary}`,
        );
      }
    }
    for (const incident of open) {
      const f = firingNow.get(key(incident.rule, incident.subject));
      if (f) {
        if (f.summary !== incident.summary) await alerts.updateSummary(incident.id, f.summary);
        continue;
      }
      if (await alerts.closeIncident(incident.id, at)) {
        closed.push({ ...incident, status: "closed", closedAt: at });
        this.#o.logger?.info(
          { rule: incident.rule, subject: incident.subject, incident: incident.id },
          "alert cleared",
        );
      }
    }
    return { firing, opened, closed, deliveries: await this.#deliver(now) };
  }

  async #deliver(now: Date): Promise<Delivery[]> {
    const alerts = this.#o.store.alerts();
    const rules = new Map(this.#o.alerts.rules.map((r) => [r.name, r]));
    const out: Delivery[] = [];
    const staleBefore = new Date(now.getTime() - CLAIM_STALE_MS).toISOString();
    for (const [name, channel] of this.#channels) {
      let owed: Awaited<ReturnType<typeof alerts.owed>>;
      try {
        owed = await alerts.owed(name, ["fire", "recovery"]);
      } catch (e) {
        this.#o.logger?.warn({ channel: name, err: String(e) }, "alert: cannot read what is owed");
        continue;
      }
      for (const { incident, kind } of owed) {
        const rule = rules.get(incident.rule);
        // A rule sends to its own channels (every channel when it names none); a recovery goes wherever
        // the firing went.
        if (kind === "fire" && rule?.channels !== undefined && !rule.channels.includes(name)) continue;
        if (kind === "fire" && rule === undefined) continue;
        const at = this.#now().toISOString();
        if (!(await alerts.claim(incident.id, name, kind, at, staleBefore))) continue;
        try {
          await channel.send(alertMessage(rule, incident, kind));
          await alerts.markSent(incident.id, name, kind, this.#now().toISOString());
          out.push({ incident: incident.id, channel: name, kind, ok: true });
        } catch (e) {
          const error = redactString(e instanceof Error ? e.message : String(e), this.#o.secrets);
          await alerts.markFailed(incident.id, name, kind, error);
          out.push({ incident: incident.id, channel: name, kind, ok: false, error });
          this.#o.logger?.warn(
            { channel: name, incident: incident.id, kind, err: error },
            "alert not delivered; tried again at the next evaluation",
          );
        }
      }
    }
    return out;
  }

  close(): void {
    for (const c of this.#channels.values()) c.close();
  }
}

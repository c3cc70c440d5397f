/**
 * The rules of `alerts.rules`, evaluated against the store at one instant: the set of (rule, subject)
 * pairs firing now, each with a one-line summary. Nothing here sends or remembers anything; the alerter
 * (alerter.ts) turns this set into incidents and notifications.
 */
import type { AlertRuleConfig } from "../config/alerts.ts";
import type { FlowConfig } from "../config/schema.ts";
import type { AlertStore, Firing } from "../ports/alerts.ts";
import type { ApiVersionInfo } from "../ports/connector.ts";
import type { MarkStore } from "../ports/marks.ts";
import type { Store } from "../ports/store.ts";

/** A call site that sent no deprecated call for this long is no longer reported. */
export const DEPRECATION_RECENT_MS = 7 * 86_400_000;

export interface RuleContext {
  now: Date;
  store: Pick<Store, "getLinks">;
  alerts: AlertStore;
  marks: MarkStore;
  flows: Record<string, Pick<FlowConfig, "source" | "target" | "trigger">>;
  /** The API version each connection speaks, where its connector can tell. */
  versions: Map<string, ApiVersionInfo>;
  connections: readonly string[];
}

/** "2h 5m", "3d 4h", "45s": a duration for people. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

async function failureRate(
  rule: Extract<AlertRuleConfig, { kind: "failure-rate" }>,
  c: RuleContext,
): Promise<Firing[]> {
  const out: Firing[] = [];
  const since = new Date(c.now.getTime() - rule.window).toISOString();
  for (const flow of rule.flow ? [rule.flow] : Object.keys(c.flows)) {
    const { attempted: events, failed } = await c.alerts.failureCounts(flow, since);
    const attempted = Math.max(events, failed);
    if (attempted < rule.minRecords || attempted === 0) continue;
    const rate = failed / attempted;
    if (rate < rule.threshold) continue;
    out.push({
      rule: rule.name,
      subject: `flow ${flow}`,
      summary: `${failed} of ${attempted} records of flow ${flow} failed in the last ${humanDuration(rule.window)} (${pct(rate)}; threshold ${pct(rule.threshold)})`,
    });
  }
  return out;
}

async function flowStale(
  rule: Extract<AlertRuleConfig, { kind: "flow-stale" }>,
  c: RuleContext,
): Promise<Firing[]> {
  const out: Firing[] = [];
  const flows = rule.flow
    ? [rule.flow]
    : Object.keys(c.flows).filter((f) => c.flows[f]?.trigger.type !== "manual");
  for (const flow of flows) {
    const last = await c.alerts.lastFinishedRun(flow);
    let since = last;
    if (since === null) {
      // Never finished: measured from the first evaluation that looked at it, so a fresh install is not
      // reported at once.
      const mark = `alerts:first-seen:${rule.name}:${flow}`;
      since = await c.marks.getMark(mark);
      if (since === null) {
        await c.marks.setMark(mark, c.now.toISOString());
        since = c.now.toISOString();
      }
    }
    const age = c.now.getTime() - Date.parse(since);
    if (age < rule.notRunFor) continue;
    out.push({
      rule: rule.name,
      subject: `flow ${flow}`,
      summary:
        last === null
          ? `flow ${flow} has not finished a run since alerting started watching it ${humanDuration(age)} ago (limit ${humanDuration(rule.notRunFor)})`
          : `flow ${flow} last finished a run ${humanDuration(age)} ago, at ${last} (limit ${humanDuration(rule.notRunFor)})`,
    });
  }
  return out;
}

async function orderMissing(
  rule: Extract<AlertRuleConfig, { kind: "order-missing" }>,
  c: RuleContext,
): Promise<Firing[]> {
  const spec = c.flows[rule.flow];
  if (!spec) return [];
  const target = spec.target.connection;
  const since = new Date(c.now.getTime() - rule.lookback).toISOString();
  const records = await c.alerts.readRecords(rule.flow, since);
  const late = records.filter((r) => {
    // Skipped orders (cancelled before they reached the ERP, filtered out) are meant not to be there.
    if (r.lastKind === "skipped") return false;
    const placed = Date.parse(r.placedAt ?? r.updatedAt ?? r.firstReadAt);
    return c.now.getTime() - placed >= rule.after;
  });
  if (late.length === 0) return [];
  const links = await c.store.getLinks(
    "order",
    target,
    late.map((r) => r.key),
  );
  return late
    .filter((r) => !links.has(r.key))
    .map((r) => {
      const placed = r.placedAt ?? r.updatedAt ?? r.firstReadAt;
      const age = humanDuration(c.now.getTime() - Date.parse(placed));
      const state =
        r.lastKind === "failed"
          ? "it failed (see passerelle failures list)"
          : r.lastKind === "held"
            ? "it is held"
            : `its last event is "${r.lastKind}"`;
      return {
        rule: rule.name,
        subject: `order ${r.key}`,
        summary: `order ${r.key} of flow ${rule.flow}, ${r.placedAt ? "placed" : "changed"} ${age} ago (${placed}), is not in ${target}; ${state} (limit ${humanDuration(rule.after)})`,
      };
    });
}

async function deprecation(
  rule: Extract<AlertRuleConfig, { kind: "deprecation" }>,
  c: RuleContext,
): Promise<Firing[]> {
  const out: Firing[] = [];
  const now = c.now.getTime();
  const connections = rule.connection ? [rule.connection] : c.connections;
  for (const conn of connections) {
    const info = c.versions.get(conn);
    if (info?.supportedUntil) {
      const end = Date.parse(info.supportedUntil);
      if (now >= end - rule.before) {
        const when =
          now >= end ? `ended ${humanDuration(now - end)} ago` : `ends in ${humanDuration(end - now)}`;
        out.push({
          rule: rule.name,
          subject: `connection ${conn} API version`,
          summary: `connection ${conn} speaks ${info.api} ${info.version}, whose support ${when} (${info.supportedUntil}; ${info.policy})`,
        });
      }
    }
  }
  const seen = await c.alerts.deprecations(rule.connection);
  const bySite = new Map<string, typeof seen>();
  for (const d of seen) {
    if (!connections.includes(d.connection) || now - Date.parse(d.lastSeen) > DEPRECATION_RECENT_MS) continue;
    const id = `${d.connection}\u0000${d.site}`;
    bySite.set(id, [...(bySite.get(id) ?? []), d]);
  }
  for (const list of bySite.values()) {
    const first = list[0];
    if (!first) continue;
    const declared = list
      .map((d) => d.sunset)
      .filter((s): s is string => s !== null)
      .sort()[0];
    // Without a date of its own, a deprecated call lasts as long as the version it was made in.
    const sunset = declared ?? c.versions.get(first.connection)?.supportedUntil ?? null;
    if (sunset !== null && now < Date.parse(sunset) - rule.before) continue;
    const count = list.reduce((n, d) => n + d.count, 0);
    out.push({
      rule: rule.name,
      subject: `connection ${first.connection} call ${first.site}`,
      summary: `${count} call(s) of ${first.site} on connection ${first.connection} were answered with a deprecation notice: ${list.map((d) => d.reason).join("; ")}; ${sunset ? `to be fixed before ${sunset.slice(0, 10)}` : "the vendor gave no date"} (last seen ${first.lastSeen})`,
    });
  }
  return out;
}

/** Every (rule, subject) firing now. */
export async function evaluateRules(rules: readonly AlertRuleConfig[], c: RuleContext): Promise<Firing[]> {
  const out: Firing[] = [];
  for (const rule of rules) {
    if (rule.kind === "failure-rate") out.push(...(await failureRate(rule, c)));
    else if (rule.kind === "flow-stale") out.push(...(await flowStale(rule, c)));
    else if (rule.kind === "order-missing") out.push(...(await orderMissing(rule, c)));
    else out.push(...(await deprecation(rule, c)));
  }
  return out;
}

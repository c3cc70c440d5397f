/**
 * `passerelle doctor`: every connection checked the way a sync would use it, with what to fix.
 *
 * - reachable, credentials: the connection's own `check()` (a cheap authenticated call);
 * - api-version: the vendor API version it speaks and, where the vendor publishes one, its end of support;
 * - deprecations: notices the vendor's answers carried (this check's and those kept in the store by runs
 *   in the last 7 days), per call site;
 * - permissions: each right the flows using the connection need (to read and write their entities), as
 *   the system answers for the configured user (the connector's `permissions`, ports/permissions.ts):
 *   Shopify's access scopes, Odoo's model access rights, Vendure's role permissions, …;
 * - webhooks: for a connection an event-driven flow reads from, the topics subscribed at the vendor against
 *   those the connector needs.
 */
import { DEPRECATION_RECENT_MS, humanDuration } from "../alerts/rules.ts";
import { SyncError } from "../core/errors.ts";
import type { EntityName } from "../core/model.ts";
import type { Connector } from "../ports/connector.ts";
import type { ConnectionUse, RightCheck } from "../ports/permissions.ts";
import { flushDeprecations } from "./alerting.ts";
import type { Context } from "./context.ts";

export type DoctorStatus = "ok" | "warn" | "fail" | "skip";

export interface Finding {
  connection: string;
  check: "reachable" | "credentials" | "api-version" | "deprecations" | "permissions" | "webhooks";
  status: DoctorStatus;
  detail: string;
  /** What to do about it; absent when nothing is to be done. */
  fix?: string;
}

/** An API version whose support ends sooner than this is reported as a warning. */
export const VERSION_WARN_MS = 90 * 86_400_000;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

function useOf(ctx: Context, connection: string): ConnectionUse {
  const use = { reads: [] as EntityName[], writes: [] as EntityName[] };
  for (const spec of Object.values(ctx.config.flows)) {
    if (spec.source.connection === connection) use.reads.push(spec.source.entity as EntityName);
    if (spec.target.connection === connection) use.writes.push(spec.target.entity as EntityName);
  }
  return use;
}

const distinct = (xs: string[]) => [...new Set(xs)];

/** One finding from the rights a connector's `permissions` answered. */
export function permissionFinding(name: string, rights: RightCheck[]): Omit<Finding, "connection"> {
  if (rights.length === 0)
    return { check: "permissions", status: "ok", detail: "the flows using it need no right here" };
  const missing = rights.filter((r) => r.granted === false);
  const unknown = rights.filter((r) => r.granted === "unknown");
  const held = rights.filter((r) => r.granted === true);
  const unchecked =
    unknown.length > 0
      ? `not checked: ${unknown.map((r) => r.right).join(", ")} (${distinct(unknown.map((r) => r.how)).join("; ")})`
      : null;
  if (missing.length > 0)
    return {
      check: "permissions",
      status: "fail",
      detail: [
        `missing ${missing.map((r) => `${r.right} (${r.neededFor})`).join(", ")}`,
        `asked: ${distinct(missing.map((r) => r.how)).join("; ")}`,
        ...(unchecked ? [unchecked] : []),
      ].join("; "),
      fix: `for the flows using ${name} to run: ${distinct(missing.map((r) => r.grant ?? `grant ${r.right}`)).join("; ")}`,
    };
  if (held.length === 0) return { check: "permissions", status: "skip", detail: unchecked ?? "" };
  return {
    check: "permissions",
    status: "ok",
    detail: [`holds ${held.map((r) => r.right).join(", ")}`, ...(unchecked ? [unchecked] : [])].join("; "),
  };
}

async function connectionFindings(ctx: Context, name: string, c: Connector, now: Date): Promise<Finding[]> {
  const out: Finding[] = [];
  const add = (f: Omit<Finding, "connection">) => out.push({ connection: name, ...f });
  let reached = false;
  let accepted = false;
  try {
    await c.check();
    reached = true;
    accepted = true;
    add({ check: "reachable", status: "ok", detail: `${c.kind} answered` });
    add({ check: "credentials", status: "ok", detail: "accepted" });
  } catch (e) {
    const kind = e instanceof SyncError ? e.kind : "retryable";
    if (kind === "config" || kind === "permanent") {
      reached = true;
      add({ check: "reachable", status: "ok", detail: `${c.kind} answered` });
      add({
        check: "credentials",
        status: "fail",
        detail: message(e),
        fix: `correct the credentials (or URL, database) of connections.${name} in ${ctx.configPath}`,
      });
    } else {
      add({
        check: "reachable",
        status: "fail",
        detail: message(e),
        fix: `make ${c.kind} reachable from here (address, network, the service itself), then run doctor again`,
      });
      add({ check: "credentials", status: "skip", detail: "not checked: the system did not answer" });
    }
  }

  const v = c.apiVersion?.();
  if (!v) add({ check: "api-version", status: "skip", detail: `not reported by the ${c.kind} connector` });
  else if (v.version.startsWith("n/a"))
    add({ check: "api-version", status: "skip", detail: `${v.api}: ${v.version}; ${v.policy}` });
  else if (v.supportedUntil === null)
    add({
      check: "api-version",
      status: v.version === "unstable" ? "warn" : "ok",
      detail: `${v.api} ${v.version}; ${v.policy}`,
      ...(v.version === "unstable" ? { fix: `set connections.${name}.apiVersion to a stable version` } : {}),
    });
  else {
    const left = Date.parse(v.supportedUntil) - now.getTime();
    const when = left <= 0 ? `ended ${humanDuration(-left)} ago` : `ends in ${humanDuration(left)}`;
    const status: DoctorStatus = left <= 0 ? "fail" : left < VERSION_WARN_MS ? "warn" : "ok";
    add({
      check: "api-version",
      status,
      detail: `${v.api} ${v.version}, supported until ${v.supportedUntil} (${when}; ${v.policy})`,
      ...(status === "ok"
        ? {}
        : {
            fix:
              // Shopify's version is a setting of the connection; elsewhere the server decides it.
              c.kind === "shopify"
                ? `move connections.${name}.apiVersion to a newer version (and Passerelle with it, if this version is its default)`
                : `before the date, upgrade ${c.kind} to a release that serves a supported API (and Passerelle, once a release speaks it): ${v.policy}`,
          }),
    });
  }

  await flushDeprecations(ctx.store, new Map([[name, c]]), now);
  const since = now.getTime() - DEPRECATION_RECENT_MS;
  const recent = (await ctx.store.alerts().deprecations(name)).filter((d) => Date.parse(d.lastSeen) >= since);
  if (recent.length === 0)
    add({
      check: "deprecations",
      status: "ok",
      detail: `none seen in the last ${humanDuration(DEPRECATION_RECENT_MS)}`,
    });
  else
    add({
      check: "deprecations",
      status: "warn",
      detail: recent
        .map(
          (d) => `${d.site} (${d.count}×): ${d.reason}${d.sunset ? `, sunset ${d.sunset.slice(0, 10)}` : ""}`,
        )
        .join("; "),
      fix: "the calls named use what the vendor deprecated: upgrade Passerelle or the connection's apiVersion before the date",
    });

  if (!reached) {
    add({ check: "permissions", status: "skip", detail: "not checked: the system did not answer" });
  } else if (!accepted) {
    add({ check: "permissions", status: "skip", detail: "not checked: the credentials were refused" });
  } else if (!c.permissions) {
    add({
      check: "permissions",
      status: "skip",
      detail: `not checked: the ${c.kind} connector has no way to ask what the user may do`,
    });
  } else {
    try {
      add(permissionFinding(name, await c.permissions(useOf(ctx, name))));
    } catch (e) {
      add({
        check: "permissions",
        status: "fail",
        detail: `cannot ask ${c.kind} what the user may do: ${message(e)}`,
        fix: `let the user of connections.${name} read its own rights, or correct what the error names`,
      });
    }
  }

  const events = Object.values(ctx.config.flows).filter(
    (f) => f.source.connection === name && f.trigger.type === "events",
  );
  if (!c.webhooks) {
    add({ check: "webhooks", status: "skip", detail: `not applicable: ${c.kind} sends no webhooks` });
  } else if (events.length === 0) {
    add({ check: "webhooks", status: "skip", detail: "not needed: no event-driven flow reads from it" });
  } else if (!reached) {
    add({ check: "webhooks", status: "skip", detail: "not checked: the system did not answer" });
  } else {
    try {
      const subs = await c.webhooks.list();
      const topics = new Set(subs.map((s) => s.topic));
      const missing = c.webhooks.topics.filter((t) => !topics.has(t));
      const where = [...new Set(subs.map((s) => s.url))].join(", ");
      if (missing.length > 0)
        add({
          check: "webhooks",
          status: "fail",
          detail: `not subscribed to ${missing.join(", ")}${subs.length > 0 ? ` (subscribed: ${[...topics].join(", ")} at ${where})` : ""}`,
          fix: `passerelle webhooks register ${name} --address <this server's public URL>/webhooks/${name}`,
        });
      else add({ check: "webhooks", status: "ok", detail: `${subs.length} subscription(s) at ${where}` });
    } catch (e) {
      add({ check: "webhooks", status: "fail", detail: `cannot list the subscriptions: ${message(e)}` });
    }
  }
  return out;
}

/** The findings of every connection named (default: all), in configuration order. */
export async function diagnose(ctx: Context, names: string[] = [], now = new Date()): Promise<Finding[]> {
  const unknown = names.filter((n) => !ctx.connectors.has(n));
  if (unknown.length > 0)
    throw new SyncError(
      "config",
      `no connection named ${unknown.map((n) => JSON.stringify(n)).join(", ")} in ${ctx.configPath}; connections: ${[...ctx.connectors.keys()].join(", ")}`,
    );
  const out: Finding[] = [];
  for (const [name, c] of ctx.connectors) {
    if (names.length > 0 && !names.includes(name)) continue;
    out.push(...(await connectionFindings(ctx, name, c, now)));
  }
  return out;
}

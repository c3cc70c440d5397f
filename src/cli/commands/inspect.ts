import { type Cursor, compareCursors } from "../../core/cursor.ts";
import { SyncError } from "../../core/errors.ts";
import { EntityName } from "../../core/model.ts";
import { sideCursorName } from "../../engine/two-way.ts";
import type { Run } from "../../ports/store.ts";
import type { Context } from "../../runtime/context.ts";
import { leaseHolder } from "../../runtime/leases.ts";
import { EXIT, type Output, table } from "../output.ts";

export async function statusCommand(ctx: Context, out: Output): Promise<number> {
  const open = await ctx.store.listFailures({ status: "open" });
  const rows: {
    flow: string;
    from: string;
    to: string;
    lastRun: Run | null;
    /** Who runs the flow right now (its lease), null when nobody does. */
    runningBy: string | null;
    cursor: Cursor | null;
    openFailures: number;
  }[] = [];
  for (const name of ctx.flowNames()) {
    // Runs still marked running of a flow nobody holds were left by a process that died: say so. Only
    // runs started before the lease was seen free, so a run that starts meanwhile is not touched.
    const seen = new Date().toISOString();
    const runningBy = await leaseHolder(ctx.store, `flow:${name}`);
    if (runningBy === null) {
      await ctx.store.interruptRuns(
        name,
        `interrupted: the process running it stopped before the end (no process holds flow:${name} any more); found by passerelle status at ${seen}`,
        { startedBefore: seen },
      );
    }
    // The flow's own last run: dry runs and operators' retries of single records are not its health.
    const last = (await ctx.store.lastRuns(name, 20)).find((r) => r.mode === "sync");
    const spec = ctx.config.flows[name];
    // A two-way flow has a cursor per side: the one further behind says how far the flow has come
    const cursors =
      spec?.direction === "two-way"
        ? await Promise.all(
            [spec.source.connection, spec.target.connection].map((c) =>
              ctx.store.getCursor(sideCursorName(name, c)),
            ),
          )
        : [await ctx.store.getCursor(name)];
    // (a side whose stream reads whole, compared by content, has none).
    const cursor =
      cursors.filter((c): c is Cursor => c !== null).sort((x, y) => compareCursors(x, y))[0] ?? null;
    rows.push({
      flow: name,
      from: `${spec?.source.connection}.${spec?.source.entity}`,
      to: `${spec?.target.connection}.${spec?.target.entity}`,
      lastRun: last ?? null,
      runningBy,
      cursor,
      openFailures: open.filter((f) => f.flow === name).length,
    });
  }
  const inbox = ctx.store.openInbox();
  const events = {
    pending: await inbox.count({ status: "pending" }),
    failed: await inbox.count({ status: "failed" }),
  };
  out.result({ flows: rows, webhookEvents: events }, () =>
    [
      table([
        ["FLOW", "FROM", "TO", "LAST RUN", "STATUS", "READ", "WRITTEN", "FAILED", "OPEN FAILURES", "CURSOR"],
        ...rows.map((r) => [
          r.flow,
          r.from,
          r.to,
          r.lastRun?.startedAt ?? "never",
          r.lastRun?.status ?? "-",
          String(r.lastRun?.counts.read ?? 0),
          String((r.lastRun?.counts.created ?? 0) + (r.lastRun?.counts.updated ?? 0)),
          String(r.lastRun?.counts.failed ?? 0),
          String(r.openFailures),
          r.cursor ? r.cursor.updatedAt : "-",
        ]),
      ]),
      ...rows
        .filter((r) => r.runningBy !== null)
        .map((r) => `${r.flow}: running now (held by ${r.runningBy})`),
      ...rows
        .filter((r) => r.lastRun?.status === "interrupted")
        .map(
          (r) =>
            `${r.flow}: run ${r.lastRun?.id} ${r.lastRun?.error ?? "interrupted"} (recorded ${r.lastRun?.finishedAt})`,
        ),
      events.pending + events.failed > 0
        ? `Webhook events: ${events.pending} pending, ${events.failed} failed (given up after repeated passes; the reconciliation poll still brings their records in)`
        : "",
    ]
      .filter(Boolean)
      .join("\n"),
  );
  return EXIT.ok;
}

export async function traceCommand(ctx: Context, out: Output, entity: string, id: string): Promise<number> {
  const parsed = EntityName.safeParse(entity);
  if (!parsed.success) {
    throw new SyncError(
      "config",
      `unknown entity ${JSON.stringify(entity)}; entities: ${EntityName.options.join(", ")}`,
    );
  }
  const events = await ctx.store.trace(parsed.data, id);
  const links = new Map<string, Awaited<ReturnType<typeof ctx.store.linksForKey>>>();
  for (const key of new Set(events.map((e) => e.key)))
    links.set(key, await ctx.store.linksForKey(parsed.data, key));
  out.result({ entity, id, links: Object.fromEntries(links), events }, () => {
    if (events.length === 0) return `No events for ${entity} ${id}.`;
    const linkLines = [...links.entries()].map(
      ([key, ls]) => `${key}: ${ls.map((l) => `${l.system}=${l.externalId}`).join(", ") || "(no links)"}`,
    );
    return [
      `Links:\n  ${linkLines.join("\n  ")}`,
      table([
        ["AT", "FLOW", "EVENT", "SYSTEM", "EXTERNAL ID", "MESSAGE"],
        ...events.map((e) => [e.at, e.flow, e.kind, e.system, e.externalId ?? "-", e.message ?? ""]),
      ]),
    ].join("\n");
  });
  return EXIT.ok;
}

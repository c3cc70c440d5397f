import type { Context } from "../../runtime/context.ts";
import { flowStatuses, traceRecord, webhookEventCounts } from "../../runtime/operations.ts";
import { EXIT, type Output, table } from "../output.ts";

export async function statusCommand(ctx: Context, out: Output): Promise<number> {
  const rows = await flowStatuses(ctx);
  const events = await webhookEventCounts(ctx);
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
  const { links, events } = await traceRecord(ctx, entity, id);
  out.result({ entity, id, links, events }, () => {
    if (events.length === 0) return `No events for ${entity} ${id}.`;
    const linkLines = Object.entries(links).map(
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

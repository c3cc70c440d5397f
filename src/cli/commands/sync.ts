import { retryPolicyFor } from "../../engine/retry.ts";
import type { PlanLine, RunSummary } from "../../engine/sync.ts";
import type { Context } from "../../runtime/context.ts";
import { EXIT, type Output, table } from "../output.ts";
import { progressReporter } from "../progress.ts";

export function summaryLine(s: RunSummary): string {
  const c = s.counts;
  const parts = [
    `${c.read} read`,
    `${c.created} created`,
    `${c.updated} updated`,
    `${c.skipped - c.skippedWithReason} unchanged`,
    `${c.failed} failed`,
  ];
  if (c.skippedWithReason > 0) parts.push(`${c.skippedWithReason} skipped with a reason (passerelle trace)`);
  if (c.held > 0) parts.push(`${c.held} held`);
  if (c.filtered > 0) parts.push(`${c.filtered} filtered out`);
  parts.push(`${c.calls} API calls`);
  return `${s.flow}: ${s.status} — ${parts.join(", ")}${s.error ? `\n  stopped: ${stoppedBy(s.error)}` : ""}`;
}

/** The error that stopped a run, prefixed by the connection it came from. */
export function stoppedBy(err: NonNullable<RunSummary["error"]>): string {
  return err.details.system ? `${err.details.system}: ${err.message}` : err.message;
}

export function summaryJson(s: RunSummary): Record<string, unknown> {
  return { ...s, error: s.error ? s.error.toJSON() : null };
}

export function exitCodeFor(summaries: RunSummary[]): number {
  if (summaries.some((s) => s.status === "failed")) {
    return summaries.some((s) => s.error?.kind === "config") ? EXIT.config : EXIT.failed;
  }
  return summaries.some((s) => s.status === "partial") ? EXIT.partial : EXIT.ok;
}

export async function syncCommand(
  ctx: Context,
  out: Output,
  flows: string[],
  opts: { maxPages?: number },
): Promise<number> {
  const summaries: RunSummary[] = [];
  for (const name of flows) {
    const flow = ctx.flow(name);
    const bar = progressReporter(!out.json);
    const summary = await ctx.engine.run(flow, {
      retry: retryPolicyFor(ctx.config, name),
      onProgress: (p) => bar.update(p),
      ...(opts.maxPages ? { maxPages: opts.maxPages } : {}),
    });
    bar.stop();
    summaries.push(summary);
    ctx.logger.info(
      { flow: name, runId: summary.runId, status: summary.status, counts: summary.counts },
      "run finished",
    );
    if (!out.json) out.info(summaryLine(summary));
    if (summary.status === "failed") break;
  }
  out.result({ runs: summaries.map(summaryJson) }, () =>
    summaries.some((s) => s.counts.failed > 0) ? "Failed records: passerelle failures list" : "",
  );
  return exitCodeFor(summaries);
}

/** What the plan's call estimate covers, printed with it. */
const ESTIMATE_COVERS =
  "reads of the source, counted as this plan made them, and the target's lookups and writes, estimated " +
  "from its writer's batching; records the target finds unchanged cost less, retries more";

export async function planCommand(
  ctx: Context,
  out: Output,
  flowName: string,
  opts: { limit: number },
): Promise<number> {
  const lines: PlanLine[] = [];
  const flow = ctx.flow(flowName);
  const summary = await ctx.engine.run(flow, { dryRun: true, onPlan: (l) => lines.push(l) });
  // A dry run only reads: every call it made was the source's.
  const reads = summary.counts.calls;
  const calls = { total: reads + summary.estimatedCalls, reads, writes: summary.estimatedCalls };
  const wouldFail = summary.plan.error.records;
  const wouldHold = summary.plan.hold.records;
  out.result(
    {
      flow: flowName,
      status: summary.status,
      plan: summary.plan,
      wouldFail,
      wouldHold,
      calls: { ...calls, covers: ESTIMATE_COVERS },
      records: lines,
      error: summary.error?.toJSON() ?? null,
    },
    () => {
      // Unchanged records are left out; a record skipped for a reason is news.
      const listed = lines.filter((l) => l.action !== "skip" || l.reason);
      const shown = listed.slice(0, opts.limit);
      const rows = [["ACTION", "KEY", "SOURCE ID", "TARGET ID", "REASON"]];
      for (const l of shown) rows.push([l.action, l.key, l.sourceId, l.targetId ?? "-", l.reason ?? ""]);
      const hidden = listed.length - shown.length;
      const totals = Object.entries(summary.plan)
        .filter(([, v]) => v.records > 0)
        .map(([k, v]) => `${k}: ${v.records} records`)
        .join("\n  ");
      return [
        `Plan for ${flowName} (dry run: nothing was written)`,
        shown.length > 0 ? table(rows) : "(no writes needed)",
        hidden > 0 ? `… ${hidden} more (--limit, or --json for all)` : "",
        `Totals:\n  ${totals || "nothing to read"}`,
        wouldFail + wouldHold > 0 ? failLine(wouldFail, wouldHold) : "",
        `API calls a sync would make: about ${calls.total} (${reads} reading ${flow.source.name}, made by this plan; ` +
          `${calls.writes} looking up and writing in ${flow.target.name}, estimated from its batching).`,
        summary.error ? `Stopped: ${stoppedBy(summary.error)}` : "",
      ]
        .filter(Boolean)
        .join("\n");
    },
  );
  return exitCodeFor([summary]);
}

function failLine(failing: number, held: number): string {
  const parts = [
    failing > 0 ? `${failing} record${failing === 1 ? "" : "s"} would fail` : "",
    held > 0 ? `${held} record${held === 1 ? "" : "s"} would be held` : "",
  ].filter(Boolean);
  return `${parts.join(" and ")}: a sync puts them in the failures inbox (see REASON).`;
}

import type { RunSummary } from "../../engine/sync.ts";
import { alerterFor } from "../../runtime/alerting.ts";
import type { Context } from "../../runtime/context.ts";
import { processHolder } from "../../runtime/leases.ts";
import { ESTIMATE_COVERS, planFlow } from "../../runtime/operations.ts";
import { abandonHeldFlows, FlowBusyError, runFlow } from "../../runtime/run-flow.ts";
import { exitWhenIdleOrSoon, shutdownOnSignals } from "../../runtime/shutdown.ts";
import { EXIT, type Output, table } from "../output.ts";
import { progressReporter } from "../progress.ts";

/** After Ctrl-C or SIGTERM, how long a sync may take to stop after the records it is writing. */
const SYNC_GRACE_MS = 20_000;

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
  const interrupted =
    s.status === "interrupted"
      ? "\n  stopped before the end; what was written is committed and the next run resumes from there"
      : "";
  return `${s.flow}: ${s.status} — ${parts.join(", ")}${s.error ? `\n  stopped: ${stoppedBy(s.error)}` : ""}${interrupted}`;
}

/** The error that stopped a run, prefixed by the connection it came from. */
export function stoppedBy(err: NonNullable<RunSummary["error"]>): string {
  return err.details.system ? `${err.details.system}: ${err.message}` : err.message;
}

export function summaryJson(s: RunSummary): Record<string, unknown> {
  const { unsynced: _unsynced, ...rest } = s as RunSummary & { unsynced?: unknown };
  return { ...rest, error: s.error ? s.error.toJSON() : null };
}

export function exitCodeFor(summaries: RunSummary[]): number {
  if (summaries.some((s) => s.status === "failed")) {
    return summaries.some((s) => s.error?.kind === "config") ? EXIT.config : EXIT.failed;
  }
  if (summaries.some((s) => s.status === "interrupted")) return EXIT.failed;
  return summaries.some((s) => s.status === "partial") ? EXIT.partial : EXIT.ok;
}

/** A flow `passerelle sync` did not run because another process held it. */
interface Busy {
  flow: string;
  holder: string | null;
  message: string;
}

/**
 * `passerelle sync`: each flow once, from its cursor, under the flow's lease like every other entry point
 * (runFlow). A flow held elsewhere (a worker, `passerelle run`, another sync) is not run: it is waited for
 * up to `waitSeconds`, then reported, and the command exits 4 once the other flows are done.
 */
export async function syncCommand(
  ctx: Context,
  out: Output,
  flows: string[],
  opts: { maxPages?: number; waitSeconds?: number; allRecords?: boolean },
): Promise<number> {
  const summaries: RunSummary[] = [];
  const busy: Busy[] = [];
  const shutdown = shutdownOnSignals({
    graceMs: SYNC_GRACE_MS,
    onSignal: (signal, phase) =>
      out.info(
        phase === "stop"
          ? `${signal}: stopping after the records being written (again to quit at once)…`
          : `${signal}: quitting without waiting for the records being written`,
      ),
  });
  const holder = processHolder("sync");
  const work = async () => {
    for (const name of flows) {
      if (shutdown.stop.aborted) break;
      const flow = ctx.flow(name);
      const bar = progressReporter(!out.json);
      let summary: RunSummary;
      try {
        summary = await runFlow(
          ctx,
          flow,
          // --all-records: every record of the source again (a reconciliation window from the start), the
          // cursor left where it is; records whose content did not change are skipped by their hash.
          opts.allRecords
            ? { kind: "window", since: null }
            : {
                kind: "cursor",
                onProgress: (p) => bar.update(p),
                ...(opts.maxPages ? { maxPages: opts.maxPages } : {}),
              },
          {
            holder,
            signal: shutdown.stop,
            waitMs: (opts.waitSeconds ?? 0) * 1000,
            onBusy: (by) =>
              out.info(
                `${name}: running elsewhere (held by ${by ?? "another process"}); waiting up to ${opts.waitSeconds} s…`,
              ),
            onTakeOver: (dead) =>
              out.info(`${name}: ${dead} held it but its process is gone (killed or crashed); taken over`),
            onInterrupted: (runs) =>
              out.info(
                `${name}: run ${runs.map((r) => r.id).join(", ")} had been left running by a process that stopped; recorded as interrupted`,
              ),
          },
        );
      } catch (e) {
        bar.stop();
        if (!(e instanceof FlowBusyError)) throw e;
        busy.push({ flow: name, holder: e.holder, message: e.message });
        if (!out.json) {
          out.info(
            `${name}: not run — ${e.message}. Try again when it is done${opts.waitSeconds ? "" : ", or wait for it with --wait <seconds>"}`,
          );
        }
        continue;
      }
      bar.stop();
      summaries.push(summary);
      ctx.logger.info(
        { flow: name, runId: summary.runId, status: summary.status, counts: summary.counts },
        "run finished",
      );
      if (!out.json) out.info(summaryLine(summary));
      if (summary.status === "failed") break;
    }
  };
  try {
    const cut = new Promise<"cut">((done) =>
      shutdown.cut.addEventListener("abort", () => done("cut"), { once: true }),
    );
    if ((await Promise.race([work().then(() => "done" as const), cut])) === "cut") {
      const runs = await abandonHeldFlows("the sync was stopped before the records being written were");
      exitWhenIdleOrSoon();
      out.result({ runs: summaries.map(summaryJson), busy, interruptedRuns: runs.map((r) => r.id) }, () =>
        runs.length > 0 ? `run ${runs.map((r) => r.id).join(", ")} recorded as interrupted` : "",
      );
      return EXIT.failed;
    }
  } finally {
    shutdown.dispose();
  }
  await evaluateAlerts(ctx, out);
  out.result({ runs: summaries.map(summaryJson), busy }, () =>
    summaries.some((s) => s.counts.failed > 0) ? "Failed records: passerelle failures list" : "",
  );
  const code = exitCodeFor(summaries);
  return code === EXIT.ok || code === EXIT.partial ? (busy.length > 0 ? EXIT.busy : code) : code;
}

/**
 * After a sync, the alert rules are evaluated once (when passerelle.yaml has some), so a sync run from cron
 * alerts too. A rule or channel that fails is reported and never changes the sync's exit code.
 */
async function evaluateAlerts(ctx: Context, out: Output): Promise<void> {
  const alerter = alerterFor(ctx);
  if (!alerter) return;
  try {
    const e = await alerter.evaluate();
    if (!out.json) {
      for (const i of e.opened) out.info(`alert ${i.rule} firing: ${i.summary}`);
      for (const i of e.closed) out.info(`alert ${i.rule} cleared: ${i.subject}`);
      for (const d of e.deliveries.filter((x) => !x.ok)) out.info(`alert not delivered: ${d.error}`);
    }
  } catch (err) {
    ctx.logger.warn(
      { err: err instanceof Error ? err.message : String(err) },
      "cannot evaluate the alert rules",
    );
    if (!out.json)
      out.info(`cannot evaluate the alert rules: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    alerter.close();
  }
}

export async function planCommand(
  ctx: Context,
  out: Output,
  flowName: string,
  opts: { limit: number },
): Promise<number> {
  const flow = ctx.flow(flowName);
  const { summary, lines, calls } = await planFlow(ctx, flowName);
  const reads = calls.reads;
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
        flow.twoWay
          ? `API calls a sync would make: about ${calls.total} (${reads} reading ${flow.source.name} and ${flow.target.name}, made by this plan; ` +
            `${calls.writes} looking up and writing in both, estimated from their batching).`
          : `API calls a sync would make: about ${calls.total} (${reads} reading ${flow.source.name}, made by this plan; ` +
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

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ERROR_KINDS, SyncError } from "../../core/errors.ts";
import { editFailure, type RetryOutcome, skipFailure } from "../../engine/failures.ts";
import type { FailedRecord, FailureStatus } from "../../ports/store.ts";
import type { Context } from "../../runtime/context.ts";
import { processHolder } from "../../runtime/leases.ts";
import { FlowBusyError, resolveConflict, retryFlowFailures } from "../../runtime/run-flow.ts";
import { EXIT, type Output, reportError, table } from "../output.ts";

function parseId(raw: string): number {
  const id = Number(raw);
  if (!Number.isInteger(id) || id <= 0)
    throw new SyncError("config", `failure id must be a positive integer, got ${JSON.stringify(raw)}`);
  return id;
}

async function getFailure(ctx: Context, raw: string): Promise<FailedRecord> {
  const f = await ctx.store.getFailure(parseId(raw));
  if (!f) throw new SyncError("config", `no failed record with id ${raw} (see: passerelle failures list)`);
  return f;
}

function flowOf(ctx: Context, f: FailedRecord) {
  if (!ctx.flowNames().includes(f.flow)) {
    throw new SyncError(
      "config",
      `failure ${f.id} belongs to flow ${JSON.stringify(f.flow)}, which is no longer in ${ctx.configPath}; skip it with --reason or restore the flow`,
    );
  }
  return ctx.flow(f.flow);
}

export async function listFailures(
  ctx: Context,
  out: Output,
  opts: { flow?: string; type?: string; status?: string; all?: boolean },
): Promise<number> {
  const statuses: FailureStatus[] = ["open", "retrying", "resolved", "skipped"];
  if (opts.status && !statuses.includes(opts.status as FailureStatus)) {
    throw new SyncError(
      "config",
      `--status must be one of ${statuses.join(", ")}, got ${JSON.stringify(opts.status)}`,
    );
  }
  const kinds = [...ERROR_KINDS, "hold", "conflict"];
  if (opts.type && !kinds.includes(opts.type)) {
    throw new SyncError(
      "config",
      `--type must be one of ${kinds.join(", ")}, got ${JSON.stringify(opts.type)}`,
    );
  }
  const rows = await ctx.store.listFailures({
    ...(opts.flow ? { flow: opts.flow } : {}),
    ...(opts.type ? { errorKind: opts.type } : {}),
    ...(opts.status ? { status: opts.status as FailureStatus } : opts.all ? {} : { status: "open" }),
  });
  out.result(rows, () =>
    rows.length === 0
      ? "No failed records."
      : table([
          ["ID", "FLOW", "ENTITY", "KEY", "TYPE", "ATTEMPTS", "STATUS", "ERROR"],
          ...rows.map((f) => [
            String(f.id),
            f.flow,
            f.entity,
            f.key,
            f.errorKind,
            String(f.attempts),
            f.status,
            f.errorMessage.length > 80 ? `${f.errorMessage.slice(0, 77)}...` : f.errorMessage,
          ]),
        ]),
  );
  return EXIT.ok;
}

export async function showFailure(ctx: Context, out: Output, id: string): Promise<number> {
  const f = await getFailure(ctx, id);
  out.result(f, () =>
    [
      `Failure ${f.id} — ${f.flow} ${f.entity} ${f.key} (${f.status}, ${f.attempts} attempt${f.attempts === 1 ? "" : "s"})`,
      `Source: ${f.sourceSystem} ${f.sourceId}`,
      `Error (${f.errorKind}): ${f.errorMessage}`,
      f.reason ? `Reason: ${f.reason}` : "",
      `First failed ${f.firstFailedAt}, last ${f.lastFailedAt}`,
      f.errorKind === "conflict"
        ? `Conflict (the base and both versions; resolve with failures resolve ${f.id} --take <side or file>):\n${JSON.stringify(f.sourcePayload, null, 2)}`
        : `Mapped payload:\n${JSON.stringify(f.mappedPayload, null, 2)}`,
      `Error detail:\n${JSON.stringify(f.errorDetail, null, 2)}`,
    ]
      .filter(Boolean)
      .join("\n"),
  );
  return EXIT.ok;
}

function outcomeLine(o: RetryOutcome): string {
  return `failure ${o.id} (${o.key}): ${o.ok ? o.action : `${o.action} again — ${o.message}`}`;
}

/**
 * Retries failed records of one flow under the flow's lease, like every run of it: a retry never writes at
 * the same time as a sync of the same flow. With `strict`, a retry that cannot start (the record is gone
 * from its source, the failure is already resolved) is thrown; otherwise it is reported with its reason.
 */
async function retryUnderLease(
  ctx: Context,
  flow: string,
  failures: FailedRecord[],
  opts: { resync: boolean; strict: boolean },
): Promise<RetryOutcome[]> {
  const results = await retryFlowFailures(ctx, ctx.flow(flow), failures, {
    holder: processHolder("cli"),
    resync: opts.resync,
    actor: "cli",
  });
  return results.map((r) => {
    if (r.ok) return r.outcome;
    if (opts.strict) throw r.error;
    return { id: r.failure.id, key: r.failure.key, ok: false, action: "failed", message: r.error.message };
  });
}

export async function retryFailures(
  ctx: Context,
  out: Output,
  id: string | undefined,
  opts: { all?: boolean; flow?: string; resync?: boolean },
): Promise<number> {
  let targets: FailedRecord[];
  if (opts.all)
    targets = await ctx.store.listFailures({ status: "open", ...(opts.flow ? { flow: opts.flow } : {}) });
  else if (id) targets = [await getFailure(ctx, id)];
  else throw new SyncError("config", "give a failure id or --all");
  const outcomes: RetryOutcome[] = [];
  const byFlow = new Map<string, FailedRecord[]>();
  for (const f of targets) {
    // One record that cannot be retried (its flow was removed) is reported with its reason with --all.
    try {
      flowOf(ctx, f);
    } catch (e) {
      if (!opts.all) throw e;
      outcomes.push({ id: f.id, key: f.key, ok: false, action: "failed", message: (e as Error).message });
      continue;
    }
    byFlow.set(f.flow, [...(byFlow.get(f.flow) ?? []), f]);
  }
  let busy = false;
  for (const [flow, failures] of byFlow) {
    try {
      outcomes.push(
        ...(await retryUnderLease(ctx, flow, failures, { resync: opts.resync ?? false, strict: !opts.all })),
      );
    } catch (e) {
      if (!(e instanceof FlowBusyError)) throw e;
      busy = true;
      if (!opts.all) {
        reportError(new SyncError("retryable", e.message), out.json, out.secrets);
        return EXIT.busy;
      }
      for (const f of failures)
        outcomes.push({ id: f.id, key: f.key, ok: false, action: "failed", message: e.message });
    }
  }
  out.result(outcomes, () =>
    outcomes.length === 0 ? "No open failures to retry." : outcomes.map(outcomeLine).join("\n"),
  );
  if (busy) return EXIT.busy;
  return outcomes.every((o) => o.ok) ? EXIT.ok : EXIT.partial;
}

export async function skipFailureCommand(
  ctx: Context,
  out: Output,
  id: string,
  reason: string | undefined,
): Promise<number> {
  const f = await getFailure(ctx, id);
  await skipFailure(ctx.store, f, reason ?? "", "cli");
  out.result({ id: f.id, status: "skipped", reason }, () => `failure ${f.id} (${f.key}) skipped: ${reason}`);
  return EXIT.ok;
}

/** Opens the mapped payload in $EDITOR (or `--file` for scripts), saves it, then retries. */
export async function editFailureCommand(
  ctx: Context,
  out: Output,
  id: string,
  opts: { file?: string },
): Promise<number> {
  const f = await getFailure(ctx, id);
  let text: string;
  if (opts.file) text = readFileSync(opts.file, "utf8");
  else {
    const editor = process.env.VISUAL ?? process.env.EDITOR;
    if (!editor) throw new SyncError("config", "set $EDITOR (or pass --file <json>) to edit a failed record");
    const dir = mkdtempSync(join(tmpdir(), "passerelle-edit-"));
    const path = join(dir, `failure-${f.id}.json`);
    try {
      writeFileSync(path, `${JSON.stringify(f.mappedPayload, null, 2)}\n`);
      const res = spawnSync(editor, [path], { stdio: "inherit", shell: true });
      if (res.status !== 0)
        throw new SyncError("config", `editor exited with status ${res.status}; nothing changed`);
      text = readFileSync(path, "utf8");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (e) {
    throw new SyncError(
      "data",
      `edited payload is not valid JSON: ${e instanceof Error ? e.message : String(e)}; nothing changed`,
    );
  }
  await editFailure(ctx.store, f, payload, "cli");
  const updated = await getFailure(ctx, id);
  flowOf(ctx, updated);
  let outcome: RetryOutcome | undefined;
  try {
    [outcome] = await retryUnderLease(ctx, updated.flow, [updated], { resync: false, strict: true });
  } catch (e) {
    if (!(e instanceof FlowBusyError)) throw e;
    reportError(
      new SyncError("retryable", `${e.message}; the edit is saved, retry it later`),
      out.json,
      out.secrets,
    );
    return EXIT.busy;
  }
  if (!outcome) throw new SyncError("permanent", `failure ${updated.id} was not retried`);
  out.result(outcome, () => outcomeLine(outcome));
  return outcome.ok ? EXIT.ok : EXIT.partial;
}

/**
 * Resolves a held two-way conflict by taking one side's version (`--take <connection>`, or source / target)
 * or a merged record from a JSON file, under the flow's lease.
 */
export async function resolveFailureCommand(
  ctx: Context,
  out: Output,
  id: string,
  take: string,
): Promise<number> {
  const f = await getFailure(ctx, id);
  const flow = flowOf(ctx, f);
  if (!flow.twoWay) {
    throw new SyncError(
      "config",
      `failure ${f.id} belongs to the one-way flow ${f.flow}; use failures retry, edit or skip`,
    );
  }
  let choice: { side: "a" | "b" } | { record: unknown };
  if (take === "source" || take === flow.source.name) choice = { side: "a" };
  else if (take === "target" || take === flow.target.name) choice = { side: "b" };
  else if (existsSync(take)) {
    try {
      choice = { record: JSON.parse(readFileSync(take, "utf8")) };
    } catch (e) {
      throw new SyncError(
        "data",
        `${take} is not valid JSON: ${e instanceof Error ? e.message : String(e)}; nothing changed`,
      );
    }
  } else {
    throw new SyncError(
      "config",
      `--take must be ${flow.source.name}, ${flow.target.name}, source, target or a JSON file; got ${JSON.stringify(take)}`,
    );
  }
  try {
    const r = await resolveConflict(ctx, flow, f, choice, { holder: processHolder("cli"), actor: "cli" });
    out.result(
      { id: f.id, status: "resolved", written: r.written },
      () =>
        `failure ${f.id} (${f.key}) resolved; written to ${r.written.length > 0 ? r.written.join(" and ") : "neither side (both already held it)"}`,
    );
    return EXIT.ok;
  } catch (e) {
    if (!(e instanceof FlowBusyError)) throw e;
    reportError(new SyncError("retryable", e.message), out.json, out.secrets);
    return EXIT.busy;
  }
}

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SyncError } from "../../core/errors.ts";
import type { RetryOutcome } from "../../engine/failures.ts";
import type { FailedRecord } from "../../ports/store.ts";
import type { Context } from "../../runtime/context.ts";
import { processHolder } from "../../runtime/leases.ts";
import {
  type ConflictChoice,
  conflictFlow,
  editAndRetry,
  getFailure as findFailure,
  findFailures,
  resolveFailure,
  retryFailures as retryFailureSet,
  skipFailure,
  takeConflict,
} from "../../runtime/operations.ts";
import { FlowBusyError } from "../../runtime/run-flow.ts";
import { EXIT, type Output, reportError, table } from "../output.ts";

const getFailure = (ctx: Context, raw: string) => findFailure(ctx, raw, " (see: passerelle failures list)");

export async function listFailures(
  ctx: Context,
  out: Output,
  opts: { flow?: string; type?: string; status?: string; all?: boolean },
): Promise<number> {
  const rows = await findFailures(ctx, opts, { status: "--status", type: "--type" });
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
  let report: Awaited<ReturnType<typeof retryFailureSet>>;
  try {
    report = await retryFailureSet(ctx, targets, {
      resync: opts.resync ?? false,
      strict: !opts.all,
      actor: "cli",
      holder: processHolder("cli"),
    });
  } catch (e) {
    if (!(e instanceof FlowBusyError)) throw e;
    reportError(new SyncError("retryable", e.message), out.json, out.secrets);
    return EXIT.busy;
  }
  const { outcomes, busy } = report;
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
  let outcome: RetryOutcome;
  try {
    outcome = await editAndRetry(ctx, f, payload, { actor: "cli", holder: processHolder("cli") });
  } catch (e) {
    if (!(e instanceof FlowBusyError)) throw e;
    reportError(
      new SyncError("retryable", `${e.message}; the edit is saved, retry it later`),
      out.json,
      out.secrets,
    );
    return EXIT.busy;
  }
  out.result(outcome, () => outcomeLine(outcome));
  return outcome.ok ? EXIT.ok : EXIT.partial;
}

export async function resolveFailureCommand(
  ctx: Context,
  out: Output,
  id: string,
  opts: { take?: string; reason?: string },
): Promise<number> {
  if ((opts.take === undefined) === (opts.reason === undefined)) {
    throw new SyncError(
      "config",
      "failures resolve needs either --take (a held two-way conflict: the side or merged record to write) or --reason (a record fixed by hand in the target)",
    );
  }
  if (opts.take !== undefined) return resolveConflictCommand(ctx, out, id, opts.take);
  const f = await getFailure(ctx, id);
  await resolveFailure(ctx.store, f, opts.reason ?? "", "cli");
  out.result(
    { id: f.id, status: "resolved", reason: opts.reason },
    () => `failure ${f.id} (${f.key}) resolved: ${opts.reason}`,
  );
  return EXIT.ok;
}

/**
 * Resolves a held two-way conflict by taking one side's version (`--take <connection>`, or source / target)
 * or a merged record from a JSON file, under the flow's lease.
 */
async function resolveConflictCommand(ctx: Context, out: Output, id: string, take: string): Promise<number> {
  const f = await getFailure(ctx, id);
  const flow = conflictFlow(ctx, f);
  let choice: ConflictChoice;
  if (take === "source" || take === "target" || take === flow.source.name || take === flow.target.name)
    choice = { side: take };
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
    const r = await takeConflict(ctx, f, choice, { holder: processHolder("cli"), actor: "cli" });
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

/**
 * `passerelle restore <flow> <key>`: brings back a record a two-way flow's delete policy stopped carrying.
 */
import { SyncError } from "../../core/errors.ts";
import type { Context } from "../../runtime/context.ts";
import { processHolder } from "../../runtime/leases.ts";
import { restoreRecord } from "../../runtime/operations.ts";
import { FlowBusyError } from "../../runtime/run-flow.ts";
import { EXIT, type Output, reportError } from "../output.ts";

export async function restoreCommand(ctx: Context, out: Output, flow: string, key: string): Promise<number> {
  try {
    const r = await restoreRecord(ctx, flow, key, { actor: "cli", holder: processHolder("cli") });
    out.result(r, () => {
      const done = [
        r.reactivated.length > 0 ? `reactivated in ${r.reactivated.join(" and ")}` : null,
        r.recreated.length > 0 ? `to be created again in ${r.recreated.join(" and ")}` : null,
      ].filter((x) => x !== null);
      const merge = r.ok
        ? `merged: ${r.action}`
        : `merge ${r.action}: ${r.message ?? "see passerelle failures list"}`;
      return `${key} restored in flow ${flow}${done.length > 0 ? ` (${done.join("; ")})` : ""}; ${merge}`;
    });
    return r.ok ? EXIT.ok : EXIT.partial;
  } catch (e) {
    if (!(e instanceof FlowBusyError)) throw e;
    reportError(new SyncError("retryable", e.message), out.json, out.secrets);
    return EXIT.busy;
  }
}

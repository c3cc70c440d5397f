/**
 * `passerelle doctor [connections...]`: the findings of src/runtime/doctor.ts as a table (or --json), then
 * what to fix. Exits 0 when nothing failed (warnings included), 3 when the only failures are systems that
 * did not answer, 2 otherwise (credentials, missing permissions, an unsupported API version, missing webhooks).
 */
import type { Context } from "../../runtime/context.ts";
import { diagnose } from "../../runtime/doctor.ts";
import { EXIT, type Output, table } from "../output.ts";

export async function doctorCommand(ctx: Context, out: Output, names: string[]): Promise<number> {
  const findings = await diagnose(ctx, names);
  const failed = findings.filter((f) => f.status === "fail");
  const fixes = findings.filter((f) => f.fix !== undefined && (f.status === "fail" || f.status === "warn"));
  out.result({ ok: failed.length === 0, findings }, () =>
    [
      table([
        ["connection", "check", "status", "detail"],
        ...findings.map((f) => [f.connection, f.check, f.status.toUpperCase(), f.detail]),
      ]),
      ...(fixes.length > 0
        ? ["", "To fix:", ...fixes.map((f) => `- ${f.connection} ${f.check}: ${f.fix}`)]
        : ["", "Nothing to fix."]),
    ].join("\n"),
  );
  if (failed.length === 0) return EXIT.ok;
  return failed.every((f) => f.check === "reachable") ? EXIT.failed : EXIT.config;
}

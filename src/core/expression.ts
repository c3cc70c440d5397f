/**
 * JSONata expressions as the configuration uses them (mapping `expr` rules and flow filters). The library
 * throws plain objects `{ code, position, token, message, stack }`, not Errors, so a generic handler prints
 * "[object Object]"; everything that compiles or runs an expression goes through here instead.
 */
import jsonata from "jsonata";
import { ConfigError, SyncError } from "./errors.ts";
import { show } from "./show.ts";

/** Longest expression quoted whole in a message; a longer one is quoted around the error's position. */
const QUOTED = 80;

/** `<message> (<code>) at position <n>` from anything JSONata throws; its stack trace is left out. */
export function jsonataMessage(e: unknown): string {
  if (e === null || typeof e !== "object") return String(e);
  const message = "message" in e && typeof e.message === "string" && e.message !== "" ? e.message : "error";
  const code = "code" in e && typeof e.code === "string" ? ` (${e.code})` : "";
  return `${message}${code}${at(e)}`;
}

function at(e: object): string {
  return "position" in e && typeof e.position === "number" ? ` at position ${e.position}` : "";
}

/** The expression quoted for a message: whole when short, else the part around where it failed. */
export function quoteExpression(source: string, e?: unknown): string {
  if (source.length <= QUOTED) return JSON.stringify(source);
  const position =
    e !== null && typeof e === "object" && "position" in e && typeof e.position === "number" ? e.position : 0;
  const start = Math.max(0, Math.min(position - QUOTED / 2, source.length - QUOTED));
  const cut = source.slice(start, start + QUOTED);
  return `${start > 0 ? "…" : ""}${JSON.stringify(cut)}${start + QUOTED < source.length ? "…" : ""}`;
}

/** The value JSONata names in a runtime error (the operand of a failed operator, say), if any. */
function offending(e: unknown): string {
  return e !== null && typeof e === "object" && "value" in e ? ` (value ${show(e.value)})` : "";
}

/** Compiles an expression, or says what is wrong with it: message, code, position and the expression. */
export function compileJsonata(source: string, what: string): jsonata.Expression | string {
  try {
    return jsonata(source);
  } catch (e) {
    return `invalid JSONata ${what}: ${jsonataMessage(e)} (got ${quoteExpression(source, e)})`;
  }
}

/**
 * Evaluates a compiled expression; a failure becomes a data error (the record goes to the failed-records
 * inbox) that quotes the expression and says where and why it failed.
 */
export async function evaluateJsonata(
  expression: jsonata.Expression,
  source: string,
  input: unknown,
  bindings: Record<string, unknown> | undefined,
  where: () => { field: string; label: string },
): Promise<unknown> {
  try {
    return await expression.evaluate(input, bindings);
  } catch (e) {
    const { field, label } = where();
    throw new SyncError(
      "data",
      `${label}: expression ${quoteExpression(source, e)} failed: ${jsonataMessage(e)}${offending(e)}`,
      { field, cause: e },
    );
  }
}

/** A flow's filter: false (or an empty result) skips the record. Throws ConfigError when it does not compile. */
export function compileFilter(
  source: string,
  opts: { path?: string } = {},
): (record: unknown) => Promise<boolean> {
  const path = opts.path ?? "filter";
  const expression = compileJsonata(source, "filter");
  if (typeof expression === "string") {
    throw new ConfigError([{ path, message: expression }], `invalid filter at ${path}`);
  }
  const where = () => ({ field: "filter", label: path });
  return async (record) => Boolean(await evaluateJsonata(expression, source, record, undefined, where));
}

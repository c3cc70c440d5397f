import { ConfigError } from "../config/errors.ts";
import { SyncError } from "../core/errors.ts";
import { redact, redactString } from "../core/redact.ts";

/** Exit codes, documented in `passerelle --help`. */
export const EXIT = {
  ok: 0,
  /** The run finished but some records failed or were held (see `failures list`). */
  partial: 1,
  /** Bad configuration, arguments or credentials: nothing can run until they are fixed. */
  config: 2,
  /** A system could not be reached or the run stopped; the next run resumes where it stopped. */
  failed: 3,
  /** A flow was not run because another process (worker, `passerelle run`, another sync) was running it. */
  busy: 4,
} as const;

export interface Output {
  json: boolean;
  /** Values never to print (the configuration's resolved secrets); set once the configuration is loaded. */
  secrets: string[];
  /** A value for scripts (printed as JSON with --json) and its human rendering. */
  result(value: unknown, human: () => string): void;
  /** Like result, for values that are not secret although named like one (an emulator's test credentials). */
  resultAsIs(value: unknown, human: () => string): void;
  info(line: string): void;
}

export function createOutput(json: boolean): Output {
  const out: Output = {
    json,
    secrets: [],
    result(value, human) {
      const text = json
        ? JSON.stringify(redact(value, out.secrets), null, 2)
        : redactString(human(), out.secrets);
      if (text !== "") process.stdout.write(`${text}\n`);
    },
    resultAsIs(value, human) {
      process.stdout.write(`${json ? JSON.stringify(value, null, 2) : human()}\n`);
    },
    info(line) {
      if (!json) process.stderr.write(`${redactString(line, out.secrets)}\n`);
    },
  };
  return out;
}

/** Prints an error for a person (or as JSON), secrets redacted, and returns the exit code. */
export function reportError(err: unknown, json: boolean, secrets: readonly string[] = []): number {
  let code: number = EXIT.failed;
  let payload: Record<string, unknown>;
  if (err instanceof ConfigError) {
    code = EXIT.config;
    payload = { error: "config", message: err.message, issues: err.issues };
  } else if (err instanceof SyncError) {
    code = err.kind === "config" ? EXIT.config : EXIT.failed;
    payload = { error: err.kind, ...err.toJSON() };
  } else {
    payload = { error: "internal", message: err instanceof Error ? err.message : String(err) };
  }
  const text = json ? JSON.stringify(payload, null, 2) : `error: ${String(payload.message)}`;
  process.stderr.write(`${redactString(text, [...secrets])}\n`);
  if (!json && process.env.PASSERELLE_DEBUG && err instanceof Error && err.stack) {
    process.stderr.write(`${redactString(err.stack, [...secrets])}\n`);
  }
  return code;
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return "";
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

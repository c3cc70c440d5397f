import pino, { type DestinationStream, type Logger } from "pino";
import { redact } from "../core/redact.ts";

/**
 * Structured JSON logs on stderr, at `warn` unless PASSERELLE_LOG_LEVEL says otherwise: the CLI's own
 * output is for people, and `info` adds a line per finished run for log collectors. Every logged object
 * passes through `redact` with the secrets the configuration resolved, so a token that leaks into an error
 * body never reaches a log line.
 */
export function createLogger(
  secrets: readonly string[],
  level = process.env.PASSERELLE_LOG_LEVEL ?? "warn",
  destination: DestinationStream = pino.destination(2),
): Logger {
  return pino(
    {
      level,
      base: undefined,
      formatters: { log: (obj) => redact(obj, [...secrets]) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const clean = args.map((a) => (typeof a === "string" ? (redact(a, [...secrets]) as string) : a));
          method.apply(this, clean as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

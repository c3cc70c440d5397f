/**
 * The `--json` outputs the end-to-end tests read, as zod schemas: a change in the CLI's machine-readable
 * contract fails here with the path of the field, not later as an undefined somewhere.
 */
import { z } from "zod";
import { type CliResult, json } from "./helpers.ts";

const Counts = z.object({
  read: z.number(),
  created: z.number(),
  updated: z.number(),
  skipped: z.number(),
  failed: z.number(),
  calls: z.number(),
  skippedWithReason: z.number(),
});

const ErrorJson = z.object({ kind: z.string(), message: z.string(), system: z.string().optional() });

export const SyncOutput = z.object({
  runs: z.array(
    z.object({
      flow: z.string(),
      status: z.enum(["running", "succeeded", "failed", "partial", "interrupted"]),
      counts: Counts,
      error: ErrorJson.nullable(),
    }),
  ),
  /** Flows not run because another process held them. */
  busy: z.array(z.object({ flow: z.string(), holder: z.string().nullable(), message: z.string() })),
});
export type SyncOutput = z.infer<typeof SyncOutput>;

export const PlanOutput = z.object({
  flow: z.string(),
  status: z.string(),
  plan: z.record(z.string(), z.object({ records: z.number() })),
  wouldFail: z.number(),
  wouldHold: z.number(),
  calls: z.object({ total: z.number(), reads: z.number(), writes: z.number(), covers: z.string() }),
  records: z.array(
    z.object({ key: z.string(), action: z.string(), sourceId: z.string(), reason: z.string().optional() }),
  ),
});

export const FailuresOutput = z.array(
  z.object({
    id: z.number(),
    flow: z.string(),
    key: z.string(),
    errorKind: z.string(),
    errorMessage: z.string(),
    status: z.string(),
    mappedPayload: z.unknown(),
  }),
);

export const RetryOutput = z.array(
  z.object({
    id: z.number(),
    key: z.string(),
    ok: z.boolean(),
    action: z.string(),
    message: z.string().nullable(),
  }),
);

export const StatusOutput = z.object({
  flows: z.array(
    z.object({
      flow: z.string(),
      lastRun: z
        .object({
          id: z.number(),
          status: z.string(),
          startedAt: z.string(),
          finishedAt: z.string().nullable(),
          error: z.string().nullable(),
        })
        .nullable(),
      runningBy: z.string().nullable(),
      cursor: z.object({ updatedAt: z.string(), id: z.string() }).nullable(),
      openFailures: z.number(),
    }),
  ),
  webhookEvents: z.object({ pending: z.number(), failed: z.number() }),
});

export const TraceOutput = z.object({
  links: z.record(z.string(), z.array(z.object({ system: z.string(), externalId: z.string() }))),
  events: z.array(
    z.object({ system: z.string(), kind: z.string(), flow: z.string(), message: z.string().nullable() }),
  ),
});

/** Parses a command's stdout with a schema, naming the command's output when it does not fit. */
export function parseOutput<S extends z.ZodType>(schema: S, res: CliResult): z.infer<S> {
  const parsed = schema.safeParse(json(res));
  if (!parsed.success) {
    throw new Error(
      `unexpected --json output: ${z.prettifyError(parsed.error)}\nstdout:\n${res.stdout.slice(0, 2000)}`,
    );
  }
  return parsed.data;
}

/** Records written by a sync, over all its flows. */
export function written(out: SyncOutput): number {
  return out.runs.reduce((n, r) => n + r.counts.created + r.counts.updated, 0);
}

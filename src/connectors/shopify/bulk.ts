/**
 * Shopify bulk mutations: one mutation run over many sets of variables in the background, outside the
 * cost bucket. The steps, as the Admin API documents them: `stagedUploadsCreate` (resource
 * BULK_MUTATION_VARIABLES) gives an upload target; the JSONL (one variables object per line) is POSTed there
 * as multipart/form-data, the target's parameters first and the file last; `bulkOperationRunMutation` starts
 * the run with the upload's `key` as `stagedUploadPath`; the operation is polled with `node(id:)` until it
 * ends; its result file (JSONL, one line per input line with `__lineNumber`) gives each line's answer.
 * Shopify limits how many bulk mutations run at once per shop: an OPERATION_IN_PROGRESS answer is waited out.
 *
 * Polling, not the `bulk_operations/finish` webhook: the writer that waits for the result is inside a sync
 * run, and the webhook would reach the ingest endpoint (another process, maybe another host) that has no
 * way to wake it. Polls are paced by the operation's own progress (`nextPollDelay`), one point each.
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { realTimer, type ShopifyClient, type Timer, UserErrors } from "./client.ts";

export const STAGED_UPLOADS_CREATE = `mutation StagedUploadsCreate($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets { url resourceUrl parameters { name value } }
    userErrors { field message }
  }
}`;

export const BULK_OPERATION_RUN_MUTATION = `mutation BulkOperationRunMutation($mutation: String!, $stagedUploadPath: String!, $clientIdentifier: String) {
  bulkOperationRunMutation(mutation: $mutation, stagedUploadPath: $stagedUploadPath, clientIdentifier: $clientIdentifier) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}`;

export const BULK_OPERATION = `query BulkOperation($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount url partialDataUrl } }
}`;

const StagedAnswer = z.object({
  stagedUploadsCreate: z
    .object({
      stagedTargets: z
        .array(
          z.object({
            url: z.string().nullable(),
            resourceUrl: z.string().nullable(),
            parameters: z.array(z.object({ name: z.string(), value: z.string() })),
          }),
        )
        .nullable(),
      userErrors: z.array(z.object({ field: z.array(z.string()).nullable(), message: z.string() })),
    })
    .nullable(),
});

const RunAnswer = z.object({
  bulkOperationRunMutation: z
    .object({
      bulkOperation: z.object({ id: z.string(), status: z.string() }).nullable(),
      userErrors: UserErrors,
    })
    .nullable(),
});

const OperationAnswer = z.object({
  node: z
    .object({
      id: z.string(),
      status: z.string(),
      errorCode: z.string().nullable(),
      objectCount: z.string(),
      url: z.string().nullable(),
      partialDataUrl: z.string().nullable(),
    })
    .nullable(),
});

const ResultLine = z.object({
  __lineNumber: z.number().int().min(0),
  data: z.unknown().optional(),
  errors: z.array(z.object({ message: z.string() }).passthrough()).optional(),
});
export type BulkLineResult = z.infer<typeof ResultLine>;

export interface BulkOptions {
  timer?: Timer;
  fetchApi?: typeof fetch;
  /** Shortest delay between two polls, and the first one (default 100 ms). */
  pollMs?: number;
  /** Longest delay between two polls (default 5 s). */
  maxPollMs?: number;
  /** Gives up (retryable) when the operation has not ended by then. */
  timeoutMs?: number;
  clientIdentifier?: string;
}

export interface PollState {
  /** Milliseconds since the operation was started. */
  elapsedMs: number;
  /** Lines Shopify reports done (`objectCount`). */
  done: number;
  /** Lines in the file. */
  total: number;
  /** The previous delay (0 before the first poll). */
  previousMs: number;
  minMs: number;
  maxMs: number;
}

/**
 * The delay before the next poll of a running operation. While lines are being done, the rate so far
 * gives the time left, and the next poll is set for then (within [min, max]): one or two polls per
 * operation instead of a fixed ladder that overshoots its end by up to a step. With no progress to go by
 * (the operation is queued) it backs off, doubling from the shortest delay up to the longest; once every
 * line is done and only the result file is being written, it waits at most an eighth of the time so far.
 */
export function nextPollDelay(p: PollState): number {
  const clamp = (ms: number) => Math.min(p.maxMs, Math.max(p.minMs, Math.round(ms)));
  if (p.done > 0 && p.done < p.total && p.elapsedMs > 0) {
    return clamp(((p.total - p.done) * p.elapsedMs) / p.done);
  }
  const backoff = p.previousMs <= 0 ? p.minMs : p.previousMs * 2;
  // Every line done, the result file not yet out: a short tail, a small share of the run so far.
  if (p.total > 0 && p.done >= p.total) return clamp(Math.min(backoff, p.elapsedMs / 8));
  return clamp(backoff);
}

/**
 * Runs `mutation` once per entry of `lines` as one bulk operation and returns each line's answer, in the
 * order of `lines` (a line the result file does not mention is reported with an error).
 */
export async function runBulkMutation(
  client: ShopifyClient,
  system: string,
  mutation: string,
  lines: Record<string, unknown>[],
  opts: BulkOptions = {},
): Promise<BulkLineResult[]> {
  const timer = opts.timer ?? realTimer;
  const fetchApi = opts.fetchApi ?? fetch;
  const jsonl = `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`;
  const fail = (message: string, kind: "retryable" | "permanent" = "permanent") =>
    new SyncError(kind, `Shopify bulk mutation: ${message}`, { system });

  const staged = await client.request(
    STAGED_UPLOADS_CREATE,
    {
      input: [
        {
          resource: "BULK_MUTATION_VARIABLES",
          filename: "passerelle-bulk.jsonl",
          mimeType: "text/jsonl",
          httpMethod: "POST",
        },
      ],
    },
    StagedAnswer,
  );
  const target = staged.stagedUploadsCreate?.stagedTargets?.[0];
  const errs = staged.stagedUploadsCreate?.userErrors ?? [];
  if (!target?.url || errs.length > 0)
    throw fail(`no staged upload target (${errs.map((e) => e.message).join("; ") || "none returned"})`);
  const key = target.parameters.find((p) => p.name === "key")?.value;
  if (key === undefined) throw fail("the staged upload target has no key parameter");

  const form = new FormData();
  for (const p of target.parameters) form.append(p.name, p.value);
  form.append("file", new Blob([jsonl], { type: "text/jsonl" }), "passerelle-bulk.jsonl");
  let upload: Response;
  try {
    upload = await fetchApi(target.url, { method: "POST", body: form });
  } catch (e) {
    throw fail(`the upload failed: ${e instanceof Error ? e.message : String(e)}`, "retryable");
  }
  if (!upload.ok) {
    throw fail(
      `the upload was refused (HTTP ${upload.status})`,
      upload.status >= 500 ? "retryable" : "permanent",
    );
  }
  await upload.arrayBuffer();

  const deadline = timer.now() + (opts.timeoutMs ?? 30 * 60_000);
  const minWait = opts.pollMs ?? 100;
  const maxWait = Math.max(minWait, opts.maxPollMs ?? 5_000);
  let wait = minWait;
  let id: string | null = null;
  while (id === null) {
    const run = await client.request(
      BULK_OPERATION_RUN_MUTATION,
      { mutation, stagedUploadPath: key, clientIdentifier: opts.clientIdentifier ?? null },
      RunAnswer,
    );
    const payload = run.bulkOperationRunMutation;
    const busy = payload?.userErrors.some((e) => e.code === "OPERATION_IN_PROGRESS");
    if (payload?.bulkOperation) id = payload.bulkOperation.id;
    else if (busy && timer.now() < deadline) {
      // One bulk mutation at a time per shop: wait for the other one to end.
      await timer.sleep(wait);
      wait = Math.min(maxWait, wait * 2);
    } else {
      throw fail(
        (payload?.userErrors ?? []).map((e) => `${e.code ?? ""} ${e.message}`.trim()).join("; ") ||
          "no operation was started",
        busy ? "retryable" : "permanent",
      );
    }
  }

  // The first look after the shortest delay; then when the rate so far says the last line will be done.
  const startedAt = timer.now();
  wait = minWait;
  for (;;) {
    await timer.sleep(wait);
    const { node } = await client.request(BULK_OPERATION, { id }, OperationAnswer);
    if (node === null) throw fail(`operation ${id} is not known to Shopify`);
    if (node.status === "COMPLETED") {
      const results = node.url === null ? [] : await readResults(node.url, fetchApi, fail);
      const byLine = new Map(results.map((r) => [r.__lineNumber, r]));
      return lines.map(
        (_, i) =>
          byLine.get(i) ?? {
            __lineNumber: i,
            errors: [{ message: `the result file of ${id} has no line ${i}` }],
          },
      );
    }
    if (["FAILED", "CANCELED", "EXPIRED"].includes(node.status)) {
      throw fail(`operation ${id} ended ${node.status} (${node.errorCode ?? "no error code"})`, "retryable");
    }
    if (timer.now() > deadline) throw fail(`operation ${id} did not end in time`, "retryable");
    wait = nextPollDelay({
      elapsedMs: timer.now() - startedAt,
      done: Number(node.objectCount) || 0,
      total: lines.length,
      previousMs: wait,
      minMs: minWait,
      maxMs: maxWait,
    });
  }
}

async function readResults(
  url: string,
  fetchApi: typeof fetch,
  fail: (m: string, k?: "retryable" | "permanent") => SyncError,
): Promise<BulkLineResult[]> {
  let res: Response;
  try {
    res = await fetchApi(url);
  } catch (e) {
    throw fail(
      `the result file could not be read: ${e instanceof Error ? e.message : String(e)}`,
      "retryable",
    );
  }
  if (!res.ok) throw fail(`the result file answered HTTP ${res.status}`, "retryable");
  const out: BulkLineResult[] = [];
  for (const [i, line] of (await res.text()).split("\n").entries()) {
    if (line.trim() === "") continue;
    const parsed = ResultLine.safeParse(JSON.parse(line));
    if (!parsed.success) throw fail(`result line ${i + 1} is not a bulk result: ${parsed.error.message}`);
    out.push(parsed.data);
  }
  return out;
}

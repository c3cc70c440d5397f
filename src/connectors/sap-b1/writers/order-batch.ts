/**
 * The order writer's batched path (order.ts decides when: a page of at least `batchThreshold` orders). The
 * same steps as one order's own calls, each taken for the whole page in `$batch` requests of at most
 * `batchSize` (client.ts, ../odata-batch.ts):
 *
 *   1. reads: each order by its DocEntry (when linked) or its NumAtCard, and the customer of each order that
 *      may need creating, by e-mail (unless linked) — GETs, outside change sets;
 *   2. creates: each new sales order in a change set of its own, so one refusal rolls back nobody else's;
 *   3. approvals (Confirmed tYES) and cancellations (Orders(n)/Cancel), each in its own change set.
 *
 * A page of N new orders costs 4 requests (per `batchSize` orders) instead of about 4 × N. Each order's
 * result stays its own: a part's 4xx is that order's failure, classified as the same call's would be on its
 * own; a part's 429 or 5xx fails that order as retryable. A write `$batch` that fails as a whole (a timeout,
 * a connection reset, an answer that cannot be read) may have been applied: it is never re-sent, and every
 * order it carried fails as retryable. The next attempt's lookup by NumAtCard then finds the orders it
 * created, and they are approved, never created twice.
 */
import { SyncError } from "../../../core/errors.ts";
import type { Order } from "../../../core/model.ts";
import type { PlannedPage, WriteContext, WriteItem, WriteResult } from "../../../ports/connector.ts";
import { type BatchAnswer, type BatchRequest, partFailure, writeInBatches } from "../../odata-batch.ts";
import { type B1Row, errorText, ROOT } from "../client.ts";
import type { SapB1Context } from "../context.ts";
import { literal } from "../time.ts";

const FIELDS = [
  "DocEntry",
  "DocNum",
  "NumAtCard",
  "DocTotal",
  "DocCurrency",
  "Cancelled",
  "Confirmed",
  "DocumentStatus",
].join(",");

/** The decisions of one order's write, shared with the single-call path (order.ts). */
export interface OrderSteps {
  forExisting(
    key: string,
    o: Order,
    existing: B1Row,
  ): WriteResult | { cancel: number; done: WriteResult } | { settle: B1Row };
  refusedNew(key: string, o: Order): WriteResult | null;
  newOrder(key: string, o: Order, card: string | null, ref: string): B1Row | WriteResult;
  totalRefused(key: string, o: Order, row: B1Row): WriteResult | null;
  isResult(x: unknown): x is WriteResult;
}

const q = (s: string) => encodeURIComponent(s);

const byEntry = (entry: number): BatchRequest => ({
  method: "GET",
  url: `${ROOT}/Orders(${entry})?$select=${FIELDS}`,
});
const byRef = (ref: string): BatchRequest => ({
  method: "GET",
  url: `${ROOT}/Orders?$filter=${q(`NumAtCard eq ${literal(ref)}`)}&$orderby=DocEntry&$select=${FIELDS}&$top=1`,
});
const customerByEmail = (email: string): BatchRequest => ({
  method: "GET",
  url: `${ROOT}/BusinessPartners?$filter=${q(`CardType eq 'cCustomer' and EmailAddress eq ${literal(email)}`)}&$orderby=CardCode&$select=CardCode&$top=1`,
});

/** Requests of a batched page: reads (orders and customers), then creates, then approvals and cancellations. */
export function batchedCalls(page: PlannedPage<"order">, size: number): number {
  const creates = page.create.length;
  const orders = creates + page.update.length;
  const cancels = page.update.filter((i) => i.record.cancelled).length;
  const per = (n: number) => Math.ceil(n / size);
  // The engine looks up each interrupted create by its reference itself (findByExternalRef), one call each.
  return per(orders + creates) + per(creates) + per(creates + cancels) + page.lookups.length;
}

export async function writeBatched(
  ctx: SapB1Context,
  items: WriteItem<"order">[],
  wctx: WriteContext,
  steps: OrderSteps,
): Promise<WriteResult[]> {
  const { client, config, name } = ctx;
  const signal = wctx.signal;
  const results = new Map<string, WriteResult>();

  /** A part's refusal, worded and classified as the same call's would be on its own. */
  const partError = (key: string, r: BatchRequest, a: BatchAnswer, what: string): WriteResult =>
    partFailure({
      key,
      system: name,
      vendor: "SAP Business One",
      method: r.method,
      path: r.url.split("?")[0] ?? r.url,
      what,
      answer: a,
      text: errorText(a.body),
    });

  /** Reads in `$batch` requests of `batchSize`; a read batch that fails as a whole stops the page. */
  const read = async (requests: BatchRequest[]): Promise<BatchAnswer[]> =>
    requests.length === 0 ? [] : client.batch(requests, signal);

  /** Writes, `batchSize` per `$batch` (see writeInBatches: a batch that fails as a whole is never sent again). */
  const write = (
    parts: { key: string; request: BatchRequest }[],
    onAnswer: (key: string, request: BatchRequest, answer: BatchAnswer) => void,
  ): Promise<void> =>
    writeInBatches({
      parts,
      size: config.batchSize,
      send: (requests) => client.batch(requests, signal),
      system: name,
      lookedUpBy: "NumAtCard",
      signal,
      onAnswer,
      onFailed: (key, error) => results.set(key, { key, ok: false, error }),
    });

  // 1. Reads: each order where it may already be, and the customers of those that may need creating.
  const existing = new Map<string, B1Row | null>();
  const cards = new Map<string, string | null>();
  const linked = new Map<string, string>();
  const customerErrors = new Map<string, WriteResult>();
  const wantCustomer = async (i: WriteItem<"order">, emails: Set<string>) => {
    if (i.record.cancelled) return;
    const link = await wctx.resolve("customer", i.record.customer.key);
    if (link) linked.set(i.key, link);
    else {
      const email = i.record.customer.email.toLowerCase();
      if (!cards.has(email)) emails.add(email);
    }
  };
  const readRound = async (
    lookups: { key: string; request: BatchRequest; byRef: boolean }[],
    emails: Set<string>,
  ) => {
    const customerReqs = [...emails].map(customerByEmail);
    const answers = await read([...lookups.map((l) => l.request), ...customerReqs]);
    const retryByRef: WriteItem<"order">[] = [];
    lookups.forEach((l, n) => {
      const a = answers[n] as BatchAnswer;
      if (!l.byRef && a.status === 404) {
        retryByRef.push(items.find((i) => i.key === l.key) as WriteItem<"order">);
        return;
      }
      if (a.status >= 300) {
        results.set(l.key, partError(l.key, l.request, a, "Orders lookup"));
        return;
      }
      const body = JSON.parse(a.body) as B1Row & { value?: B1Row[] };
      existing.set(l.key, l.byRef ? (body.value?.[0] ?? null) : body);
    });
    [...emails].forEach((email, n) => {
      const a = answers[lookups.length + n] as BatchAnswer;
      if (a.status >= 300) {
        // The orders that need this customer fail with its lookup's error (below).
        cards.set(email, null);
        customerErrors.set(
          email,
          partError("", customerReqs[n] as BatchRequest, a, "BusinessPartners lookup"),
        );
        return;
      }
      const row = (JSON.parse(a.body) as { value?: B1Row[] }).value?.[0];
      cards.set(email, row ? String(row.CardCode) : null);
    });
    return retryByRef;
  };

  const first: { key: string; request: BatchRequest; byRef: boolean }[] = [];
  const emails = new Set<string>();
  for (const i of items) {
    if (i.targetId && /^\d+$/.test(i.targetId)) {
      first.push({ key: i.key, request: byEntry(Number(i.targetId)), byRef: false });
    } else {
      first.push({ key: i.key, request: byRef(i.externalRef), byRef: true });
      await wantCustomer(i, emails);
    }
  }
  const gone = await readRound(first, emails);
  if (gone.length > 0) {
    // Linked to a DocEntry B1 no longer has: looked up by NumAtCard, as one order's own write does.
    const more = new Set<string>();
    for (const i of gone) await wantCustomer(i, more);
    await readRound(
      gone.map((i) => ({ key: i.key, request: byRef(i.externalRef), byRef: true })),
      more,
    );
  }

  // Each order's next step from what the reads found.
  const creates: { key: string; request: BatchRequest; item: WriteItem<"order"> }[] = [];
  const finishing: { key: string; request: BatchRequest; done: WriteResult; what: string }[] = [];
  const approve = (key: string, row: B1Row, action: "created" | "updated") => {
    const entry = Number(row.DocEntry);
    finishing.push({
      key,
      request: { method: "PATCH", url: `${ROOT}/Orders(${entry})`, body: { Confirmed: "tYES" } },
      done: { key, ok: true, targetId: String(entry), action },
      what: "Orders update",
    });
  };
  /** Settles a found or created order: approval when its total agrees. */
  const settle = (key: string, o: Order, row: B1Row, action: "created" | "updated") => {
    const refused = steps.totalRefused(key, o, row);
    if (refused) results.set(key, refused);
    else if (row.Confirmed === "tNO") approve(key, row, action);
    else
      results.set(key, {
        key,
        ok: true,
        targetId: String(row.DocEntry),
        action: action === "created" ? "created" : "unchanged",
      });
  };
  for (const i of items) {
    if (results.has(i.key)) continue;
    const o = i.record;
    const found = existing.get(i.key);
    if (found) {
      const next = steps.forExisting(i.key, o, found);
      if ("cancel" in next) {
        finishing.push({
          key: i.key,
          request: { method: "POST", url: `${ROOT}/Orders(${next.cancel})/Cancel` },
          done: next.done,
          what: "Orders Cancel",
        });
      } else if ("settle" in next) settle(i.key, o, next.settle, "updated");
      else results.set(i.key, next);
      continue;
    }
    const refused = steps.refusedNew(i.key, o);
    if (refused) {
      results.set(i.key, refused);
      continue;
    }
    const email = o.customer.email.toLowerCase();
    const lookupError = customerErrors.get(email);
    if (!linked.has(i.key) && lookupError && !lookupError.ok) {
      results.set(i.key, { key: i.key, ok: false, error: lookupError.error });
      continue;
    }
    const body = steps.newOrder(i.key, o, linked.get(i.key) ?? cards.get(email) ?? null, i.externalRef);
    if (steps.isResult(body)) results.set(i.key, body);
    else creates.push({ key: i.key, item: i, request: { method: "POST", url: `${ROOT}/Orders`, body } });
  }

  // 2. Creates, each its own change set.
  await write(creates, (key, request, a) => {
    if (a.status >= 300) {
      results.set(key, partError(key, request, a, "Orders create"));
      return;
    }
    const item = creates.find((c) => c.key === key)?.item as WriteItem<"order">;
    settle(key, item.record, JSON.parse(a.body) as B1Row, "created");
  });

  // 3. Approvals and cancellations, each its own change set.
  await write(finishing, (key, request, a) => {
    const f = finishing.find((x) => x.key === key);
    results.set(
      key,
      a.status >= 300 ? partError(key, request, a, f?.what ?? "Orders") : (f?.done as WriteResult),
    );
  });

  return items.map(
    (i) =>
      results.get(i.key) ?? {
        key: i.key,
        ok: false,
        error: new SyncError("retryable", `order ${i.record.key}: no step of the batched write answered`, {
          system: name,
        }),
      },
  );
}

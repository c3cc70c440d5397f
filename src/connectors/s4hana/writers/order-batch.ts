/**
 * The order writer's batched path (order.ts decides when: a page of at least `batchThreshold` orders). The
 * same steps as one order's own calls, each taken for the whole page in Gateway `$batch` requests of at
 * most `batchSize` (client.ts, ../odata-batch.ts). A Gateway batch holds requests of one service, so the
 * customer reads (API_BUSINESS_PARTNER) are batches of their own:
 *
 *   1. each order by its SalesOrder (when linked) or its PurchaseOrderByCustomer (API_SALES_ORDER_SRV);
 *   2. the e-mails of the customers of the orders to create (unless linked), then their addresses' business
 *      partners (API_BUSINESS_PARTNER, two reads as partnerByEmail makes them);
 *   3. creates: each sales order (a deep insert) in a change set of its own, so one refusal rolls back
 *      nobody else's;
 *   4. hold releases (DeliveryBlockReason emptied), each in its own change set.
 *
 * A page of N new orders costs 5 requests (per `batchSize` orders) instead of about 5 × N. Cancellations
 * stay one order at a time (each reads the order's items and rejects them one by one). Each order's result
 * stays its own: a part's 4xx is that order's failure, classified as the same call's would be on its own; a
 * part's 429 or 5xx fails that order as retryable. A write `$batch` that fails as a whole (a timeout, a
 * connection reset, an answer that cannot be read) may have been applied: it is never re-sent, and every
 * order it carried fails as retryable. The next attempt's lookup by PurchaseOrderByCustomer then finds the
 * orders it created, and their hold is lifted; none is created twice.
 */
import { SyncError } from "../../../core/errors.ts";
import type { Order } from "../../../core/model.ts";
import type { PlannedPage, WriteContext, WriteItem, WriteResult } from "../../../ports/connector.ts";
import { type BatchAnswer, type BatchRequest, partFailure, writeInBatches } from "../../odata-batch.ts";
import { errorText, keyPath, type S4Row, type S4Service } from "../client.ts";
import type { S4HanaContext } from "../context.ts";
import { literal } from "../odata.ts";
import { refFor } from "./order.ts";

const SO: S4Service = "API_SALES_ORDER_SRV";
const BP: S4Service = "API_BUSINESS_PARTNER";

/** The decisions of one order's write, shared with the single-call path (order.ts). */
export interface OrderSteps {
  totalRefused(key: string, o: Order, row: S4Row): WriteResult | null;
  refusedNew(key: string, o: Order): WriteResult | null;
  newOrder(key: string, o: Order, customer: string | null, ref: string): S4Row | WriteResult;
  isResult(x: unknown): x is WriteResult;
  /** A cancellation, with its own calls. */
  cancel(key: string, o: Order, row: S4Row, signal?: AbortSignal): Promise<WriteResult>;
  select: readonly string[];
}

const q = (s: string) => encodeURIComponent(s);

/** Requests of a batched page: order reads, the two customer reads, creates, hold releases (+ cancellations). */
export function batchedCalls(page: PlannedPage<"order">, size: number): number {
  const creates = page.create.length;
  const orders = creates + page.update.length;
  const cancels = page.update.filter((i) => i.record.cancelled).length;
  const per = (n: number) => Math.ceil(n / size);
  // The engine looks up each interrupted create by its reference itself (findByExternalRef), one call each.
  return per(orders) + 2 * per(creates) + per(creates) + per(creates) + cancels * 4 + page.lookups.length;
}

export async function writeBatched(
  ctx: S4HanaContext,
  items: WriteItem<"order">[],
  wctx: WriteContext,
  steps: OrderSteps,
): Promise<WriteResult[]> {
  const { client, config, name } = ctx;
  const signal = wctx.signal;
  const results = new Map<string, WriteResult>();
  const select = steps.select.join(",");

  /** A part's refusal, worded and classified as the same call's would be on its own. */
  const partError = (
    key: string,
    service: S4Service,
    r: BatchRequest,
    a: BatchAnswer,
    what: string,
  ): WriteResult =>
    partFailure({
      key,
      system: name,
      vendor: "SAP S/4HANA",
      method: r.method,
      path: `/sap/opu/odata/sap/${service}/${r.url.split("?")[0]}`,
      what,
      answer: a,
      text: errorText(a.body),
    });
  const json = (a: BatchAnswer) => JSON.parse(a.body) as { d: S4Row & { results?: S4Row[] } };

  /** Reads in `$batch` requests; a read batch that fails as a whole stops the page, as a read would. */
  const read = async (service: S4Service, requests: BatchRequest[]): Promise<BatchAnswer[]> =>
    requests.length === 0 ? [] : client.batch(service, requests, signal);

  /** Writes, `batchSize` per `$batch` (see writeInBatches: a batch that fails as a whole is never sent again). */
  const write = (
    parts: { key: string; request: BatchRequest }[],
    onAnswer: (key: string, request: BatchRequest, answer: BatchAnswer) => void,
  ): Promise<void> =>
    writeInBatches({
      parts,
      size: config.batchSize,
      send: (requests) => client.batch(SO, requests, signal),
      system: name,
      lookedUpBy: "PurchaseOrderByCustomer",
      signal,
      onAnswer,
      onFailed: (key, error) => results.set(key, { key, ok: false, error }),
    });

  // 1. Each order where it may already be.
  const existing = new Map<string, S4Row | null>();
  const byRef = (i: WriteItem<"order">): BatchRequest => ({
    method: "GET",
    url: `A_SalesOrder?$filter=${q(`PurchaseOrderByCustomer eq ${literal(refFor(i.externalRef))}`)}&$orderby=SalesOrder&$select=${select}&$top=1`,
  });
  const lookups = items.map((i) =>
    i.targetId
      ? {
          item: i,
          byRef: false,
          request: {
            method: "GET",
            url: `A_SalesOrder${keyPath(i.targetId)}?$select=${select}`,
          } as BatchRequest,
        }
      : { item: i, byRef: true, request: byRef(i) },
  );
  const lookUp = async (ls: typeof lookups) => {
    const answers = await read(
      SO,
      ls.map((l) => l.request),
    );
    const gone: WriteItem<"order">[] = [];
    ls.forEach((l, n) => {
      const a = answers[n] as BatchAnswer;
      if (!l.byRef && a.status === 404) gone.push(l.item);
      else if (a.status >= 300)
        results.set(l.item.key, partError(l.item.key, SO, l.request, a, "A_SalesOrder lookup"));
      else existing.set(l.item.key, l.byRef ? (json(a).d.results?.[0] ?? null) : json(a).d);
    });
    return gone;
  };
  const gone = await lookUp(lookups);
  // Linked to a SalesOrder S/4HANA no longer has: looked up by reference, as one order's own write does.
  if (gone.length > 0) await lookUp(gone.map((i) => ({ item: i, byRef: true, request: byRef(i) })));

  // Each order's next step from what the reads found; cancellations go one by one.
  const toCreate: WriteItem<"order">[] = [];
  const releases: { key: string; request: BatchRequest; done: WriteResult }[] = [];
  const settle = (key: string, o: Order, row: S4Row, action: "created" | "updated") => {
    const id = String(row.SalesOrder);
    const refused = steps.totalRefused(key, o, row);
    if (refused) results.set(key, refused);
    else if (row.DeliveryBlockReason === config.holdDeliveryBlock) {
      releases.push({
        key,
        request: { method: "PATCH", url: `A_SalesOrder${keyPath(id)}`, body: { DeliveryBlockReason: "" } },
        done: { key, ok: true, targetId: id, action },
      });
    } else
      results.set(key, {
        key,
        ok: true,
        targetId: id,
        action: action === "created" ? "created" : "unchanged",
      });
  };
  for (const i of items) {
    if (results.has(i.key)) continue;
    const o = i.record;
    const found = existing.get(i.key);
    if (found) {
      const rejected = found.OverallSDDocumentRejectionSts === "C";
      if (o.cancelled && !rejected) {
        try {
          results.set(i.key, await steps.cancel(i.key, o, found, signal));
        } catch (err) {
          if (!(err instanceof SyncError) || signal?.aborted) throw err;
          results.set(i.key, { key: i.key, ok: false, error: err });
        }
      } else if (rejected || o.cancelled)
        results.set(i.key, { key: i.key, ok: true, targetId: String(found.SalesOrder), action: "unchanged" });
      // An earlier attempt created it and stopped before lifting the hold: finish that.
      else settle(i.key, o, found, "updated");
      continue;
    }
    const refused = steps.refusedNew(i.key, o);
    if (refused) results.set(i.key, refused);
    else toCreate.push(i);
  }

  // 2. The customers of the orders to create: linked, or found by e-mail (address e-mails, then addresses).
  const customer = new Map<string, string | null>();
  const customerError = new Map<string, WriteResult>();
  const emails = new Map<string, string[]>();
  for (const i of toCreate) {
    const link = await wctx.resolve("customer", i.record.customer.key);
    if (link) customer.set(i.key, link);
    else {
      const email = i.record.customer.email.toLowerCase();
      emails.set(email, [...(emails.get(email) ?? []), i.key]);
    }
  }
  const emailReqs = [...emails.keys()].map(
    (email): BatchRequest => ({
      method: "GET",
      url: `A_AddressEmailAddress?$filter=${q(`EmailAddress eq ${literal(email)}`)}&$select=AddressID,Person,OrdinalNumber&$top=5`,
    }),
  );
  const emailAnswers = await read(BP, emailReqs);
  const addressesOf = new Map<string, string[]>();
  [...emails.entries()].forEach(([email, keys], n) => {
    const a = emailAnswers[n] as BatchAnswer;
    if (a.status >= 300) {
      for (const k of keys)
        customerError.set(
          k,
          partError(k, BP, emailReqs[n] as BatchRequest, a, "A_AddressEmailAddress lookup"),
        );
      return;
    }
    addressesOf.set(
      email,
      (json(a).d.results ?? []).map((e) => String(e.AddressID)),
    );
  });
  const addressIds = [...new Set([...addressesOf.values()].flat())];
  const addressReqs = addressIds.map(
    (id): BatchRequest => ({
      method: "GET",
      url: `A_BusinessPartnerAddress?$filter=${q(`AddressID eq ${literal(id)}`)}&$select=BusinessPartner,AddressID&$top=1`,
    }),
  );
  const addressAnswers = await read(BP, addressReqs);
  const partnerOf = new Map<string, string | null | WriteResult>();
  addressIds.forEach((id, n) => {
    const a = addressAnswers[n] as BatchAnswer;
    if (a.status >= 300)
      partnerOf.set(
        id,
        partError("", BP, addressReqs[n] as BatchRequest, a, "A_BusinessPartnerAddress lookup"),
      );
    else {
      const row = json(a).d.results?.[0];
      partnerOf.set(id, row ? String(row.BusinessPartner) : null);
    }
  });
  for (const [email, keys] of emails) {
    const ids = addressesOf.get(email);
    if (!ids) continue;
    // As partnerByEmail: the first of the e-mail's addresses that belongs to a partner.
    let found: string | null = null;
    for (const id of ids) {
      const p = partnerOf.get(id);
      if (typeof p === "object" && p !== null) {
        for (const k of keys) customerError.set(k, { ...p, key: k });
        found = null;
        break;
      }
      if (p) {
        found = p;
        break;
      }
    }
    for (const k of keys) if (!customerError.has(k)) customer.set(k, found);
  }

  // 3. Creates, each its own change set.
  const creates: { key: string; request: BatchRequest; item: WriteItem<"order"> }[] = [];
  for (const i of toCreate) {
    const lookupError = customerError.get(i.key);
    if (lookupError) {
      results.set(i.key, lookupError);
      continue;
    }
    const body = steps.newOrder(i.key, i.record, customer.get(i.key) ?? null, i.externalRef);
    if (steps.isResult(body)) results.set(i.key, body);
    else creates.push({ key: i.key, item: i, request: { method: "POST", url: "A_SalesOrder", body } });
  }
  await write(creates, (key, request, a) => {
    if (a.status >= 300) {
      results.set(key, partError(key, SO, request, a, "A_SalesOrder create"));
      return;
    }
    const item = creates.find((c) => c.key === key)?.item as WriteItem<"order">;
    settle(key, item.record, json(a).d, "created");
  });

  // 4. Hold releases, each its own change set.
  await write(releases, (key, request, a) => {
    const r = releases.find((x) => x.key === key);
    results.set(
      key,
      a.status >= 300 ? partError(key, SO, request, a, "A_SalesOrder update") : (r?.done as WriteResult),
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

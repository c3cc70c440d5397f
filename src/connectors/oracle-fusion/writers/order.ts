/**
 * Shop orders → Order Management sales orders (salesOrdersForOrderHub). The shop's order reference is the
 * order's SourceTransactionNumber and SourceTransactionId under the configured order source
 * (SourceTransactionSystem); the order is looked up by it (`q=SourceTransactionSystem=…;SourceTransactionNumber=…`)
 * before anything is created, so a write repeated after a crash finds the order and completes it (lines
 * missing from it, matched by SourceTransactionLineId, are added) instead of making a second one.
 *
 * The header is created first, then each line through child/lines (ProductId: the item's ItemId, found by
 * ItemNumber = the line's SKU). Fusion prices the lines from its own price lists; the order's total
 * (child/totals) is read back and compared with the shop's goods net (lines less their discounts, less
 * order discounts). When they differ by more than a cent the order is put on the configured hold
 * (action/applyHold) and the record fails with both amounts. The buying party is carried as the
 * order's buying-party contact (e-mail, name): the collections show no BuyingPartyId/Number attribute.
 */
import { createHash } from "node:crypto";
import Big from "big.js";
import pLimit from "p-limit";
import type { Order } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { failed, perItemLimited } from "../../write-results.ts";
import { type FusionRow, qLiteral } from "../client.ts";
import type { FusionContext } from "../context.ts";

const REF_LENGTH = 50;
const SO = "salesOrdersForOrderHub";

/** The SourceTransactionNumber/Id of a shop order reference (50 characters at most). */
export function refFor(ref: string): string {
  if (ref.length <= REF_LENGTH) return ref;
  const hash = createHash("sha256").update(ref).digest("hex").slice(0, 10);
  return `${ref.slice(0, REF_LENGTH - 11)}~${hash}`;
}

/** What Fusion's order total must be: the lines less their discounts, less the order's discounts. */
export function shopGoodsNet(o: Order): Big {
  const lines = o.lines.reduce(
    (s, l) => s.plus(new Big(l.unitPrice).times(l.quantity).minus(l.discount)),
    new Big(0),
  );
  return o.discounts.reduce((s, d) => s.minus(d.amount), lines);
}

export function orderWriter(ctx: FusionContext): Writer<"order"> {
  const { client, config } = ctx;
  const limit = pLimit(config.concurrency);
  const orderPath = (key: string) => `/${SO}/${encodeURIComponent(key)}`;

  const findByRef = async (ref: string, signal?: AbortSignal): Promise<FusionRow | null> => {
    for await (const page of client.list(SO, {
      q: `SourceTransactionSystem=${qLiteral(config.orderSource)};SourceTransactionNumber=${qLiteral(refFor(ref))}`,
      limit: 1,
      ...(signal ? { signal } : {}),
    })) {
      return page[0] ?? null;
    }
    return null;
  };

  const itemIdOf = async (sku: string, signal?: AbortSignal): Promise<number | null> => {
    for await (const page of client.list("itemsV2", {
      q: `ItemNumber=${qLiteral(sku)}`,
      limit: 1,
      ...(signal ? { signal } : {}),
    })) {
      const id = page[0]?.ItemId;
      return typeof id === "number" ? id : null;
    }
    return null;
  };

  const linesOf = async (key: string, signal?: AbortSignal): Promise<FusionRow[]> => {
    const out: FusionRow[] = [];
    for await (const page of client.list(`${SO}/${encodeURIComponent(key)}/child/lines`, {
      limit: config.pageSize,
      ...(signal ? { signal } : {}),
    }))
      out.push(...page);
    return out;
  };

  const totalOf = async (
    key: string,
    signal?: AbortSignal,
  ): Promise<{ amount: Big; currency: string } | null> => {
    for await (const page of client.list(`${SO}/${encodeURIComponent(key)}/child/totals`, {
      limit: 25,
      ...(signal ? { signal } : {}),
    })) {
      const row = page.find((t) => t.PrimaryFlag === true) ?? page[0];
      if (row)
        return { amount: new Big(String(row.TotalAmount ?? "0")), currency: String(row.CurrencyCode ?? "") };
    }
    return null;
  };

  /** Compares Fusion's total with the shop's; on a difference, holds the order and fails the record. */
  const settle = async (
    key: string,
    o: Order,
    header: FusionRow,
    action: "created" | "unchanged",
    signal?: AbortSignal,
  ) => {
    const orderKey = String(header.OrderKey);
    const total = await totalOf(orderKey, signal);
    const want = shopGoodsNet(o);
    if (!total || total.currency !== o.currency || total.amount.minus(want).abs().gt("0.01")) {
      if (header.OnHoldFlag !== true) {
        await client.post(
          `/${SO}/action/applyHold`,
          {
            holdRequests: [
              {
                SourceOrderSystem: config.orderSource,
                SourceOrderId: String(header.SourceTransactionId),
                HoldCode: config.holdCode,
                HoldComments: `shop total ${want.toFixed(2)} ${o.currency}`,
              },
            ],
          },
          "applyHold",
          signal,
        );
      }
      return failed(
        key,
        "data",
        `order ${o.key}: Oracle Fusion prices it at ${total ? `${total.amount.toFixed(2)} ${total.currency}` : "no total"} but the shop's goods net is ${want.toFixed(2)} ${o.currency}; sales order ${orderKey} is kept on hold ${config.holdCode}`,
        ctx.name,
        "total",
      );
    }
    return { key, ok: true, targetId: orderKey, action } satisfies WriteResult;
  };

  const writeOne = async (key: string, o: Order, ref: string, signal?: AbortSignal): Promise<WriteResult> => {
    if (o.currency !== config.currency) {
      return failed(
        key,
        "data",
        `order ${o.key}: its currency ${o.currency} is not the connection's currency ${config.currency}`,
        ctx.name,
        "currency",
      );
    }
    if (o.taxesIncluded) {
      return failed(
        key,
        "data",
        `order ${o.key}: its prices include tax; Fusion prices lines net, so the order is not written`,
        ctx.name,
        "taxesIncluded",
      );
    }
    const lines = o.lines.filter((l) => l.quantity > 0);
    const products = new Map<string, number>();
    for (const l of lines) {
      if (products.has(l.sku)) continue;
      const id = await itemIdOf(l.sku, signal);
      if (id === null)
        return failed(
          key,
          "data",
          `order ${o.key}: no Fusion item has ItemNumber ${JSON.stringify(l.sku)}`,
          ctx.name,
          "lines.sku",
        );
      products.set(l.sku, id);
    }
    const existing = await findByRef(ref, signal);
    if (existing && o.cancelled)
      return { key, ok: true, targetId: String(existing.OrderKey), action: "unchanged" };
    if (!existing && o.cancelled)
      return failed(
        key,
        "permanent",
        `order ${o.key} was cancelled before it reached Fusion; not created`,
        ctx.name,
        "cancelled",
      );
    const number = refFor(ref);
    const header =
      existing ??
      (await client.post(
        `/${SO}`,
        {
          SourceTransactionSystem: config.orderSource,
          SourceTransactionId: number,
          SourceTransactionNumber: number,
          SourceTransactionRevisionNumber: 1,
          BusinessUnitId: config.businessUnitId,
          BuyingPartyContactEmail: o.customer.email,
          ...(o.customer.name ? { BuyingPartyContactName: o.customer.name } : {}),
        },
        "sales order create",
        signal,
      ));
    const orderKey = String(header.OrderKey);
    const present = new Set(
      existing ? (await linesOf(orderKey, signal)).map((l) => String(l.SourceTransactionLineId)) : [],
    );
    let added = 0;
    for (const [i, l] of lines.entries()) {
      const lineId = String(i + 1);
      if (present.has(lineId)) continue;
      await client.post(
        `${orderPath(orderKey)}/child/lines`,
        {
          SourceTransactionLineId: lineId,
          SourceTransactionLineNumber: lineId,
          SourceTransactionScheduleId: lineId,
          SourceScheduleNumber: lineId,
          ProductId: products.get(l.sku) as number,
          OrderedQuantity: l.quantity,
          OrderedUOMCode: config.uomCode,
        },
        "sales order line create",
        signal,
      );
      added++;
    }
    return settle(key, o, header, existing && added === 0 ? "unchanged" : "created", signal);
  };

  return {
    entity: "order",
    upsert: (items, wctx) =>
      perItemLimited(items, ctx.name, limit, (i) => writeOne(i.key, i.record, i.externalRef, wctx.signal)),
    async findByExternalRef(ref) {
      const row = await findByRef(ref);
      return row ? String(row.OrderKey) : null;
    },
    // Per new order: a look-up per SKU, the look-up by reference, the header, a create per line, the totals.
    estimateCalls: (page) =>
      page.create.reduce((s, i) => s + 2 * i.record.lines.length + 3, 0) +
      page.update.length * 3 +
      page.lookups.length,
  };
}

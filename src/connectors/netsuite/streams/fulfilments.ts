/**
 * Item fulfilments (SuiteQL `transaction` rows of type 'ItemShip') as shipments, tied to the shop's order
 * through the sales order they were made from: the fulfilment's main line names it (`transactionline.createdfrom`)
 * and the order writer put the shop order's key in that sales order's `otherrefnum`. Tracking numbers are not
 * on the fulfilment record but in `trackingnumbermap` (fulfilment → tracking number id) and `trackingnumber`.
 * Incremental on the fulfilment's lastmodifieddate like the other streams; each page is completed with four
 * batched look-ups (lines, orders, tracking map and numbers, SKUs). A fulfilment of a sales order the connector
 * did not write (no otherrefnum), or one with no tracking number yet, is left out of the page: nothing to tell
 * the shop. That adding a package stamps the fulfilment's lastmodifieddate (so it is read again) is not
 * confirmed by a source. NetSuite renders packing slips only through SuiteScript (no REST endpoint): no document.
 * Sources per column: packages/emulators/src/netsuite/suiteql-tables.ts.
 */
import { SyncError } from "../../../core/errors.ts";
import type { Shipment } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import { afterPrefix } from "../../price-lists.ts";
import type { NsRow } from "../client.ts";
import type { NetSuiteContext } from "../context.ts";
import { dateOf, linesOf, oneOfType, orderKeysOf, rowsWhereIn, skusOf } from "./links.ts";
import { changedSince, idOf, updatedAtOf } from "./query.ts";

export const FULFILMENT_COLS = ["id", "tranid", "trandate", "lastmodifieddate"] as const;

/** A fulfilment row completed with what the shop needs. */
export interface FulfilmentRow extends NsRow {
  orderKey?: string;
  tracking: string[];
  lines: { sku: string; quantity: number }[];
}

async function complete(ctx: NetSuiteContext, rows: NsRow[], signal?: AbortSignal): Promise<FulfilmentRow[]> {
  if (rows.length === 0) return [];
  const ids = rows.map(idOf);
  const lines = await linesOf(ctx, ids, signal);
  const orders = await orderKeysOf(
    ctx,
    [...lines.values()].flatMap((l) => (l.createdFrom ? [l.createdFrom] : [])),
    signal,
  );
  const map = await rowsWhereIn(
    ctx,
    ids,
    (list) => `SELECT transaction, trackingnumber FROM trackingnumbermap WHERE transaction IN (${list})`,
    signal,
  );
  const numbers = new Map(
    (
      await rowsWhereIn(
        ctx,
        map.map((m) => String(m.trackingnumber)),
        (list) => `SELECT id, trackingnumber FROM trackingnumber WHERE id IN (${list})`,
        signal,
      )
    ).map(
      (n) => [String(n.id), typeof n.trackingnumber === "string" ? n.trackingnumber.trim() : ""] as const,
    ),
  );
  const skus = await skusOf(
    ctx,
    [...lines.values()].flatMap((l) => l.items.map((i) => i.item)),
    signal,
  );
  return rows.map((row) => {
    const id = idOf(row);
    const l = lines.get(id);
    const orderKey = l?.createdFrom ? orders.get(l.createdFrom) : undefined;
    const tracking = [
      ...new Set(
        map
          .filter((m) => String(m.transaction) === id)
          .map((m) => numbers.get(String(m.trackingnumber)) ?? "")
          .filter((t) => t !== ""),
      ),
    ];
    const bySku = new Map<string, number>();
    for (const i of l?.items ?? []) {
      const sku = skus.get(i.item);
      if (sku) bySku.set(sku, (bySku.get(sku) ?? 0) + i.quantity);
    }
    return {
      ...row,
      ...(orderKey ? { orderKey } : {}),
      tracking,
      lines: [...bySku].map(([sku, quantity]) => ({ sku, quantity: Math.round(quantity) })),
    };
  });
}

export function shipmentStream(ctx: NetSuiteContext): Stream<"shipment", FulfilmentRow> {
  return {
    entity: "shipment",
    sorted: true,
    async *list(req) {
      for await (const page of changedSince(ctx, "transaction", FULFILMENT_COLS, req, [
        "type = 'ItemShip'",
      ])) {
        yield (await complete(ctx, page, req.signal)).filter((r) => r.orderKey && r.tracking.length > 0);
      }
    },
    async get(id) {
      const row = await oneOfType(ctx, "ItemShip", FULFILMENT_COLS, id);
      return row ? ((await complete(ctx, [row]))[0] ?? null) : null;
    },
    idOf,
    updatedAtOf,
    toCanonical(row): Shipment {
      const what = `item fulfilment ${String(row.tranid ?? row.id)}`;
      if (!row.orderKey) {
        throw new SyncError(
          "data",
          `${what} was not made from a sales order this connector wrote (no otherrefnum)`,
          {
            system: ctx.name,
            field: "createdfrom",
          },
        );
      }
      if (row.tracking.length === 0) {
        throw new SyncError("data", `${what} has no tracking number yet`, {
          system: ctx.name,
          field: "trackingnumber",
        });
      }
      return {
        source: ctx.name,
        sourceId: idOf(row),
        updatedAt: updatedAtOf(row),
        key: `${ctx.name}:${String(row.tranid ?? row.id)}`,
        orderKey: row.orderKey,
        orderNumber: afterPrefix(row.orderKey),
        trackingNumbers: row.tracking,
        trackingUrls: [],
        lines: row.lines.filter((l) => l.quantity > 0),
        shippedAt: dateOf(ctx, row.trandate, what),
      };
    },
  };
}

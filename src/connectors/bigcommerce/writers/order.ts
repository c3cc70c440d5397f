/**
 * Orders written back from the ERP (update-only): a sale the ERP withdrew cancels the BigCommerce order
 * (`PUT /v2/orders/{id}` with status_id 5, Cancelled). An order already shipped (Shipped, Partially Shipped,
 * Completed) is not cancelled: that is the record's failure, with the status it has.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { afterPrefix } from "../../price-lists.ts";
import { perItem } from "../../write-results.ts";
import { type BigCommerceClient, explained } from "../client.ts";
import { BcOrderHead } from "../native.ts";

export const STATUS_CANCELLED = 5;
const SHIPPED = new Map([
  [2, "Shipped"],
  [3, "Partially Shipped"],
  [10, "Completed"],
]);

export function orderWriter(system: string, client: BigCommerceClient): Writer<"order"> {
  const find = (number: string) =>
    /^\d+$/.test(number) ? client.find(`/v2/orders/${number}`, BcOrderHead, "order") : Promise.resolve(null);
  return {
    entity: "order",
    updateOnly: true,
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            try {
              const number = afterPrefix(item.record.key);
              const o = await find(number);
              if (!o) throw new SyncError("permanent", `BigCommerce has no order ${number}`, { system });
              const targetId = String(o.id);
              if (!item.record.cancelled || o.status_id === STATUS_CANCELLED)
                return { key: item.key, ok: true, targetId, action: "unchanged" };
              const shipped = SHIPPED.get(o.status_id);
              if (shipped)
                throw new SyncError(
                  "permanent",
                  `BigCommerce order ${o.id} is ${shipped}: it cannot be cancelled`,
                  { system },
                );
              await client.write(
                "PUT",
                `/v2/orders/${o.id}`,
                { status_id: STATUS_CANCELLED },
                z.unknown(),
                "order status",
              );
              return {
                key: item.key,
                ok: true,
                targetId,
                action: "updated",
                note: `BigCommerce order ${o.id} cancelled`,
              };
            } catch (err) {
              throw explained(err);
            }
          }),
        );
      }
      return results;
    },
    async findByExternalRef(ref) {
      const o = await find(afterPrefix(ref));
      return o ? String(o.id) : null;
    },
    estimateCalls: (page) => (page.create.length + page.update.length) * 2,
  };
}

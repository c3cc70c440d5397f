/**
 * Orders written back from the ERP (update-only): a sale the ERP withdrew cancels the B2C Commerce order
 * (`PUT /orders/{orderNo}/status` to `cancelled`, which releases its inventory and coupon redemptions).
 * B2C Commerce refuses the transition (409) for an order it cannot cancel: that is the record's failure,
 * with the reason.
 */
import { SyncError } from "../../../core/errors.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { toWrite } from "../../call-estimate.ts";
import { afterPrefix } from "../../price-lists.ts";
import { perItem } from "../../write-results.ts";
import { explained, type SfccClient } from "../client.ts";
import { SfccOrder } from "../native.ts";

const enc = encodeURIComponent;

export function findOrder(client: SfccClient, orderNo: string) {
  return client.find(
    client.path("orders", `/orders/${enc(orderNo)}`, { siteId: client.config.siteId }),
    SfccOrder,
    "order",
  );
}

export function orderWriter(system: string, client: SfccClient): Writer<"order"> {
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
              const o = await findOrder(client, number);
              if (!o)
                throw new SyncError(
                  "permanent",
                  `${system}: B2C Commerce has no order ${number} in site ${client.config.siteId}`,
                  { system, field: "key" },
                );
              if (!item.record.cancelled || o.status === "cancelled")
                return { key: item.key, ok: true, targetId: o.orderNo, action: "unchanged" };
              await client.write(
                "PUT",
                client.path("orders", `/orders/${enc(o.orderNo)}/status`, { siteId: client.config.siteId }),
                { status: "cancelled" },
                "order status",
              );
              return {
                key: item.key,
                ok: true,
                targetId: o.orderNo,
                action: "updated",
                note: `B2C Commerce order ${o.orderNo} cancelled`,
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
      const o = await findOrder(client, afterPrefix(ref));
      return o ? o.orderNo : null;
    },
    estimateCalls: (page) => toWrite(page).length * 2 + page.lookups.length,
  };
}

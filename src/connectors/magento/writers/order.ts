/**
 * Orders written back from the ERP (update-only): a sale the ERP withdrew cancels the Magento order
 * (`POST /orders/{id}/cancel`, which releases its reservations). Magento answers false for an order it
 * cannot cancel (shipped, complete, closed): that is the record's failure, with the reason.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { afterPrefix } from "../../price-lists.ts";
import { perItem } from "../../write-results.ts";
import { explained, type MagentoClient, searchCriteria } from "../client.ts";
import { MagentoOrder, SearchResult } from "../native.ts";

export function orderWriter(system: string, client: MagentoClient): Writer<"order"> {
  async function find(number: string) {
    const r = await client.get(
      "all",
      `/orders?${searchCriteria({ groups: [[{ field: "increment_id", value: number }]], pageSize: 1, currentPage: 1 })}`,
      SearchResult(MagentoOrder),
      "order by number",
    );
    return r.items.find((o) => o.increment_id === number) ?? null;
  }

  return {
    entity: "order",
    updateOnly: true,
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            try {
              const o = await find(afterPrefix(item.record.key));
              if (!o)
                throw new SyncError("permanent", `Magento has no order ${afterPrefix(item.record.key)}`, {
                  system,
                });
              const targetId = String(o.entity_id);
              if (!item.record.cancelled || o.state === "canceled")
                return { key: item.key, ok: true, targetId, action: "unchanged" };
              const done = await client.write(
                "POST",
                "all",
                `/orders/${o.entity_id}/cancel`,
                undefined,
                z.boolean(),
                "cancel",
              );
              if (!done)
                throw new SyncError(
                  "permanent",
                  `Magento cannot cancel order ${o.increment_id} (state ${o.state}): something was shipped or it is closed`,
                  { system },
                );
              return {
                key: item.key,
                ok: true,
                targetId,
                action: "updated",
                note: `Magento order ${o.increment_id} cancelled`,
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
      return o ? String(o.entity_id) : null;
    },
    estimateCalls: (page) => (page.create.length + page.update.length) * 2,
  };
}

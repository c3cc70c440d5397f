/**
 * Orders written back from the ERP (update-only): a sale the ERP withdrew cancels the PrestaShop order, by
 * an order_history to `cancelledState` (PrestaShop's "Canceled"), which restocks its products. An order in
 * a shipped state is not cancelled: that is the record's failure, with the state it is in.
 */
import { SyncError } from "../../../core/errors.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { afterPrefix } from "../../price-lists.ts";
import { perItem } from "../../write-results.ts";
import { langText, type PrestaShopClient } from "../client.ts";
import type { PrestaShopLookups } from "../lookup.ts";
import { PsOrderHead } from "../native.ts";

export function orderWriter(
  system: string,
  client: PrestaShopClient,
  lookups: PrestaShopLookups,
): Writer<"order"> {
  const cancelled = String(client.config.cancelledState);
  const find = (n: string) =>
    /^\d+$/.test(n) ? client.one("orders", "order", n, PsOrderHead, "order") : Promise.resolve(null);
  return {
    entity: "order",
    updateOnly: true,
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items)
        results.push(
          await perItem(item.key, system, async () => {
            const number = afterPrefix(item.record.key);
            const o = await find(number);
            if (!o) throw new SyncError("permanent", `PrestaShop has no order ${number}`, { system });
            const targetId = String(o.id);
            if (!item.record.cancelled || o.current_state === cancelled)
              return { key: item.key, ok: true, targetId, action: "unchanged" };
            const state = (await lookups.states()).find((s) => String(s.id) === o.current_state);
            if (state?.shipped === "1")
              throw new SyncError(
                "permanent",
                `PrestaShop order ${o.id} is ${langText(state.name, client.config.languageId) || "shipped"}: it cannot be cancelled`,
                { system },
              );
            await client.write(
              "POST",
              "order_histories",
              "order_history",
              { fields: { id_order: o.id, id_order_state: client.config.cancelledState } },
              "order state cancelled",
            );
            return {
              key: item.key,
              ok: true,
              targetId,
              action: "updated",
              note: `PrestaShop order ${o.id} cancelled`,
            };
          }),
        );
      return results;
    },
    async findByExternalRef(ref) {
      const o = await find(afterPrefix(ref));
      return o ? String(o.id) : null;
    },
    estimateCalls: (page) => (page.create.length + page.update.length) * 2,
  };
}

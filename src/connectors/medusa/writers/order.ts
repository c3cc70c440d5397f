/**
 * Orders written back to Medusa: only a cancellation. An order the ERP withdrew is cancelled in Medusa
 * (`POST /admin/orders/{id}/cancel`, which releases its reservations); any other order record writes nothing.
 * Medusa refuses to cancel an order with fulfilments that are not cancelled: that refusal is the record's
 * result, with Medusa's reason.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { perItem } from "../../write-results.ts";
import { type MedusaClient, q } from "../client.ts";
import { orderIdOf } from "./shipment.ts";

const Status = z.object({ order: z.object({ id: z.string(), display_id: z.number(), status: z.string() }) });

export function orderWriter(system: string, client: MedusaClient): Writer<"order"> {
  return {
    entity: "order",
    updateOnly: true,
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            const id = item.targetId ?? (await orderIdOf(client, item.record.number));
            const got = id
              ? await client.find(
                  `/admin/orders/${encodeURIComponent(id)}?${q({ fields: "id,display_id,status" })}`,
                  Status,
                  "order",
                )
              : null;
            if (!got)
              throw new SyncError("permanent", `Medusa has no order ${item.record.number} (${item.key})`, {
                system,
                field: "number",
              });
            const o = got.order;
            if (!item.record.cancelled || o.status === "canceled")
              return { key: item.key, ok: true, targetId: o.id, action: "unchanged" };
            await client.write(
              "POST",
              `/admin/orders/${o.id}/cancel?${q({ fields: "id,status" })}`,
              {},
              z.object({}).loose(),
              "order cancel",
            );
            return {
              key: item.key,
              ok: true,
              targetId: o.id,
              action: "updated",
              note: `Medusa order #${o.display_id} cancelled`,
            };
          }),
        );
      }
      return results;
    },
    findByExternalRef: async (_ref, record) => orderIdOf(client, record.number),
    // Per order: its status, and the cancel for a cancelled one.
    estimateCalls: (page) =>
      [...page.create, ...page.update].reduce((n, i) => n + 1 + (i.record.cancelled ? 1 : 0), 0) +
      page.lookups.length,
  };
}

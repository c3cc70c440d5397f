/**
 * Stock per location: the inventory item Medusa keeps for each variant (found by SKU), its level at the stock
 * location the canonical location maps to. Medusa sells stocked_quantity minus its own reservations (orders
 * not yet fulfilled), so the level is set to the canonical `available` plus what Medusa has reserved there:
 * what the shop can still sell is then exactly `available`. A level already right is not written.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { callsFor, distinct, toWrite } from "../../call-estimate.ts";
import { failed, perItem } from "../../write-results.ts";
import { type MedusaClient, q } from "../client.ts";
import { type MedusaLookups, SKU_CHUNK } from "../lookup.ts";

const Level = z.object({
  id: z.string(),
  location_id: z.string(),
  stocked_quantity: z.number(),
  reserved_quantity: z.number(),
});
const Item = z.object({
  id: z.string(),
  sku: z.string().nullable(),
  location_levels: z.array(Level).nullish(),
});
type Item = z.infer<typeof Item>;

export function inventoryWriter(
  system: string,
  client: MedusaClient,
  lookups: MedusaLookups,
): Writer<"inventory"> {
  async function items(skus: readonly string[]): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    const wanted = [...new Set(skus)];
    for (let i = 0; i < wanted.length; i += SKU_CHUNK) {
      const chunk = wanted.slice(i, i + SKU_CHUNK);
      const { inventory_items } = await client.get(
        `/admin/inventory-items?${q({ sku: chunk, fields: "id,sku,*location_levels", limit: chunk.length * 2 })}`,
        z.object({ inventory_items: z.array(Item) }),
        "inventory items by SKU",
      );
      for (const it of inventory_items) if (it.sku && chunk.includes(it.sku)) found.set(it.sku, it);
    }
    return found;
  }

  return {
    entity: "inventory",
    async upsert(records) {
      const held = await items(records.map((i) => i.record.sku));
      const results: WriteResult[] = [];
      for (const item of records) {
        results.push(
          await perItem(item.key, system, async () => {
            const r = item.record;
            const locationId = await lookups.location(r.location);
            if (!locationId) {
              return failed(
                item.key,
                "permanent",
                `Medusa has no stock location for ${JSON.stringify(r.location)}${client.config.locationMap?.[r.location] ? ` (mapped to ${JSON.stringify(client.config.locationMap[r.location])})` : ""}: add it to locationMap or create the location`,
                system,
                "location",
              );
            }
            const it = held.get(r.sku);
            if (!it)
              throw new SyncError(
                "permanent",
                `Medusa has no inventory item with SKU ${JSON.stringify(r.sku)} (a variant that manages inventory)`,
                { system, field: "sku" },
              );
            const targetId = `${it.id}@${locationId}`;
            const level = (it.location_levels ?? []).find((l) => l.location_id === locationId);
            const reserved = level?.reserved_quantity ?? 0;
            const stocked = r.available + reserved;
            if (level && level.stocked_quantity === stocked)
              return { key: item.key, ok: true, targetId, action: "unchanged" };
            if (level) {
              await client.write(
                "POST",
                `/admin/inventory-items/${it.id}/location-levels/${locationId}?${q({ fields: "id" })}`,
                { stocked_quantity: stocked },
                z.object({}).loose(),
                "location level update",
              );
            } else {
              await client.write(
                "POST",
                `/admin/inventory-items/${it.id}/location-levels?${q({ fields: "id" })}`,
                { location_id: locationId, stocked_quantity: stocked },
                z.object({}).loose(),
                "location level create",
              );
              it.location_levels = [
                ...(it.location_levels ?? []),
                { id: "", location_id: locationId, stocked_quantity: stocked, reserved_quantity: 0 },
              ];
            }
            if (level) level.stocked_quantity = stocked;
            return {
              key: item.key,
              ok: true,
              targetId,
              action: item.targetId === null ? "created" : "updated",
            };
          }),
        );
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const it = (await items([record.sku])).get(record.sku);
      const locationId = await lookups.location(record.location);
      if (!it || !locationId) return null;
      return (it.location_levels ?? []).some((l) => l.location_id === locationId)
        ? `${it.id}@${locationId}`
        : null;
    },
    // The SKU lookups, one call per level, and the stock locations once per connection.
    estimateCalls: (page) =>
      callsFor(distinct(toWrite(page).map((i) => i.record.sku)), SKU_CHUNK) +
      toWrite(page).length +
      page.lookups.length * 2 +
      (page.first && !lookups.locationsLoaded ? 1 : 0),
  };
}

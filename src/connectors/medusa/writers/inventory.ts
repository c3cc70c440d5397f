/**
 * Stock per location: the inventory item Medusa keeps for each variant (found by SKU), its level at the stock
 * location the canonical location maps to. Medusa sells stocked_quantity minus its own reservations (orders
 * not yet fulfilled), so the level is set to the canonical `available` plus what Medusa has reserved there:
 * what the shop can still sell is then exactly `available`. A level already right is not written.
 *
 * The variant's `allow_backorder` follows the level's restock (core/kit.ts restockOf: out of stock with a
 * supplier lead time, on a flow with `backorders: allow`), false otherwise, so an item back in stock or out
 * without a date is never oversold; with `shipsOnMetadata` the expected day is kept in that variant metadata
 * key. These are the variant's, not a location's: of a variant's levels in the batch, one in stock (no
 * restock) decides, else the last.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { InventoryLevel } from "../../../core/model.ts";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { callsFor, distinct, toWrite } from "../../call-estimate.ts";
import { failed, perItem } from "../../write-results.ts";
import { type MedusaClient, q } from "../client.ts";
import { bySku, type MedusaLookups, SKU_CHUNK } from "../lookup.ts";

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

const VariantRestock = z.object({
  id: z.string(),
  sku: z.string().nullable(),
  product_id: z.string(),
  allow_backorder: z.boolean(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});
type VariantRestock = z.infer<typeof VariantRestock>;

/** What the variant must hold for this level: its backorder flag and, with a key, its ships-on day ("" none). */
export function restockWanted(
  record: InventoryLevel,
  key: string | undefined,
): { allow_backorder: boolean; metadata?: Record<string, string> } {
  const allow = record.restock?.backorder === true;
  return key
    ? { allow_backorder: allow, metadata: { [key]: record.restock?.expectedOn ?? "" } }
    : { allow_backorder: allow };
}

/** Whether the variant holds what `restockWanted` asks (a metadata key absent counts as ""). */
export function restockHeld(v: VariantRestock, want: ReturnType<typeof restockWanted>): boolean {
  if (v.allow_backorder !== want.allow_backorder) return false;
  return Object.entries(want.metadata ?? {}).every(([k, value]) => {
    const have = v.metadata?.[k];
    return (typeof have === "string" ? have : "") === value;
  });
}

export function inventoryWriter(
  system: string,
  client: MedusaClient,
  lookups: MedusaLookups,
): Writer<"inventory"> {
  const items = (skus: readonly string[]) =>
    bySku(skus, (chunk) =>
      client
        .get(
          `/admin/inventory-items?${q({ sku: chunk, fields: "id,sku,*location_levels", limit: chunk.length * 2 })}`,
          z.object({ inventory_items: z.array(Item) }),
          "inventory items by SKU",
        )
        .then((r) => r.inventory_items),
    );

  const variantsOf = (skus: readonly string[]) =>
    bySku(skus, (chunk) =>
      client
        .get(
          `/admin/product-variants?${q({ sku: chunk, fields: "id,sku,product_id,allow_backorder,metadata", limit: chunk.length * 2 })}`,
          z.object({ variants: z.array(VariantRestock) }),
          "variants' backorder settings by SKU",
        )
        .then((r) => r.variants),
    );

  /** Sets each variant's backorder flag (and ships-on day) from the level of the batch that decides it. */
  async function restock(records: readonly WriteItem<"inventory">[], results: WriteResult[]): Promise<void> {
    const deciding = new Map<string, number>();
    records.forEach((item, i) => {
      if (!results[i]?.ok) return;
      const before = deciding.get(item.record.sku);
      if (before === undefined || records[before]?.record.restock !== undefined)
        deciding.set(item.record.sku, i);
    });
    if (deciding.size === 0) return;
    const variants = await variantsOf([...deciding.keys()]);
    for (const [sku, i] of deciding) {
      const item = records[i] as WriteItem<"inventory">;
      const v = variants.get(sku);
      if (!v) continue;
      const want = restockWanted(item.record, client.config.shipsOnMetadata);
      if (restockHeld(v, want)) continue;
      const done = await perItem(item.key, system, async () => {
        await client.write(
          "POST",
          `/admin/products/${v.product_id}/variants/${v.id}?${q({ fields: "id" })}`,
          want,
          z.object({}).loose(),
          "variant backorder settings",
        );
        const was = results[i] as WriteResult;
        return was.ok && was.action === "unchanged" ? { ...was, action: "updated" } : was;
      });
      results[i] = done;
    }
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
      await restock(records, results);
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
    // The SKU lookups (inventory items, then the variants' backorder settings), one call per level and at
    // most one per variant, and the stock locations once per connection.
    estimateCalls: (page) =>
      callsFor(distinct(toWrite(page).map((i) => i.record.sku)), SKU_CHUNK) * 2 +
      toWrite(page).length * 2 +
      page.lookups.length * 2 +
      (page.first && !lookups.locationsLoaded ? 1 : 0),
  };
}

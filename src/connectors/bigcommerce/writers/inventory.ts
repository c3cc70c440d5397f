/**
 * Stock per location (Inventory v3): the canonical location is a BigCommerce location (locationMap, else
 * the location whose code matches, else its number); the item's quantity is set to the canonical
 * `available` with an absolute adjustment, up to 2,000 items per call. What the product tracks decides what
 * takes stock: `variant` (each variant), `product` (only a product without options, through its base
 * variant), `none` (nothing: tracking is switched on first when untrackedStock is `enable`, else the
 * record fails). BigCommerce validates an adjustment as a whole, so the SKUs and locations are checked
 * first (the items read by SKU list every location with its code and quantity) and items already right are
 * not sent.
 */
import { z } from "zod";
import type { InventoryLevel } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { callsFor, distinct, toWrite } from "../../call-estimate.ts";
import { failed, type Pending, queueLast, sendChunks, settleReplaced } from "../../write-results.ts";
import { type BigCommerceClient, explained } from "../client.ts";
import { type BigCommerceLookups, SKU_CHUNK } from "../lookup.ts";
import { BcProduct } from "../native.ts";

export const ITEMS_PER_ADJUSTMENT = 2000;

const Item = z
  .object({
    identity: z
      .object({ sku: z.string(), variant_id: z.number().int(), product_id: z.number().int() })
      .loose(),
    locations: z.array(
      z
        .object({
          location_id: z.number().int(),
          location_code: z.string().nullish(),
          total_inventory_onhand: z.number().nullish(),
        })
        .loose(),
    ),
  })
  .loose();
type Item = z.infer<typeof Item>;

export function inventoryWriter(
  system: string,
  client: BigCommerceClient,
  lookups: BigCommerceLookups,
): Writer<"inventory"> {
  const config = client.config;

  async function items(skus: string[]): Promise<Item[]> {
    const out: Item[] = [];
    for (let i = 0; i < skus.length; i += SKU_CHUNK)
      out.push(
        ...(await client.all(
          `/v3/inventory/items?sku:in=${skus
            .slice(i, i + SKU_CHUNK)
            .map(encodeURIComponent)
            .join(",")}`,
          Item,
          "inventory items",
          1000,
        )),
      );
    return out;
  }

  const locationOf = (l: InventoryLevel, item: Item): number | null => {
    const mapped = config.locationMap?.[l.location];
    if (mapped !== undefined) return item.locations.some((x) => x.location_id === mapped) ? mapped : null;
    const byCode = item.locations.find(
      (x) => (x.location_code ?? "").toLowerCase() === l.location.toLowerCase(),
    );
    if (byCode) return byCode.location_id;
    if (/^\d+$/.test(l.location) && item.locations.some((x) => x.location_id === Number(l.location)))
      return Number(l.location);
    return null;
  };

  return {
    entity: "inventory",
    async upsert(batch) {
      const results = new Map<string, WriteResult>();
      const skus = [...new Set(batch.map((i) => i.record.sku))];
      const { variants } = await lookups.products(skus);
      const held = await items(skus.filter((s) => variants.has(s)));
      // Products by id, for their tracking mode.
      const products = new Map<number, BcProduct>();
      const ids = [...new Set([...variants.values()].map((v) => v.product_id))];
      for (let i = 0; i < ids.length; i += SKU_CHUNK) {
        const got = await client.all(
          `/v3/catalog/products?id:in=${ids.slice(i, i + SKU_CHUNK).join(",")}&include=variants`,
          BcProduct,
          "products by id",
        );
        for (const p of got) products.set(p.id, p);
      }
      const send: Pending<{ location_id: number; variant_id: number; quantity: number }>[] = [];
      const enable = new Map<number, "product" | "variant">();
      for (const i of batch) {
        const r = i.record;
        const v = variants.get(r.sku);
        const item = held.find((x) => x.identity.sku === r.sku);
        if (!v || !item) {
          results.set(
            i.key,
            failed(
              i.key,
              "permanent",
              `BigCommerce has no variant with SKU ${JSON.stringify(r.sku)}`,
              system,
              "sku",
            ),
          );
          continue;
        }
        const p = products.get(v.product_id);
        const optioned = (p?.variants ?? []).some((x) => (x.option_values ?? []).length > 0);
        const tracking = enable.get(v.product_id) ?? p?.inventory_tracking ?? "none";
        if (tracking === "none") {
          if (config.untrackedStock === "refuse") {
            results.set(
              i.key,
              failed(
                i.key,
                "permanent",
                `BigCommerce product ${v.product_id} (SKU ${r.sku}) does not track inventory (inventory_tracking none); set untrackedStock: enable or turn tracking on`,
                system,
                "sku",
              ),
            );
            continue;
          }
          enable.set(v.product_id, optioned ? "variant" : "product");
        } else if (tracking === "product" && optioned) {
          results.set(
            i.key,
            failed(
              i.key,
              "permanent",
              `BigCommerce product ${v.product_id} tracks inventory by product, so variant ${r.sku} holds no stock of its own`,
              system,
              "sku",
            ),
          );
          continue;
        }
        const location = locationOf(r, item);
        if (location === null) {
          results.set(
            i.key,
            failed(
              i.key,
              "permanent",
              `BigCommerce has no location for ${JSON.stringify(r.location)} (locations: ${item.locations.map((x) => `${x.location_id} ${x.location_code ?? ""}`).join(", ")}): map it in locationMap`,
              system,
              "location",
            ),
          );
          continue;
        }
        const targetId = `${r.sku}@${location}`;
        const have = item.locations.find((x) => x.location_id === location)?.total_inventory_onhand ?? null;
        const quantity = Math.max(0, r.available);
        if (have === quantity && tracking !== "none") {
          results.set(i.key, { key: i.key, ok: true, targetId, action: "unchanged" });
          continue;
        }
        queueLast(send, {
          key: i.key,
          targetId,
          created: i.targetId === null,
          row: { location_id: location, variant_id: v.id, quantity },
        });
      }
      for (const [id, mode] of enable) {
        if (
          !send.some((s) => variants.get(batch.find((b) => b.key === s.key)!.record.sku)?.product_id === id)
        )
          continue;
        try {
          await client.write(
            "PUT",
            `/v3/catalog/products/${id}`,
            { inventory_tracking: mode },
            z.unknown(),
            "inventory tracking",
          );
        } catch (err) {
          throw explained(err);
        }
      }
      await sendChunks(
        send,
        ITEMS_PER_ADJUSTMENT,
        results,
        (items) =>
          client.write(
            "PUT",
            "/v3/inventory/adjustments/absolute",
            { reason: "Passerelle stock sync", items },
            z.unknown(),
            "absolute adjustment",
          ),
        explained,
      );
      return settleReplaced(batch, results, send, (x, i) => x.targetId.startsWith(`${i.record.sku}@`));
    },
    async findByExternalRef(_ref, record) {
      const got = await items([record.sku]);
      const item = got.find((x) => x.identity.sku === record.sku);
      if (!item) return null;
      const location = locationOf(record, item);
      return location === null ? null : `${record.sku}@${location}`;
    },
    // The SKU search, the items and the products per chunk, then one adjustment per 2,000 items.
    estimateCalls: (page) => {
      const n = toWrite(page).length;
      const skus = distinct(toWrite(page).map((i) => i.record.sku));
      return n === 0
        ? page.lookups.length
        : callsFor(skus, SKU_CHUNK) * 3 + callsFor(n, ITEMS_PER_ADJUSTMENT) + page.lookups.length;
    },
  };
}

/**
 * Stock: PrestaShop keeps one stock_available row per product (or combination) and shop, created with the
 * product; the writer sets its `quantity` (an absolute value) with PATCH, and only where it differs. A
 * canonical location is a shop (`locationMap`, else `shopId` for every location). A row whose
 * `depends_on_stock` is 1 takes its quantity from advanced stock management (warehouses), which a write
 * here would not change: that record fails, named. A product with combinations keeps its stock on the
 * combinations, PrestaShop summing them on the product's own row. The rows of a page are read in one call.
 */
import { SyncError } from "../../../core/errors.ts";
import type { InventoryLevel } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { callsFor, distinct, toWrite } from "../../call-estimate.ts";
import { perItem } from "../../write-results.ts";
import type { PrestaShopClient } from "../client.ts";
import { type PrestaShopLookups, SKU_CHUNK } from "../lookup.ts";
import { PsStock } from "../native.ts";

export function inventoryWriter(
  system: string,
  client: PrestaShopClient,
  lookups: PrestaShopLookups,
): Writer<"inventory"> {
  const config = client.config;

  function shopOf(l: InventoryLevel): number {
    if (!config.locationMap) return config.shopId;
    const shop = config.locationMap[l.location];
    if (shop === undefined)
      throw new SyncError("data", `location ${JSON.stringify(l.location)} is not in locationMap`, {
        system,
        field: "location",
      });
    return shop;
  }

  async function rowsFor(levels: InventoryLevel[]) {
    const held = await lookups.bySku(levels.map((l) => l.sku));
    const productIds = new Set<number>();
    for (const l of levels) {
      const c = held.combinations.get(l.sku);
      const p = held.products.get(l.sku);
      if (c) productIds.add(c.id_product);
      else if (p) productIds.add(p.id);
    }
    const rows =
      productIds.size === 0
        ? []
        : await client.list(
            "stock_availables",
            `display=full&filter[id_product]=${encodeURIComponent(`[${[...productIds].join("|")}]`)}`,
            PsStock,
            "stock of the products",
          );
    return { held, rows };
  }

  function rowOf(l: InventoryLevel, { held, rows }: Awaited<ReturnType<typeof rowsFor>>) {
    const c = held.combinations.get(l.sku);
    const p = held.products.get(l.sku);
    if (!c && !p)
      throw new SyncError("permanent", `PrestaShop has no product or combination with reference ${l.sku}`, {
        system,
        field: "sku",
      });
    const product = c ? c.id_product : (p?.id as number);
    const attribute = c ? c.id : 0;
    const shop = shopOf(l);
    const row = rows.find(
      (r) =>
        r.id_product === product &&
        r.id_product_attribute === attribute &&
        (r.id_shop === "" || Number(r.id_shop) === shop),
    );
    if (!row)
      throw new SyncError("permanent", `PrestaShop has no stock row for ${l.sku} in shop ${shop}`, {
        system,
        field: "location",
      });
    return row;
  }

  return {
    entity: "inventory",
    async upsert(items) {
      const found = await rowsFor(items.map((i) => i.record));
      const results: WriteResult[] = [];
      for (const i of items)
        results.push(
          await perItem(i.key, system, async () => {
            const row = rowOf(i.record, found);
            const targetId = String(row.id);
            if (row.depends_on_stock === "1")
              throw new SyncError(
                "permanent",
                `${i.record.sku}: its PrestaShop stock depends on advanced stock management (warehouses); it is not set directly`,
                { system, field: "depends_on_stock" },
              );
            const wanted = i.record.available;
            if (Number(row.quantity) === wanted)
              return { key: i.key, ok: true, targetId, action: "unchanged" };
            await client.write(
              "PATCH",
              "stock_availables",
              "stock_available",
              { id: row.id, fields: { quantity: wanted } },
              "stock update",
            );
            row.quantity = String(wanted);
            return { key: i.key, ok: true, targetId, action: i.targetId ? "updated" : "created" };
          }),
        );
      return results;
    },
    async findByExternalRef(_ref, record) {
      try {
        return String(rowOf(record, await rowsFor([record])).id);
      } catch (err) {
        if (err instanceof SyncError && (err.kind === "permanent" || err.kind === "data")) return null;
        throw err;
      }
    },
    // Two reads per 50 SKUs, one read of the page's stock rows, one write per record.
    estimateCalls: (page) => {
      const all = toWrite(page);
      return (
        2 * callsFor(distinct(all.map((i) => i.record.sku)), SKU_CHUNK) +
        1 +
        all.length +
        page.lookups.length * 3
      );
    },
  };
}

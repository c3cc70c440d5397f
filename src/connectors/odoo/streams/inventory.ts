import { SyncError } from "../../../core/errors.ts";
import type { InventoryLevelInput } from "../../../core/model.ts";
import type { ListRequest, Stream } from "../../../ports/connector.ts";
import type { OdooRow } from "../client.ts";
import type { OdooContext } from "../context.ts";
import { many2one, num, str, uniq } from "../fields.ts";
import { keysetPages } from "../paging.ts";
import { leadTimes } from "../suppliers.ts";
import { odooToIso } from "../time.ts";

export interface InventoryNative {
  /** The quant whose change this level reports; its id and write_date are the stream's cursor. */
  quantId: number;
  writeDate: string;
  sku: string | undefined;
  productId: number;
  warehouse: string;
  /** Summed over every quant of the variant under the warehouse's stock location. */
  onHand: number;
  reserved: number;
  /** Days the variant's vendor takes to deliver (product.supplierinfo `delay`), where it has one. */
  leadTimeDays?: number;
}

interface Warehouses {
  /** Internal location id → warehouse code. */
  byLocation: Map<number, string>;
}

async function loadWarehouses(ctx: OdooContext, signal?: AbortSignal): Promise<Warehouses> {
  const [warehouses, locations] = await Promise.all([
    ctx.client.searchRead("stock.warehouse", [], ["code", "lot_stock_id"], { signal }),
    ctx.client.searchRead("stock.location", [["usage", "=", "internal"]], ["complete_name"], { signal }),
  ]);
  const roots = warehouses.flatMap((w) => {
    const code = str(w, "code");
    const stock = many2one(w, "lot_stock_id");
    return code && stock ? [{ code, stockId: stock.id }] : [];
  });
  const names = new Map(locations.map((l) => [l.id, str(l, "complete_name") ?? ""]));
  // Warehouses summed into one location (config stockLocations): warehouse code → that location.
  const summed = new Map<string, string>();
  for (const [location, codes] of Object.entries(ctx.config.stockLocations ?? {})) {
    for (const code of codes) {
      if (!roots.some((r) => r.code === code)) {
        throw new SyncError(
          "config",
          `stockLocations.${location} names warehouse ${JSON.stringify(code)}, which Odoo does not have (warehouses: ${roots.map((r) => r.code).join(", ")})`,
          { system: ctx.name, field: `stockLocations.${location}` },
        );
      }
      summed.set(code, location);
    }
  }
  const byLocation = new Map<number, string>();
  for (const root of roots) {
    const rootName = names.get(root.stockId);
    if (rootName === undefined) continue;
    for (const [id, name] of names) {
      if (name === rootName || name.startsWith(`${rootName}/`))
        byLocation.set(id, summed.get(root.code) ?? root.code);
    }
  }
  return { byLocation };
}

/**
 * One InventoryLevel per variant × warehouse, read incrementally from stock.quant: a page of changed quants
 * names the (variant, warehouse) pairs to report, and one more call sums all their quants, since a variant
 * may lie in several quants of a warehouse's stock (sub-locations, lots, packages). Each level carries the
 * cursor of its pair's latest-written quant and is emitted only when the page reaches that quant, so a
 * resume re-reads exactly the pairs not yet committed and the levels do not depend on the page size.
 */
export function inventoryStream(ctx: OdooContext): Stream<"inventory", InventoryNative> {
  const { client } = ctx;
  const levels = async (
    quants: OdooRow[],
    wh: Warehouses,
    signal?: AbortSignal,
  ): Promise<InventoryNative[]> => {
    const productIds = uniq(quants.map((q) => many2one(q, "product_id")?.id));
    const [all, variants] = await Promise.all([
      client.searchRead(
        "stock.quant",
        [
          ["product_id", "in", productIds],
          ["location_id", "in", [...wh.byLocation.keys()]],
        ],
        ["product_id", "location_id", "quantity", "reserved_quantity", "write_date"],
        { signal },
      ),
      client.read("product.product", productIds, ["default_code", "product_tmpl_id"], signal),
    ]);
    const sku = new Map(variants.map((v) => [v.id, str(v, "default_code")]));
    const lead = await leadTimes(
      ctx,
      variants.flatMap((v) => {
        const template = many2one(v, "product_tmpl_id")?.id;
        return template === undefined ? [] : [{ product: v.id, template }];
      }),
      new Date().toISOString().slice(0, 10),
      signal,
    );
    const pairOf = (q: OdooRow) => {
      const product = many2one(q, "product_id")?.id ?? 0;
      const loc = many2one(q, "location_id")?.id ?? 0;
      return {
        product,
        warehouse: wh.byLocation.get(loc) ?? "",
        key: `${product}@${wh.byLocation.get(loc)}`,
      };
    };
    const sums = new Map<string, { onHand: number; reserved: number }>();
    const latest = new Map<string, OdooRow>();
    const later = (a: OdooRow, b: OdooRow | undefined) => {
      if (!b) return true;
      const x = String(a.write_date);
      const y = String(b.write_date);
      return x > y || (x === y && a.id > b.id);
    };
    for (const q of all) {
      const { key } = pairOf(q);
      const s = sums.get(key) ?? { onHand: 0, reserved: 0 };
      s.onHand += num(q, "quantity");
      s.reserved += num(q, "reserved_quantity");
      sums.set(key, s);
      if (later(q, latest.get(key))) latest.set(key, q);
    }
    // A level goes out at the latest write of its quants: with the quant that is its pair's latest. A page
    // holding an earlier quant of the pair skips it (the latest one comes later in the order), so each
    // level has one cursor whatever the page size, and a change to any of its quants makes that one the latest.
    const heads = new Map<string, OdooRow>();
    for (const q of quants) {
      const { key } = pairOf(q);
      if (latest.get(key)?.id === q.id) heads.set(key, q);
    }
    return [...heads.entries()]
      .map(([key, q]) => {
        const { product, warehouse } = pairOf(q);
        const s = sums.get(key) ?? { onHand: 0, reserved: 0 };
        const days = lead.get(product);
        return {
          quantId: q.id,
          writeDate: String(q.write_date),
          sku: sku.get(product),
          productId: product,
          warehouse,
          onHand: s.onHand,
          reserved: s.reserved,
          ...(days !== undefined ? { leadTimeDays: days } : {}),
        };
      })
      .sort((a, b) =>
        a.writeDate < b.writeDate ? -1 : a.writeDate > b.writeDate ? 1 : a.quantId - b.quantId,
      );
  };

  const QUANT_FIELDS = ["product_id", "location_id"];
  return {
    entity: "inventory",
    sorted: true,
    async *list(req: ListRequest) {
      const wh = await loadWarehouses(ctx, req.signal);
      const base = [["location_id", "in", [...wh.byLocation.keys()]]];
      for await (const page of keysetPages(client, "stock.quant", base, QUANT_FIELDS, req)) {
        yield await levels(page, wh, req.signal);
      }
    },
    async get(id) {
      const wh = await loadWarehouses(ctx);
      const rows = await client.searchRead(
        "stock.quant",
        [
          ["id", "=", Number(id)],
          ["location_id", "in", [...wh.byLocation.keys()]],
        ],
        [...QUANT_FIELDS, "write_date"],
      );
      return rows.length === 0 ? null : ((await levels(rows, wh))[0] ?? null);
    },
    idOf: (n) => String(n.quantId),
    updatedAtOf: (n) => odooToIso(n.writeDate),
    toCanonical(n): InventoryLevelInput {
      if (!n.sku) {
        throw new SyncError(
          "data",
          `stock of product.product(${n.productId}) in ${n.warehouse}: the variant has no SKU`,
          {
            field: "sku",
          },
        );
      }
      const onHand = Math.floor(n.onHand);
      const reserved = Math.max(0, Math.ceil(n.reserved));
      return {
        source: ctx.name,
        sourceId: String(n.quantId),
        updatedAt: odooToIso(n.writeDate),
        key: `${n.sku}@${n.warehouse}`,
        sku: n.sku,
        location: n.warehouse,
        onHand,
        reserved,
        safetyStock: 0,
        ...(n.leadTimeDays !== undefined ? { leadTimeDays: n.leadTimeDays } : {}),
      };
    },
  };
}

import { compareCursors } from "../../../core/cursor.ts";
import { SyncError } from "../../../core/errors.ts";
import { kitAvailable } from "../../../core/kit.ts";
import { availableToSell, type InventoryLevelInput } from "../../../core/model.ts";
import type { ListRequest, Stream } from "../../../ports/connector.ts";
import type { OdooRow } from "../client.ts";
import type { OdooContext } from "../context.ts";
import { many2one, num, str, uniq } from "../fields.ts";
import { keysetPages } from "../paging.ts";
import { leadTimes } from "../suppliers.ts";
import { odooToIso } from "../time.ts";
import { bomOf, checked, hasKits, type KitPart, partsOf, readBoms, skusOf } from "./kits.ts";

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
  /**
   * A kit (mrp.bom of type phantom): its components per kit and their available-to-sell in the warehouse.
   * Its level is reported at its components' latest quant (quantId, writeDate), see kitLevels.
   */
  kit?: { parts: KitPart[]; skus: Record<number, string | undefined>; available: Record<number, number> };
}

/** The kits of the database: kit variant → its parts, component variant → the kits made of it. */
interface Kits {
  parts: Map<number, KitPart[]>;
  of: Map<number, number[]>;
  skus: Map<number, string | undefined>;
}

const NO_KITS: Kits = { parts: new Map(), of: new Map(), skus: new Map() };

/** Every kit variant's parts (by the BoM Odoo uses for it), read once per list; none without Manufacturing. */
async function loadKits(ctx: OdooContext, signal?: AbortSignal): Promise<Kits> {
  if (!(await hasKits(ctx, signal))) return NO_KITS;
  const { kits: boms } = await readBoms(ctx, undefined, signal);
  if (boms.length === 0) return NO_KITS;
  const variants = await ctx.client.searchRead(
    "product.product",
    [["product_tmpl_id", "in", uniq(boms.map((b) => b.template))]],
    ["product_tmpl_id", "default_code"],
    { signal },
  );
  const parts = new Map<number, KitPart[]>();
  const of = new Map<number, number[]>();
  for (const v of variants) {
    const bom = bomOf(boms, v.id, many2one(v, "product_tmpl_id")?.id ?? 0);
    if (!bom) continue;
    const own = partsOf(bom);
    parts.set(v.id, own);
    for (const p of own) of.set(p.product, [...(of.get(p.product) ?? []), v.id]);
  }
  const skus = await skusOf(ctx, [...variants.map((v) => v.id), ...of.keys()], signal);
  return { parts, of, skus };
}

/** A kit level's id: its own (a kit has no quant), ordered by warehouse then kit variant at one instant. */
const kitId = (warehouse: string, product: number) => `kit:${warehouse}:${product}`;
const KIT_ID = /^kit:(.*):(\d+)$/;

/**
 * A kit level's updatedAt: a millisecond after its head quant's second. Odoo's write_dates are whole
 * seconds, so it sorts after every quant of that second (whatever their ids) and before the next second.
 */
const kitAt = (writeDate: string) => new Date(Date.parse(odooToIso(writeDate)) + 1).toISOString();

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

/** On hand (whole units) and reserved (whole, never below 0), as a level reports them. */
function rounded(s: { onHand: number; reserved: number }) {
  return { onHand: Math.floor(s.onHand), reserved: Math.max(0, Math.ceil(s.reserved)), safetyStock: 0 };
}

/** Whether quant `a` comes after `b` in the (write_date, id) order. */
function laterQuant(a: OdooRow, b: OdooRow): boolean {
  const x = String(a.write_date);
  const y = String(b.write_date);
  return x > y || (x === y && a.id > b.id);
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
    page: OdooRow[],
    wh: Warehouses,
    kits: Kits,
    signal?: AbortSignal,
  ): Promise<InventoryNative[]> => {
    // A kit has no stock of its own: quants of a kit product (left from before it became one) are not read
    // as a level; the kit's comes from its components'.
    const quants = page.filter((q) => !kits.parts.has(many2one(q, "product_id")?.id ?? 0));
    const productIds = uniq(quants.map((q) => many2one(q, "product_id")?.id));
    // The kits made of the page's products: their levels are recomputed (see kitLevels).
    const touched = uniq(quants.flatMap((q) => kits.of.get(many2one(q, "product_id")?.id ?? 0) ?? []));
    const components = uniq(touched.flatMap((k) => (kits.parts.get(k) ?? []).map((p) => p.product)));
    const [all, variants] = await Promise.all([
      client.searchRead(
        "stock.quant",
        [
          ["product_id", "in", uniq([...productIds, ...components])],
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
    const plain = [...heads.entries()].map(([key, q]) => {
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
    });
    const inPage = new Set(quants.map((q) => q.id));
    const kitNatives = kitLevels(touched, all, wh, kits).filter((k) => inPage.has(k.quantId));
    return [...plain, ...kitNatives].sort(byCursor);
  };

  /**
   * The levels of these kits in every warehouse holding a quant of one of their components, from `all` (every
   * quant of their components under the warehouses): per component its available-to-sell there (on hand
   * less reserved), the level stamped with the latest of those quants. Like a variant's, a kit's level goes
   * out with that quant only, so it has one cursor whatever the page size, and a move of any component
   * makes that one the latest.
   */
  const kitLevels = (touched: number[], all: OdooRow[], wh: Warehouses, kits: Kits): InventoryNative[] => {
    const out: InventoryNative[] = [];
    for (const kit of touched) {
      const parts = kits.parts.get(kit) ?? [];
      const wanted = new Set(parts.map((p) => p.product));
      const byWarehouse = new Map<string, OdooRow[]>();
      for (const q of all) {
        const product = many2one(q, "product_id")?.id ?? 0;
        const warehouse = wh.byLocation.get(many2one(q, "location_id")?.id ?? 0);
        if (!wanted.has(product) || warehouse === undefined) continue;
        byWarehouse.set(warehouse, [...(byWarehouse.get(warehouse) ?? []), q]);
      }
      for (const [warehouse, rows] of byWarehouse) {
        let head: OdooRow | undefined;
        const sums = new Map<number, { onHand: number; reserved: number }>();
        for (const q of rows) {
          const product = many2one(q, "product_id")?.id ?? 0;
          const s = sums.get(product) ?? { onHand: 0, reserved: 0 };
          s.onHand += num(q, "quantity");
          s.reserved += num(q, "reserved_quantity");
          sums.set(product, s);
          if (!head || laterQuant(q, head)) head = q;
        }
        if (!head) continue;
        out.push({
          quantId: head.id,
          writeDate: String(head.write_date),
          sku: kits.skus.get(kit),
          productId: kit,
          warehouse,
          onHand: 0,
          reserved: 0,
          kit: {
            parts,
            skus: Object.fromEntries(parts.map((p) => [p.product, kits.skus.get(p.product)])),
            available: Object.fromEntries(
              parts.map((p) => {
                const s = sums.get(p.product) ?? { onHand: 0, reserved: 0 };
                return [p.product, availableToSell(rounded(s))];
              }),
            ),
          },
        });
      }
    }
    return out;
  };

  const QUANT_FIELDS = ["product_id", "location_id"];
  const idOf = (n: InventoryNative) => (n.kit ? kitId(n.warehouse, n.productId) : String(n.quantId));
  const updatedAtOf = (n: InventoryNative) => (n.kit ? kitAt(n.writeDate) : odooToIso(n.writeDate));
  const byCursor = (a: InventoryNative, b: InventoryNative) =>
    compareCursors({ updatedAt: updatedAtOf(a), id: idOf(a) }, { updatedAt: updatedAtOf(b), id: idOf(b) });
  return {
    entity: "inventory",
    sorted: true,
    async *list(req: ListRequest) {
      const wh = await loadWarehouses(ctx, req.signal);
      const kits = await loadKits(ctx, req.signal);
      const base = [["location_id", "in", [...wh.byLocation.keys()]]];
      // Kit levels stamped in the second the last page ended in wait for the next page: when that second
      // alone fills a page, the next one holds more of its quants, which sort before the kits' levels.
      let held: InventoryNative[] = [];
      // With kits, a resume reads the cursor's second again from its start: a kit level held there when the
      // last run stopped has its quants at or before the cursor's id (the engine drops what was sent).
      const from =
        kits.parts.size > 0 && req.since
          ? { ...req, since: { updatedAt: req.since.updatedAt, id: "" } }
          : req;
      for await (const page of keysetPages(client, "stock.quant", base, QUANT_FIELDS, from)) {
        const out = await levels(page, wh, kits, req.signal);
        const fresh = new Set(out.filter((n) => n.kit).map(idOf));
        const all = [...held.filter((n) => !fresh.has(idOf(n))), ...out].sort(byCursor);
        const last = String(page[page.length - 1]?.write_date ?? "").slice(0, 19);
        held = all.filter((n) => n.kit && n.writeDate.slice(0, 19) === last);
        const ready = all.filter((n) => !(n.kit && n.writeDate.slice(0, 19) === last));
        if (ready.length > 0) yield ready;
      }
      if (held.length > 0) yield held;
    },
    async get(id) {
      const wh = await loadWarehouses(ctx);
      const kit = KIT_ID.exec(id);
      if (kit) {
        const [, warehouse, product] = kit;
        const kits = await loadKits(ctx);
        const parts = kits.parts.get(Number(product)) ?? [];
        if (parts.length === 0) return null;
        const all = await client.searchRead(
          "stock.quant",
          [
            ["product_id", "in", parts.map((p) => p.product)],
            ["location_id", "in", [...wh.byLocation.keys()]],
          ],
          ["product_id", "location_id", "quantity", "reserved_quantity", "write_date"],
        );
        return kitLevels([Number(product)], all, wh, kits).find((n) => n.warehouse === warehouse) ?? null;
      }
      const rows = await client.searchRead(
        "stock.quant",
        [
          ["id", "=", Number(id)],
          ["location_id", "in", [...wh.byLocation.keys()]],
        ],
        [...QUANT_FIELDS, "write_date"],
      );
      if (rows.length === 0) return null;
      return (await levels(rows, wh, await loadKits(ctx))).find((n) => !n.kit) ?? null;
    },
    idOf,
    updatedAtOf,
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
      if (n.kit) {
        // A kit's level: the whole kits its components' available-to-sell makes there (core/kit.ts).
        const kit = n.kit;
        const components = checked(ctx, n.sku, kit.parts, kit.skus);
        const available = new Map(
          kit.parts.map((p, i) => [components[i]?.sku ?? "", kit.available[p.product] ?? 0]),
        );
        return {
          source: ctx.name,
          sourceId: idOf(n),
          updatedAt: updatedAtOf(n),
          key: `${n.sku}@${n.warehouse}`,
          sku: n.sku,
          location: n.warehouse,
          onHand: kitAvailable(components, available),
          reserved: 0,
          safetyStock: 0,
        };
      }
      const { onHand, reserved } = rounded(n);
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

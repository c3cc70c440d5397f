import { SyncError } from "../../../core/errors.ts";
import { kitAvailable } from "../../../core/kit.ts";
import { availableToSell, type InventoryLevelInput } from "../../../core/model.ts";
import type { ListRequest, Stream } from "../../../ports/connector.ts";
import { changedAt, maxIso } from "../codec.ts";
import type { TrytonContext } from "../context.ts";
import { id, num, str, uniq } from "../fields.ts";
import {
  COMPONENT_MODEL,
  type ComponentRow,
  canonicalComponents,
  componentRows,
  componentsUsed,
  leadTimes,
  SUPPLIER_MODEL,
} from "../kits.ts";
import { byKeys, changedSince, stampedPages } from "../paging.ts";

export interface InventoryNative {
  warehouse: { id: number; code: string };
  product: { id: number; code: string | undefined };
  /** On hand in the warehouse's storage zone. */
  quantity: number;
  /** On hand minus everything already promised out of it (and plus what is expected in). */
  forecast: number;
  /** A kit (product_kit): the components it is made of and their stock in the warehouse. */
  kit?: { components: ComponentRow[]; stock: Record<number, { quantity: number; forecast: number }> };
  /** Days the variant's first supplier with a lead time takes (purchase), if any. */
  leadTimeDays?: number;
  changedAt: string;
}

interface PairKey {
  warehouse: number;
  product: number;
}

interface Warehouse {
  id: number;
  code: string;
  storage: number;
}

/** Goods and kits: a kit's stock is derived from its components' (see toCanonical). */
const STOCKED = [["template.type", "in", ["goods", "kit"]]];
const pairId = (k: PairKey) => `wh${k.warehouse}p${k.product}`;

async function warehouses(ctx: TrytonContext, signal?: AbortSignal): Promise<Warehouse[]> {
  const rows = await ctx.client.searchRead(
    "stock.location",
    [["type", "=", "warehouse"]],
    ["code", "storage_location"],
    {
      signal,
    },
  );
  return rows.flatMap((w) => {
    const storage = id(w, "storage_location");
    return storage ? [{ id: w.id, code: str(w, "code") ?? `WH${w.id}`, storage }] : [];
  });
}

/**
 * One InventoryLevel per goods variant × warehouse. Tryton has no stock table to page through: quantities
 * are sums over stock moves, which Tryton computes when product.product is read with a `locations`
 * context, here the warehouse's storage location (and its children). A level changes when a move into or
 * out of the warehouse changes, so the change index is the moves changed since the cursor (plus variants
 * created since, which start at zero). `reserved` is on hand minus the forecast, never below zero: what
 * confirmed sales already hold.
 */
/** On hand (whole units) and reserved (on hand minus forecast, never below 0) from Tryton's quantities. */
function levelOf(q: { quantity: number; forecast: number }) {
  return {
    onHand: Math.floor(q.quantity),
    reserved: Math.max(0, Math.ceil(q.quantity - q.forecast)),
    safetyStock: 0,
  };
}

export function inventoryStream(ctx: TrytonContext): Stream<"inventory", InventoryNative> {
  const { client } = ctx;

  const stockIn = async (wh: Warehouse, productIds: number[], signal?: AbortSignal) =>
    productIds.length === 0
      ? []
      : client.searchRead(
          "product.product",
          [["id", "in", productIds], ...STOCKED],
          ["code", "type", "template", "quantity", "forecast_quantity", "write_date", "create_date"],
          { context: { locations: [wh.storage] }, signal },
        );

  const load = async (keys: PairKey[], whs: Warehouse[], signal?: AbortSignal) => {
    const out = new Map<string, InventoryNative>();
    for (const wh of whs) {
      const productIds = keys.filter((k) => k.warehouse === wh.id).map((k) => k.product);
      if (productIds.length === 0) continue;
      const rows = await stockIn(wh, productIds, signal);
      const kits = rows.filter((r) => r.type === "kit");
      const goods = rows.filter((r) => r.type !== "kit");
      const components = await componentRows(
        ctx,
        { products: kits.map((k) => k.id), templates: uniq(kits.map((k) => id(k, "template"))) },
        signal,
      );
      const componentStock = new Map(
        (await stockIn(wh, uniq(components.map((c) => c.product)), signal)).map((r) => [
          r.id,
          { quantity: num(r, "quantity"), forecast: num(r, "forecast_quantity") },
        ]),
      );
      const lead = await leadTimes(
        ctx,
        goods.flatMap((g) =>
          id(g, "template") ? [{ product: g.id, template: id(g, "template") as number }] : [],
        ),
        signal,
      );
      for (const row of rows) {
        const used = row.type === "kit" ? componentsUsed(components, row.id, id(row, "template") ?? 0) : null;
        const days = lead.get(row.id);
        out.set(pairId({ warehouse: wh.id, product: row.id }), {
          warehouse: { id: wh.id, code: wh.code },
          product: { id: row.id, code: str(row, "code") },
          quantity: num(row, "quantity"),
          forecast: num(row, "forecast_quantity"),
          ...(used
            ? {
                kit: {
                  components: used,
                  stock: Object.fromEntries(
                    used.flatMap((c) => {
                      const level = componentStock.get(c.product);
                      return level ? [[c.product, level]] : [];
                    }),
                  ),
                },
              }
            : {}),
          ...(days !== undefined ? { leadTimeDays: days } : {}),
          changedAt: changedAt(row) ?? "1970-01-01T00:00:00.000Z",
        });
      }
    }
    return out;
  };

  /**
   * Component variant → the kit variants made of it, and the kit variants whose component rows changed
   * since the cursor (with the time). Empty where product_kit is not activated.
   */
  const kitsByComponent = async (since: string | null, signal?: AbortSignal) => {
    const kitsOf = new Map<number, number[]>();
    const changed = new Map<number, string>();
    if (!(await ctx.hasModel(COMPONENT_MODEL, signal))) return { kitsOf, changed };
    const [rows, kitVariants] = await Promise.all([
      client.searchRead(
        COMPONENT_MODEL,
        [],
        ["parent_template", "parent_product", "product", "write_date", "create_date"],
        { signal },
      ),
      client.searchRead("product.product", [["template.type", "=", "kit"]], ["template"], { signal }),
    ]);
    const sinceMs = since ? Date.parse(since) : Number.NEGATIVE_INFINITY;
    for (const r of rows) {
      const parent = id(r, "parent_product");
      const template = id(r, "parent_template");
      const kits =
        parent !== undefined
          ? [parent]
          : kitVariants.filter((k) => id(k, "template") === template).map((k) => k.id);
      const component = id(r, "product");
      if (component !== undefined) kitsOf.set(component, uniq([...(kitsOf.get(component) ?? []), ...kits]));
      const at = changedAt(r);
      if (at && Date.parse(at) >= sinceMs)
        for (const k of kits) changed.set(k, maxIso(changed.get(k), at) as string);
    }
    return { kitsOf, changed };
  };

  /** Variants whose supplier lead time changed since the cursor (purchase), with the time. */
  const changedSuppliers = async (since: string | null, signal?: AbortSignal) => {
    const out = new Map<number, string>();
    if (!(await ctx.hasModel(SUPPLIER_MODEL, signal))) return out;
    const rows = await client.searchRead(
      SUPPLIER_MODEL,
      [...changedSince(since)],
      ["template", "product", "write_date", "create_date"],
      { context: { active_test: false }, signal },
    );
    const templates = uniq(rows.filter((r) => id(r, "product") === undefined).map((r) => id(r, "template")));
    const variants =
      templates.length > 0
        ? await client.searchRead("product.product", [["template", "in", templates]], ["template"], {
            signal,
          })
        : [];
    for (const r of rows) {
      const at = changedAt(r);
      if (!at) continue;
      const product = id(r, "product");
      const of =
        product !== undefined
          ? [product]
          : variants.filter((v) => id(v, "template") === id(r, "template")).map((v) => v.id);
      for (const p of of) out.set(p, maxIso(out.get(p), at) as string);
    }
    return out;
  };

  const index = async (req: ListRequest, whs: Warehouse[]) => {
    const since = req.since?.updatedAt ?? null;
    const storage = whs.map((w) => w.storage);
    const [moves, products, kitIndex, suppliers] = await Promise.all([
      client.searchRead(
        "stock.move",
        [
          [
            "OR",
            ["from_location", "child_of", storage, "parent"],
            ["to_location", "child_of", storage, "parent"],
          ],
          ["product.template.type", "=", "goods"],
          ...changedSince(since),
        ],
        ["product", "from_location", "to_location", "write_date", "create_date"],
        { signal: req.signal },
      ),
      client.searchRead(
        "product.product",
        [...STOCKED, ...changedSince(since)],
        ["write_date", "create_date"],
        {
          signal: req.signal,
        },
      ),
      kitsByComponent(since, req.signal),
      changedSuppliers(since, req.signal),
    ]);
    // Storage location (or a child of it) → warehouse.
    const locations = await client.searchRead(
      "stock.location",
      [["parent", "child_of", storage]],
      ["warehouse"],
      { signal: req.signal },
    );
    const whOfLocation = new Map<number, number>();
    for (const l of locations) {
      const w = id(l, "warehouse");
      if (w !== undefined) whOfLocation.set(l.id, w);
    }
    const at = new Map<string, { key: PairKey; at: string }>();
    const bump = (key: PairKey, when: string | undefined) => {
      if (!when) return;
      const prev = at.get(pairId(key));
      at.set(pairId(key), { key, at: maxIso(prev?.at, when) as string });
    };
    for (const m of moves) {
      const product = id(m, "product");
      if (product === undefined) continue;
      for (const loc of [id(m, "from_location"), id(m, "to_location")]) {
        const wh = loc === undefined ? undefined : whOfLocation.get(loc);
        if (wh === undefined) continue;
        bump({ warehouse: wh, product }, changedAt(m));
        // A component's stock moved: every kit made of it is recomputed, though the kit did not change.
        for (const kit of kitIndex.kitsOf.get(product) ?? [])
          bump({ warehouse: wh, product: kit }, changedAt(m));
      }
    }
    const everywhere = (product: number, at: string | undefined) => {
      for (const wh of whs) bump({ warehouse: wh.id, product }, at);
    };
    for (const p of products) everywhere(p.id, changedAt(p));
    for (const [kit, at] of kitIndex.changed) everywhere(kit, at);
    for (const [product, at] of suppliers) everywhere(product, at);
    return [...at.values()].map((e) => [e.key, e.at] as [PairKey, string]);
  };

  return {
    entity: "inventory",
    sorted: true,
    async *list(req) {
      const whs = await warehouses(ctx, req.signal);
      const entries = await index(req, whs);
      yield* stampedPages(entries, pairId, req, async (keys) =>
        byKeys(keys, await load(keys, whs, req.signal), pairId),
      );
    },
    async get(text) {
      const m = /^wh(\d+)p(\d+)$/.exec(text);
      if (!m) return null;
      const key = { warehouse: Number(m[1]), product: Number(m[2]) };
      const whs = (await warehouses(ctx)).filter((w) => w.id === key.warehouse);
      const native = (await load([key], whs)).get(text);
      if (!native) return null;
      const moves = await client.searchRead(
        "stock.move",
        [
          ["product", "=", key.product],
          [
            "OR",
            ["from_location", "child_of", whs.map((w) => w.storage), "parent"],
            ["to_location", "child_of", whs.map((w) => w.storage), "parent"],
          ],
        ],
        ["write_date", "create_date"],
      );
      return { ...native, changedAt: maxIso(native.changedAt, ...moves.map(changedAt)) ?? native.changedAt };
    },
    idOf: (n) => pairId({ warehouse: n.warehouse.id, product: n.product.id }),
    updatedAtOf: (n) => n.changedAt,
    toCanonical(n): InventoryLevelInput {
      if (!n.product.code) {
        throw new SyncError(
          "data",
          `stock of product.product ${n.product.id} in ${n.warehouse.code}: the variant has no code`,
          {
            system: ctx.name,
            field: "sku",
          },
        );
      }
      const sku = n.product.code;
      const restock = n.leadTimeDays !== undefined ? { leadTimeDays: n.leadTimeDays } : {};
      if (n.kit) {
        // A kit has no stock of its own: the kits its components' available-to-sell makes (core/kit.ts).
        const kit = n.kit;
        const components = canonicalComponents(ctx, sku, kit.components);
        const availableOf = new Map(
          kit.components.flatMap((c) => {
            const level = kit.stock[c.product];
            return c.code && level ? [[c.code, availableToSell(levelOf(level))]] : [];
          }),
        );
        return {
          source: ctx.name,
          sourceId: pairId({ warehouse: n.warehouse.id, product: n.product.id }),
          updatedAt: n.changedAt,
          key: `${sku}@${n.warehouse.code}`,
          sku,
          location: n.warehouse.code,
          onHand: kitAvailable(components, availableOf),
          reserved: 0,
          safetyStock: 0,
        };
      }
      const { onHand, reserved } = levelOf(n);
      return {
        ...restock,
        source: ctx.name,
        sourceId: pairId({ warehouse: n.warehouse.id, product: n.product.id }),
        updatedAt: n.changedAt,
        key: `${n.product.code}@${n.warehouse.code}`,
        sku: n.product.code,
        location: n.warehouse.code,
        onHand,
        reserved,
        safetyStock: 0,
      };
    },
  };
}

import { SyncError } from "../../../core/errors.ts";
import type { InventoryLevelInput } from "../../../core/model.ts";
import type { ListRequest, Stream } from "../../../ports/connector.ts";
import { changedAt, maxIso } from "../codec.ts";
import type { TrytonContext } from "../context.ts";
import { id, num, str } from "../fields.ts";
import { byKeys, changedSince, stampedPages } from "../paging.ts";

export interface InventoryNative {
  warehouse: { id: number; code: string };
  product: { id: number; code: string | undefined };
  /** On hand in the warehouse's storage zone. */
  quantity: number;
  /** On hand minus everything already promised out of it (and plus what is expected in). */
  forecast: number;
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

const GOODS = [["template.type", "=", "goods"]];
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
export function inventoryStream(ctx: TrytonContext): Stream<"inventory", InventoryNative> {
  const { client } = ctx;

  const load = async (keys: PairKey[], whs: Warehouse[], signal?: AbortSignal) => {
    const out = new Map<string, InventoryNative>();
    for (const wh of whs) {
      const productIds = keys.filter((k) => k.warehouse === wh.id).map((k) => k.product);
      if (productIds.length === 0) continue;
      const rows = await client.searchRead(
        "product.product",
        [["id", "in", productIds], ...GOODS],
        ["code", "quantity", "forecast_quantity", "write_date", "create_date"],
        { context: { locations: [wh.storage] }, signal },
      );
      for (const row of rows) {
        out.set(pairId({ warehouse: wh.id, product: row.id }), {
          warehouse: { id: wh.id, code: wh.code },
          product: { id: row.id, code: str(row, "code") },
          quantity: num(row, "quantity"),
          forecast: num(row, "forecast_quantity"),
          changedAt: changedAt(row) ?? "1970-01-01T00:00:00.000Z",
        });
      }
    }
    return out;
  };

  const index = async (req: ListRequest, whs: Warehouse[]) => {
    const since = req.since?.updatedAt ?? null;
    const storage = whs.map((w) => w.storage);
    const [moves, products] = await Promise.all([
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
        [...GOODS, ...changedSince(since)],
        ["write_date", "create_date"],
        {
          signal: req.signal,
        },
      ),
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
        if (wh !== undefined) bump({ warehouse: wh, product }, changedAt(m));
      }
    }
    for (const p of products) for (const wh of whs) bump({ warehouse: wh.id, product: p.id }, changedAt(p));
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
      const onHand = Math.floor(n.quantity);
      const reserved = Math.max(0, Math.ceil(n.quantity - n.forecast));
      return {
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

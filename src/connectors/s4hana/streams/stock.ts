/**
 * Stock per storage location: A_MatlStkInAcctMod of API_MATERIAL_STOCK_SRV, one quantity per material, plant,
 * storage location, batch, special stock and stock type, in the material's base unit
 * (MatlWrhsStkQtyInMatlBaseUnit). A canonical stock location is a plant's storage location (`1010/101A`);
 * the plants are the connection's `stockPlants`.
 *
 * Read: the company's own stock only (InventorySpecialStockType '' — consignment, sales order or project
 * stock is kept for someone and sold by no shop) and only what lies in a storage location (StorageLocation
 * not '': stock in transfer between plants lies in none). The lines of one storage location (its batches
 * and stock types) make one canonical level:
 * - on hand: every stock type together, rounded down;
 * - available: unrestricted-use stock (InventoryStockType 01) only, rounded down — stock in quality
 *   inspection, blocked or restricted-use stock is at the location but not for sale; it is reported as
 *   reserved (on hand less the unrestricted-use part, never below zero), so the canonical available to sell
 *   (on hand − reserved) is the unrestricted-use stock, rounded towards selling less.
 * A quantity that is not a decimal fails that level, naming the field and the value.
 *
 * The service keeps no change stamp on stock: the stream is a snapshot (as NetSuite's and Acumatica's),
 * read in key order, every level stamped with the time the read began; not resumable from a cursor.
 */
import Big from "big.js";
import { SyncError } from "../../../core/errors.ts";
import type { InventoryLevelInput } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { S4Row } from "../client.ts";
import type { S4HanaContext } from "../context.ts";
import { literal } from "../odata.ts";

const MS = "API_MATERIAL_STOCK_SRV" as const;
const SET = "A_MatlStkInAcctMod";
/** The stock type of unrestricted-use stock, the one a shop may sell. */
export const UNRESTRICTED = "01";

export const STOCK_SELECT = [
  "Material",
  "Plant",
  "StorageLocation",
  "Batch",
  "InventoryStockType",
  "MaterialBaseUnit",
  "MatlWrhsStkQtyInMatlBaseUnit",
] as const;
const ORDER = "Material asc,Plant asc,StorageLocation asc,Batch asc,InventoryStockType asc";

/** The stock lines of one material in one storage location, as read at `at`. */
export interface StockLevelRow {
  sku: string;
  plant: string;
  storageLocation: string;
  lines: S4Row[];
  at: string;
}

const locationOf = (r: Pick<StockLevelRow, "plant" | "storageLocation">) => `${r.plant}/${r.storageLocation}`;
export const stockIdOf = (r: StockLevelRow) => `${r.sku}@${locationOf(r)}`;

/** The `$filter` of the connection's own stock in storage locations of its plants. */
export function stockFilter(ctx: S4HanaContext, extra: string[] = []): string {
  const plants = ctx.config.stockPlants.map((p) => `Plant eq ${literal(p)}`);
  return [
    plants.length > 1 ? `(${plants.join(" or ")})` : (plants[0] as string),
    "StorageLocation ne ''",
    "InventorySpecialStockType eq ''",
    ...extra,
  ].join(" and ");
}

/** Rounded towards selling less: down, and away from zero below it (big.js has no floor mode). */
const floor = (q: Big): number => q.round(0, q.gte(0) ? Big.roundDown : Big.roundUp).toNumber();

export function stockLevelOf(ctx: S4HanaContext, r: StockLevelRow): InventoryLevelInput {
  const id = stockIdOf(r);
  let total = new Big(0);
  let unrestricted = new Big(0);
  for (const line of r.lines) {
    const v = line.MatlWrhsStkQtyInMatlBaseUnit;
    const text = typeof v === "number" ? String(v) : v;
    if (typeof text !== "string" || !/^-?\d+(\.\d+)?$/.test(text)) {
      throw new SyncError(
        "data",
        `stock ${id}: MatlWrhsStkQtyInMatlBaseUnit ${JSON.stringify(v)} (stock type ${String(line.InventoryStockType)}) is not a quantity`,
        { system: ctx.name, field: "MatlWrhsStkQtyInMatlBaseUnit" },
      );
    }
    total = total.plus(text);
    if (line.InventoryStockType === UNRESTRICTED) unrestricted = unrestricted.plus(text);
  }
  const onHand = floor(total);
  return {
    source: ctx.name,
    sourceId: id,
    updatedAt: r.at,
    key: id,
    sku: r.sku,
    location: locationOf(r),
    onHand,
    // What is on hand but not unrestricted use, so that on hand − reserved is the unrestricted-use stock.
    reserved: Math.max(0, onHand - floor(unrestricted)),
    safetyStock: 0,
  };
}

const groupKey = (line: S4Row) =>
  `${String(line.Material)}\u0000${String(line.Plant)}\u0000${String(line.StorageLocation)}`;

export function stockStream(ctx: S4HanaContext): Stream<"inventory", StockLevelRow> {
  const levelOf = (lines: S4Row[], at: string): StockLevelRow => {
    const first = lines[0] as S4Row;
    return {
      sku: String(first.Material ?? ""),
      plant: String(first.Plant ?? ""),
      storageLocation: String(first.StorageLocation ?? ""),
      lines,
      at,
    };
  };
  return {
    entity: "inventory",
    // A snapshot: no change stamp to order by or resume from.
    sorted: false,
    async *list(req) {
      const at = new Date().toISOString();
      // A storage location's lines may straddle two pages: the last level of a page waits for the next.
      let open: S4Row[] = [];
      for await (const page of ctx.client.list(MS, SET, {
        filter: stockFilter(ctx),
        orderby: ORDER,
        select: STOCK_SELECT,
        pageSize: Math.max(1, Math.min(req.pageSize, ctx.config.pageSize)),
        ...(req.signal ? { signal: req.signal } : {}),
      })) {
        const out: StockLevelRow[] = [];
        for (const line of page) {
          if (open.length > 0 && groupKey(open[0] as S4Row) !== groupKey(line)) {
            out.push(levelOf(open, at));
            open = [];
          }
          open.push(line);
        }
        if (out.length > 0) yield out;
      }
      if (open.length > 0) yield [levelOf(open, at)];
    },
    async get(id) {
      const m = /^(.{1,40})@([A-Z0-9]{1,4})\/([A-Za-z0-9]{1,4})$/.exec(id);
      if (!m) return null;
      const [, sku, plant, sloc] = m as unknown as [string, string, string, string];
      if (!ctx.config.stockPlants.includes(plant)) return null;
      const lines: S4Row[] = [];
      for await (const page of ctx.client.list(MS, SET, {
        filter: stockFilter(ctx, [
          `Material eq ${literal(sku)}`,
          `Plant eq ${literal(plant)}`,
          `StorageLocation eq ${literal(sloc)}`,
        ]),
        orderby: ORDER,
        select: STOCK_SELECT,
        pageSize: ctx.config.pageSize,
      }))
        lines.push(...page);
      return lines.length > 0 ? levelOf(lines, new Date().toISOString()) : null;
    },
    idOf: stockIdOf,
    updatedAtOf: (r) => r.at,
    toCanonical: (r) => stockLevelOf(ctx, r),
  };
}

/**
 * The benchmark catalogue: a deterministic (seeded) Odoo catalogue of products with 1–4 variants, three
 * customer-group price lists (some with quantity breaks) and stock in two warehouses, sized by the number
 * of catalogue records it holds: products + prices (one per variant and list) + stock levels (one per
 * variant and warehouse). One product template yields about 13 such records, so 10k records is about 770
 * products. The same size and seed always give the same catalogue.
 *
 *   node --import tsx bench/dataset.ts 100k     prints the counts for a size
 */
import { pathToFileURL } from "node:url";
import { type OdooEmulator, startOdooEmulator } from "@passerelle/emulators";

export const SIZES = { "10k": 10_000, "100k": 100_000, "1M": 1_000_000 } as const;
export type DatasetSize = number;

/** Catalogue records per product template with the emulator's seed (measured: 13.04 at seed 1). */
export const RECORDS_PER_PRODUCT = 13;

export interface DatasetCounts {
  products: number;
  variants: number;
  prices: number;
  stock: number;
  total: number;
}

export interface Dataset {
  counts: DatasetCounts;
  /**
   * Changes `fraction` of each kind of record (every k-th product's title, price list item's price and
   * stock level's quantity), deterministically; `round` makes each call's values new.
   */
  change(fraction: number, round: number): DatasetCounts;
}

export function parseSize(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const named = (SIZES as Record<string, number>)[text];
  if (named !== undefined) return named;
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text);
  if (!m) throw new Error(`size must be 10k, 100k, 1M or a number of records, got ${JSON.stringify(text)}`);
  const mult = m[2]?.toLowerCase() === "k" ? 1_000 : m[2]?.toLowerCase() === "m" ? 1_000_000 : 1;
  return Math.round(Number(m[1]) * mult);
}

export function productsFor(records: number): number {
  return Math.max(1, Math.round(records / RECORDS_PER_PRODUCT));
}

function every<T>(items: T[], fraction: number): T[] {
  const step = Math.max(1, Math.round(1 / fraction));
  return items.filter((_, i) => i % step === 0);
}

/** An Odoo emulator seeded with the catalogue of `records` records. */
export async function startDataset(
  records: number,
  seedValue: number,
): Promise<{ odoo: OdooEmulator; dataset: Dataset }> {
  const odoo = await startOdooEmulator({
    products: productsFor(records),
    customers: 0,
    orders: 0,
    seed: seedValue,
  });
  return { odoo, dataset: describeDataset(odoo) };
}

function describeDataset(odoo: OdooEmulator): Dataset {
  const db = odoo.data;
  const templates = db.search("product.template", [["type", "!=", "service"]]);
  const variants = db.search("product.product", [["product_tmpl_id", "in", templates]]);
  const baseItems = db.search("product.pricelist.item", [
    ["product_id", "in", variants],
    ["min_quantity", "<=", 1],
  ]);
  const quants = db.search("stock.quant", [["product_id", "in", variants]]);
  const counts = {
    products: templates.length,
    variants: variants.length,
    prices: baseItems.length,
    stock: quants.length,
    total: templates.length + baseItems.length + quants.length,
  };
  return {
    counts,
    change(fraction, round) {
      const t = every(templates, fraction);
      for (const id of t) {
        const row = db.row("product.template", id);
        odoo.touch("product.template", id, {
          name: `${String(row?.name).replace(/ \(r\d+\)$/, "")} (r${round})`,
        });
      }
      const p = every(baseItems, fraction);
      for (const id of p) {
        const row = db.row("product.pricelist.item", id);
        odoo.touch("product.pricelist.item", id, { fixed_price: Number(row?.fixed_price ?? 0) + 0.01 });
      }
      const q = every(quants, fraction);
      for (const id of q) {
        const row = db.row("stock.quant", id);
        odoo.touch("stock.quant", id, { quantity: Number(row?.quantity ?? 0) + 1 });
      }
      return {
        products: t.length,
        variants: 0,
        prices: p.length,
        stock: q.length,
        total: t.length + p.length + q.length,
      };
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const records = parseSize(process.argv[2], SIZES["10k"]);
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const { odoo, dataset } = await startDataset(records, Number(process.argv[3] ?? 1));
  const { counts } = dataset;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    JSON.stringify({
      records,
      ...counts,
      seedMs: Math.round(performance.now() - started),
      seedCpuMs: Math.round((cpu.user + cpu.system) / 1000),
      heapUsedMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    }),
  );
  await odoo.close();
}

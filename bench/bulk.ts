/**
 * Scenario 3b, bulk operations: the products flow under the Standard plan's cost bucket (1,000 points,
 * 100 points/s), written once per record (one productSet call each) and through bulk mutations (staged
 * JSONL upload, bulkOperationRunMutation, polling `node(id:)`, result JSONL read back per record), with pages
 * of `--page` products (2,000 by default, one bulk operation per page). The bulk side runs twice, before
 * and after the per-record side, and the slower of the two is compared. The per-record side runs on
 * `--sample` products (300 by default; at 10 points a call it needs ~100 s per 1,000 products): with a
 * sample as large as `--products` its time is measured, with a smaller one it is extrapolated from its
 * steady rate (the starting bucket taken off) and labelled so.
 *
 *   node --import tsx bench/bulk.ts [--products 10000] [--sample 300] [--page 2000]
 *   node --import tsx bench/bulk.ts --products 10000 --sample 10000 --page 2000   # nothing extrapolated
 */
import { pathToFileURL } from "node:url";
import { ShopifyConfig } from "../src/connectors/shopify/config.ts";
import { createShopifyConnector } from "../src/connectors/shopify/index.ts";
import type { Flow } from "../src/engine/flow.ts";
import { RECORDS_PER_PRODUCT } from "./dataset.ts";
import { argValue, loadAverages, measure, peakRssMb, perSecond, ratio, saveResult } from "./lib/measure.ts";
import { openPasserelle } from "./lib/passerelle.ts";
import { startSystems } from "./lib/systems.ts";
import { STANDARD_PLAN } from "./rate-limited.ts";

async function productsRun(products: number, bulkPage: number | null) {
  const sys = await startSystems({ size: products * RECORDS_PER_PRODUCT, seed: 1, rateLimit: STANDARD_PLAN });
  const p = await openPasserelle(sys.env);
  try {
    const base = p.ctx.flow("products");
    const env = sys.env;
    const flow: Flow =
      bulkPage === null
        ? base
        : {
            ...base,
            batchSize: bulkPage,
            target: createShopifyConnector(
              "shopify",
              ShopifyConfig.parse({
                shop: env.SHOPIFY_SHOP,
                accessToken: env.SHOPIFY_ACCESS_TOKEN,
                endpoint: env.SHOPIFY_ENDPOINT,
                bulkThreshold: Math.min(bulkPage, 1000),
              }),
            ),
          };
    await sys.reset();
    const m = await measure(() => p.ctx.engine.run(flow));
    const s = await sys.stats();
    const c = m.value.counts;
    return {
      products: sys.counts.products,
      ms: m.ms,
      cpuMs: m.cpuMs,
      written: c.created + c.updated,
      failed: c.failed,
      error: m.value.error?.message ?? null,
      recordsPerSecond: perSecond(c.created + c.updated, m.ms),
      shopifyCalls: s.shopify.calls,
      costSpent: s.shopify.costSpent,
      throttled: s.shopify.throttled,
      bulkOperations: s.bulk?.operations ?? 0,
      shopProducts: s.shop.products,
    };
  } finally {
    await p.close();
    await sys.close();
  }
}

const load = loadAverages;

export async function bulkScenario(
  products: number,
  sample: number,
  page: number,
): Promise<Record<string, unknown>> {
  // Bulk, per-record, bulk again: the two bulk runs bracket the per-record one, so a change of load on the
  // shared machine during the run shows up as a difference between them. Load averages (1, 5, 15 min) are
  // recorded at each start and end.
  const loadAt: Record<string, number[]> = { start: load() };
  const bulk = await productsRun(products, page);
  loadAt.afterBulk = load();
  const perRecord = await productsRun(sample, null);
  loadAt.afterPerRecord = load();
  const bulkAgain = await productsRun(products, page);
  loadAt.end = load();
  const slowerBulk = bulkAgain.ms > bulk.ms ? bulkAgain : bulk;

  // The per-record side starts with a full bucket (1,000 points ≈ 100 productSet calls for free). Its
  // steady rate leaves those out: the products the starting bucket paid for, at the measured points per
  // product, are taken off before dividing by the time.
  const pointsPerProduct = perRecord.written > 0 ? perRecord.costSpent / perRecord.written : 0;
  const freeProducts = pointsPerProduct > 0 ? STANDARD_PLAN.maximumAvailable / pointsPerProduct : 0;
  const steadyPerSecond =
    perRecord.ms > 0 ? Math.max(0, perRecord.written - freeProducts) / (perRecord.ms / 1000) : 0;
  // Measured when the sample is the whole catalogue; else extrapolated from the steady rate, and labelled.
  // A sample the starting bucket pays for more than half of says too little about the steady rate.
  const measured = perRecord.written >= products;
  const perRecordMs = measured
    ? perRecord.ms
    : steadyPerSecond > 0 && perRecord.written > 2 * freeProducts
      ? Math.round(((products - freeProducts) / steadyPerSecond) * 1000)
      : null;
  const times = (bulkMs: number) =>
    perRecordMs === null ? null : Math.round((perRecordMs / Math.max(1, bulkMs)) * 10) / 10;
  const speedup = times(slowerBulk.ms);
  return {
    plan: STANDARD_PLAN,
    load: loadAt,
    perRecord: {
      ...perRecord,
      pointsPerProduct: Math.round(pointsPerProduct * 10) / 10,
      steadyRecordsPerSecond: Math.round(steadyPerSecond * 10) / 10,
      msFor: {
        products,
        ms: perRecordMs,
        label: measured
          ? "measured"
          : perRecordMs === null
            ? "sample too small to extrapolate (the starting bucket paid for most of it)"
            : "extrapolated from the steady rate",
      },
    },
    bulk,
    bulkAgain,
    rawRateSpeedup: ratio(slowerBulk.recordsPerSecond, perRecord.recordsPerSecond),
    speedup,
    speedupBest: times(Math.min(bulk.ms, bulkAgain.ms)),
    speedupBasis: `per-record time for ${products} products (${measured ? "measured" : "extrapolated"}) / the slower bulk run`,
    target: "bulk ≥ 10 × faster than per-record calls under the same rate limit (≥ 10k changes)",
    met:
      (speedup ?? 0) >= 10 &&
      Math.min(bulk.written, bulkAgain.written) >= 10_000 &&
      bulk.throttled + bulkAgain.throttled === 0,
    peakRssMb: peakRssMb(),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const products = Number(argValue("products") ?? 10_000);
  const result = await bulkScenario(
    products,
    Number(argValue("sample") ?? 300),
    Number(argValue("page") ?? 2_000),
  );
  const path = saveResult(`bulk-${products}`, result);
  console.log(JSON.stringify(result, null, 2));
  console.log(`saved ${path}`);
}

/**
 * The content hash of canonical records (src/core/hash.ts) against JSON.stringify of the same records, in
 * one run: `stableStringify` (keys sorted at every depth, what the link store's hashes are made of) and
 * `contentHash` (that text's sha256) per record, as ratios to `JSON.stringify` (no sorting) and to sha256
 * of `JSON.stringify`. CPU time of this process, interleaved rounds, the median kept.
 *
 *   node --import tsx bench/hash.ts [--records 20000] [--rounds 5]
 */
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { contentHash, stableStringify } from "../src/core/hash.ts";
import { loadAverages, ratio, saveResult } from "./lib/measure.ts";

const { values } = parseArgs({
  options: { records: { type: "string", default: "20000" }, rounds: { type: "string", default: "5" } },
});
const count = Number(values.records);
const rounds = Number(values.rounds);
if (!Number.isInteger(count) || count < 1)
  throw new Error(`--records must be a positive integer, got ${values.records}`);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);

/** A product as the catalogue flow hashes it: four variants, nested options, translations, some undefined. */
const product = (i: number) => ({
  source: "erp",
  sourceId: String(i),
  updatedAt: "2026-12-01T10:00:00Z",
  key: `SKU-${i}`,
  title: `Product ${i}`,
  description: "<p>A fine product for every day.</p>",
  currency: "EUR",
  vendor: "ACME",
  tags: ["garden", "outdoor", `batch-${i % 7}`],
  category: undefined,
  active: true,
  variants: Array.from({ length: 4 }, (_, j) => ({
    sku: `SKU-${i}-${j}`,
    price: "12.50",
    compareAtPrice: undefined,
    barcode: `40000${i}${j}`,
    weight: { value: "1.2", unit: "kg" },
    options: { Colour: j % 2 ? "Red" : "Blue", Size: String(36 + j) },
  })),
  images: [{ url: `https://cdn.example.com/p/${i}.jpg`, alt: `Product ${i}` }],
  translations: { de: { title: `Produkt ${i}` }, fr: { title: `Produit ${i}` } },
});
const records = Array.from({ length: count }, (_, i) => product(i));

function cpuUsPerRecord(f: (r: (typeof records)[number]) => string): number {
  const t0 = process.cpuUsage();
  let n = 0;
  for (const r of records) n += f(r).length;
  const u = process.cpuUsage(t0);
  if (n === 0) throw new Error("nothing written");
  return (u.user + u.system) / records.length;
}

const sides = {
  "JSON.stringify": (r: (typeof records)[number]) => JSON.stringify(r),
  stableStringify: (r: (typeof records)[number]) => stableStringify(r),
  "sha256(JSON.stringify)": (r: (typeof records)[number]) =>
    createHash("sha256").update(JSON.stringify(r)).digest("hex"),
  contentHash: (r: (typeof records)[number]) => contentHash("product", r),
};
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
const loadBefore = loadAverages();
cpuUsPerRecord(sides.stableStringify); // warm-up
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? Object.keys(sides) : Object.keys(sides).reverse();
  for (const name of order) samples[name]?.push(cpuUsPerRecord(sides[name as keyof typeof sides]));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const us = Object.fromEntries(
  Object.entries(samples).map(([k, xs]) => [k, Math.round(median(xs) * 100) / 100]),
);
const result = {
  records: count,
  rounds,
  loadBefore,
  loadAfter: loadAverages(),
  usPerRecord: us,
  ratios: {
    stableStringifyVsJson: ratio(us.stableStringify ?? 0, us["JSON.stringify"] ?? 0),
    contentHashVsSha256Json: ratio(us.contentHash ?? 0, us["sha256(JSON.stringify)"] ?? 0),
  },
};
console.log(JSON.stringify(result, null, 2));
console.log(`saved ${saveResult("hash", result)}`);

/**
 * Scenario 3, rate-limited push: the catalogue flows against a Shopify emulator that enforces the
 * calculated-cost leaky bucket of the Standard plan (1,000 points, 100 points/s restored). Reports the share
 * of the budget used over the run — cost actually charged ÷ (the bucket at the start + restore rate × the
 * Shopify-bound time) — also with the starting bucket taken off (`budgetUsedAfterStart`), and the number of
 * Throttled answers. Target ≥ 95 %, 0 throttled.
 *
 *   node --import tsx bench/rate-limited.ts [--size 2k] [--restore 100] [--bucket 1000]
 */
import { pathToFileURL } from "node:url";
import { parseSize } from "./dataset.ts";
import { argValue, measure, peakRssMb, saveResult } from "./lib/measure.ts";
import { openPasserelle, totals } from "./lib/passerelle.ts";
import { startSystems } from "./lib/systems.ts";

export const STANDARD_PLAN = { enabled: true, maximumAvailable: 1_000, restoreRate: 100 };

/**
 * The share of the restored points used: the starting bucket taken off what was spent (as if it had all
 * been spent at once), divided by what the restore rate gave over the run. A short run is otherwise
 * mostly its starting bucket, which says nothing about pacing.
 */
function afterStart(spent: number, plan: typeof STANDARD_PLAN, ms: number): number {
  const restored = (plan.restoreRate * ms) / 1000;
  return restored > 0 ? Math.round(((spent - plan.maximumAvailable) / restored) * 1000) / 10 : 0;
}

export async function rateLimitedScenario(
  size: number,
  plan = STANDARD_PLAN,
  flows: readonly string[] = ["products", "prices", "stock"],
): Promise<Record<string, unknown>> {
  const sys = await startSystems({ size, seed: 1, rateLimit: plan });
  const p = await openPasserelle(sys.env);
  try {
    const perFlow = [];
    let spent = 0;
    let throttled = 0;
    let ms = 0;
    let boundMs = 0;
    for (const flow of flows) {
      await sys.reset();
      // The Shopify-bound stretch of the flow: from its first Shopify call to its last, sampled every
      // 100 ms. Before the first call (the first Odoo pages are read) the bucket is full and restores
      // nothing; that time says nothing about pacing.
      const t0 = performance.now();
      let firstCallMs: number | null = null;
      let lastCallMs = 0;
      let lastCalls = 0;
      let sampling = Promise.resolve();
      const sampler = setInterval(() => {
        sampling = sampling.then(async () => {
          const calls = (await sys.stats()).shopify.calls;
          const at = performance.now() - t0;
          if (calls > 0 && firstCallMs === null) firstCallMs = at;
          if (calls !== lastCalls) lastCallMs = at;
          lastCalls = calls;
        });
      }, 100);
      const m = await measure(() => p.sync([flow]));
      clearInterval(sampler);
      await sampling;
      const s = await sys.stats();
      const activeMs = Math.max(1, lastCallMs - (firstCallMs ?? 0));
      const t = totals(m.value);
      // What the shop allowed over the flow: a full bucket at the start plus what it restored meanwhile.
      const allowed = plan.maximumAvailable + (plan.restoreRate * m.ms) / 1000;
      perFlow.push({
        flow,
        ms: m.ms,
        read: t.read,
        written: t.written,
        calls: s.shopify.calls,
        costSpent: s.shopify.costSpent,
        throttled: s.shopify.throttled,
        budgetUsed: Math.round((s.shopify.costSpent / allowed) * 1000) / 10,
        budgetUsedAfterStart: afterStart(s.shopify.costSpent, plan, m.ms),
        shopifyBoundMs: Math.round(activeMs),
        budgetUsedWhileShopifyBound:
          Math.round(
            (s.shopify.costSpent / (plan.maximumAvailable + (plan.restoreRate * activeMs) / 1000)) * 1000,
          ) / 10,
      });
      spent += s.shopify.costSpent;
      boundMs += activeMs;
      throttled += s.shopify.throttled;
      ms += m.ms;
      // Let the bucket refill between flows, so each starts full as the formula assumes.
      await new Promise((r) => setTimeout(r, Math.ceil((plan.maximumAvailable / plan.restoreRate) * 1000)));
    }
    const allowed = flows.length * plan.maximumAvailable + (plan.restoreRate * ms) / 1000;
    const budgetUsed = Math.round((spent / allowed) * 1000) / 10;
    const budgetUsedAfterStart = afterStart(spent - (flows.length - 1) * plan.maximumAvailable, plan, ms);
    const whileBound =
      Math.round(
        (spent / (flows.length * plan.maximumAvailable + (plan.restoreRate * boundMs) / 1000)) * 1000,
      ) / 10;
    return {
      size,
      dataset: sys.counts,
      plan,
      ms,
      costSpent: spent,
      budgetUsedPercent: budgetUsed,
      budgetUsedAfterStartPercent: budgetUsedAfterStart,
      shopifyBoundMs: Math.round(boundMs),
      budgetUsedWhileShopifyBoundPercent: whileBound,
      throttled,
      perFlow,
      target: "≥ 95 % of the budget used, 0 throttled",
      // Judged on the Shopify-bound stretch; the whole-flow figures are reported beside it.
      met: whileBound >= 95 && throttled === 0,
      peakRssMb: peakRssMb(),
    };
  } finally {
    await p.close();
    await sys.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const size = parseSize(argValue("size"), 2_000);
  const plan = {
    enabled: true,
    maximumAvailable: Number(argValue("bucket") ?? STANDARD_PLAN.maximumAvailable),
    restoreRate: Number(argValue("restore") ?? STANDARD_PLAN.restoreRate),
  };
  const result = await rateLimitedScenario(size, plan);
  const path = saveResult(`rate-limited-${size}`, result);
  console.log(JSON.stringify(result, null, 2));
  console.log(`saved ${path}`);
}

/**
 * Prices. A price of a base list (basePriceLists) is the product's own price (`/products/base-prices`); any
 * other list is its customer group's tier prices: a row at quantity 1 for the price, one per tier break,
 * for the connection's website (0: every website). Magento's price storage answers 200 with a list of the
 * rows it refused; a record whose row is refused fails alone. The group's rows held are read first
 * (`tier-prices-information`) and only what differs is written or deleted.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Price } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { callsFor, distinct, toWrite } from "../../call-estimate.ts";
import { failed, perItem } from "../../write-results.ts";
import { type MagentoClient, magentoMessage } from "../client.ts";
import { type MagentoLookups, SKU_CHUNK } from "../lookup.ts";

const Tier = z.object({
  price: z.number(),
  price_type: z.string(),
  website_id: z.number().int(),
  sku: z.string(),
  customer_group: z.string(),
  quantity: z.number(),
});
type Tier = z.infer<typeof Tier>;
const Failures = z.array(z.object({ message: z.string(), parameters: z.array(z.string()).nullish() }));
const Base = z.array(z.object({ price: z.number(), store_id: z.number().int(), sku: z.string() }));

const said = (f: { message: string; parameters?: string[] | null | undefined }) =>
  magentoMessage(JSON.stringify(f)) ?? f.message;

export function priceWriter(system: string, client: MagentoClient, lookups: MagentoLookups): Writer<"price"> {
  const config = client.config;
  const isBase = (p: Price) => config.basePriceLists.includes(p.priceList.code);

  async function held(skus: string[]): Promise<Tier[]> {
    const rows: Tier[] = [];
    for (let i = 0; i < skus.length; i += SKU_CHUNK) {
      rows.push(
        ...(await client.read(
          "all",
          "/products/tier-prices-information",
          { skus: skus.slice(i, i + SKU_CHUNK) },
          z.array(Tier),
          "tier prices",
        )),
      );
    }
    return rows;
  }

  return {
    entity: "price",
    async upsert(items) {
      const results = new Map<string, WriteResult>();
      const products = await lookups.products(items.map((i) => i.record.sku));
      const known = items.filter((i) => {
        if (products.has(i.record.sku)) return true;
        results.set(
          i.key,
          failed(
            i.key,
            "permanent",
            `Magento has no product with SKU ${JSON.stringify(i.record.sku)}`,
            system,
            "sku",
          ),
        );
        return false;
      });
      // Base prices.
      const base = known.filter((i) => isBase(i.record));
      if (base.length > 0) {
        const current = await client.read(
          "all",
          "/products/base-prices-information",
          { skus: [...new Set(base.map((i) => i.record.sku))] },
          Base,
          "base prices",
        );
        const change = base.filter(
          (i) =>
            current.find((c) => c.sku === i.record.sku && c.store_id === 0)?.price !== Number(i.record.price),
        );
        const refused = change.length
          ? await client.write(
              "POST",
              "all",
              "/products/base-prices",
              {
                prices: change.map((i) => ({
                  price: Number(i.record.price),
                  store_id: 0,
                  sku: i.record.sku,
                })),
              },
              Failures,
              "base prices",
            )
          : [];
        for (const i of base) {
          const f = refused.find((r) => (r.parameters ?? []).includes(i.record.sku));
          results.set(
            i.key,
            f
              ? failed(
                  i.key,
                  "permanent",
                  `Magento refused the price of ${i.record.sku}: ${said(f)}`,
                  system,
                  "price",
                )
              : {
                  key: i.key,
                  ok: true,
                  targetId: `base:${i.record.sku}`,
                  action: !change.includes(i) ? "unchanged" : i.targetId ? "updated" : "created",
                },
          );
        }
      }
      // Customer-group tier prices.
      const tiered = known.filter((i) => !isBase(i.record));
      if (tiered.length > 0) {
        const rows = await held([...new Set(tiered.map((i) => i.record.sku))]);
        const upserts: { key: string; row: Tier }[] = [];
        const deletes: Tier[] = [];
        const plans = new Map<string, { group: string; changed: boolean }>();
        for (const i of tiered) {
          const r = await perItem(i.key, system, async () => {
            const group = await lookups.groupFor(i.record.priceList.customerGroup);
            if (!group)
              throw new SyncError(
                "permanent",
                `Magento has no customer group ${JSON.stringify(config.groupMap?.[i.record.priceList.customerGroup] ?? i.record.priceList.customerGroup)} for price list ${i.record.priceList.code}: create it or map it in groupMap`,
                { system, field: "priceList.customerGroup" },
              );
            const want: Tier[] = [
              { quantity: 1, price: i.record.price },
              ...i.record.tiers.map((t) => ({ quantity: t.minQuantity, price: t.price })),
            ].map((t) => ({
              sku: i.record.sku,
              website_id: config.websiteId,
              customer_group: group,
              quantity: t.quantity,
              price: Number(t.price),
              price_type: "fixed",
            }));
            const mine = rows.filter(
              (h) =>
                h.sku === i.record.sku &&
                h.website_id === config.websiteId &&
                h.customer_group.toLowerCase() === group.toLowerCase(),
            );
            let changed = false;
            for (const w of want) {
              const h = mine.find((x) => x.quantity === w.quantity);
              if (!h || h.price !== w.price || h.price_type !== w.price_type) {
                upserts.push({ key: i.key, row: w });
                changed = true;
              }
            }
            for (const h of mine) {
              if (!want.some((w) => w.quantity === h.quantity)) {
                deletes.push(h);
                changed = true;
              }
            }
            plans.set(i.key, { group, changed });
            return { key: i.key, ok: true, targetId: "", action: "unchanged" };
          });
          if (!r.ok) results.set(i.key, r);
        }
        const refused = upserts.length
          ? await client.write(
              "POST",
              "all",
              "/products/tier-prices",
              { prices: upserts.map((u) => u.row) },
              Failures,
              "tier prices",
            )
          : [];
        const refusedDeletes = deletes.length
          ? await client.write(
              "POST",
              "all",
              "/products/tier-prices-delete",
              { prices: deletes },
              Failures,
              "tier prices delete",
            )
          : [];
        for (const i of tiered) {
          const plan = plans.get(i.key);
          if (!plan) continue;
          const f = [...refused, ...refusedDeletes].find(
            (r) =>
              (r.parameters ?? [])[0] === i.record.sku &&
              (r.parameters ?? []).some((p) => p.toLowerCase() === plan.group.toLowerCase()),
          );
          results.set(
            i.key,
            f
              ? failed(
                  i.key,
                  "permanent",
                  `Magento refused the ${plan.group} tier price of ${i.record.sku}: ${said(f)}`,
                  system,
                  "price",
                )
              : {
                  key: i.key,
                  ok: true,
                  targetId: `${config.websiteId}/${plan.group}/${i.record.sku}`,
                  action: !plan.changed ? "unchanged" : i.targetId ? "updated" : "created",
                },
          );
        }
      }
      return items.map((i) => results.get(i.key) ?? failed(i.key, "permanent", "no result", system));
    },
    async findByExternalRef(_ref, record) {
      if (!(await lookups.products([record.sku])).has(record.sku)) return null;
      if (isBase(record)) return `base:${record.sku}`;
      const group = await lookups.groupFor(record.priceList.customerGroup);
      if (!group) return null;
      const rows = await held([record.sku]);
      return rows.some(
        (h) => h.website_id === config.websiteId && h.customer_group.toLowerCase() === group.toLowerCase(),
      )
        ? `${config.websiteId}/${group}/${record.sku}`
        : null;
    },
    // SKU search and tier read per chunk, the groups once, then one upsert and at most one delete call.
    estimateCalls: (page) => {
      const skus = distinct(toWrite(page).map((i) => i.record.sku));
      return toWrite(page).length === 0
        ? page.lookups.length * 3
        : callsFor(skus, SKU_CHUNK) * 2 +
            2 +
            (page.first && !lookups.groupsLoaded ? 1 : 0) +
            page.lookups.length * 3;
    },
  };
}

/**
 * Prices. A price of one of the `basePriceLists` is the variant's own price in the list's currency (Medusa keeps
 * one price per currency on a variant; the others are kept as they are). Any other price list becomes a Medusa
 * price list of type "override" whose rule is the customer group named after the canonical group (created on
 * first use), found again by the code in its metadata; its prices are sent in one batch per list and call.
 * Prices already right are not sent again.
 */
import Big from "big.js";
import { z } from "zod";
import type { Price } from "../../../core/model.ts";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { callsFor, distinct, groupBy, toWrite } from "../../call-estimate.ts";
import { failed, perItem } from "../../write-results.ts";
import { type MedusaClient, q } from "../client.ts";
import { type MedusaLookups, noSku, SKU_CHUNK } from "../lookup.ts";

export const CODE = "passerelle_code";
const GROUP_RULE = "customer.groups.id";

const HeldList = z.object({
  id: z.string(),
  title: z.string(),
  status: z.string(),
  type: z.string(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  rules: z.record(z.string(), z.array(z.string())).nullish(),
  prices: z
    .array(
      z.object({
        id: z.string(),
        amount: z.number(),
        currency_code: z.string(),
        variant_id: z.string().nullish(),
      }),
    )
    .nullish(),
});
type HeldList = z.infer<typeof HeldList>;
/** `*price_list_rules` is what makes Medusa answer `rules` when fields are listed. */
const LIST_FIELDS = "id,title,status,type,metadata,*price_list_rules,*prices,prices.price_set.variant.id";

const same = (a: number | string, b: string) => new Big(a).eq(new Big(b));

export function priceWriter(system: string, client: MedusaClient, lookups: MedusaLookups): Writer<"price"> {
  const isBase = (r: Price) => client.config.basePriceLists.includes(r.priceList.code);

  /** What Medusa cannot hold for a price, as the record's failure. */
  function refused(item: WriteItem<"price">): WriteResult | null {
    const r = item.record;
    if (r.tiers.length > 0)
      return failed(
        item.key,
        "data",
        `${r.key} has ${r.tiers.length} quantity tiers; this connector writes one price per variant and currency`,
        system,
        "tiers",
      );
    if (r.validFrom || r.validTo)
      return failed(
        item.key,
        "data",
        `${r.key} has validFrom/validTo; Medusa keeps validity per price list, not per price`,
        system,
        r.validFrom ? "validFrom" : "validTo",
      );
    return null;
  }

  async function findList(code: string): Promise<HeldList | null> {
    const { price_lists } = await client.get(
      `/admin/price-lists?${q({ q: code, fields: LIST_FIELDS, limit: 100 })}`,
      z.object({ price_lists: z.array(HeldList) }),
      "price list by code",
    );
    return price_lists.find((l) => l.metadata?.[CODE] === code) ?? null;
  }

  /** The list for the canonical price list, created (or its group rule set) when needed. */
  async function ensureList(list: Price["priceList"]): Promise<HeldList> {
    const groupId = (await lookups.group(list.customerGroup, true)) as string;
    const held = await findList(list.code);
    if (!held) {
      const made = await client.write(
        "POST",
        `/admin/price-lists?${q({ fields: LIST_FIELDS })}`,
        {
          title: list.name,
          description: `Prices of customer group ${list.customerGroup} (Passerelle price list ${list.code})`,
          type: "override",
          status: "active",
          rules: { [GROUP_RULE]: [groupId] },
          metadata: { [CODE]: list.code },
        },
        z.object({ price_list: HeldList }),
        "price list create",
      );
      return made.price_list;
    }
    const groups = held.rules?.[GROUP_RULE] ?? [];
    if (
      held.title !== list.name ||
      held.status !== "active" ||
      groups.length !== 1 ||
      groups[0] !== groupId
    ) {
      await client.write(
        "POST",
        `/admin/price-lists/${held.id}?${q({ fields: "id" })}`,
        { title: list.name, status: "active", rules: { [GROUP_RULE]: [groupId] } },
        z.object({}).loose(),
        "price list update",
      );
    }
    return held;
  }

  async function basePrices(items: WriteItem<"price">[]): Promise<WriteResult[]> {
    const variants = await lookups.variants(items.map((i) => i.record.sku));
    const results: WriteResult[] = [];
    for (const item of items) {
      results.push(
        await perItem(item.key, system, async () => {
          const r = item.record;
          const v = variants.get(r.sku);
          if (!v) throw noSku(system, r.sku);
          const cur = r.priceList.currency.toLowerCase();
          const held = v.prices ?? [];
          const own = held.find((p) => p.currency_code === cur);
          if (own && same(own.amount, r.price))
            return { key: item.key, ok: true, targetId: v.id, action: "unchanged" };
          const prices = [
            ...held
              .filter((p) => p.currency_code !== cur)
              .map((p) => ({ id: p.id, currency_code: p.currency_code, amount: Number(p.amount) })),
            { ...(own ? { id: own.id } : {}), currency_code: cur, amount: Number(r.price) },
          ];
          await client.write(
            "POST",
            `/admin/products/${v.product_id}/variants/${v.id}?${q({ fields: "id" })}`,
            { prices },
            z.object({}).loose(),
            "variant prices",
          );
          // Later records of the same variant in this call see the price just written.
          v.prices = prices.map((p) => ({
            id: p.id ?? "",
            currency_code: p.currency_code,
            amount: String(p.amount),
          }));
          return { key: item.key, ok: true, targetId: v.id, action: own ? "updated" : "created" };
        }),
      );
    }
    return results;
  }

  async function listPrices(list: Price["priceList"], items: WriteItem<"price">[]): Promise<WriteResult[]> {
    const held = await ensureList(list);
    const variants = await lookups.variants(items.map((i) => i.record.sku));
    const cur = list.currency.toLowerCase();
    const byVariant = new Map(
      (held.prices ?? [])
        .filter((p) => p.currency_code === cur && p.variant_id)
        .map((p) => [p.variant_id as string, p]),
    );
    const results: WriteResult[] = [];
    const create: { variant_id: string; currency_code: string; amount: number }[] = [];
    const update: { id: string; variant_id: string; currency_code: string; amount: number }[] = [];
    const pending: { item: WriteItem<"price">; targetId: string; action: "created" | "updated" }[] = [];
    const seen = new Set<string>();
    for (const item of items) {
      const r = item.record;
      const v = variants.get(r.sku);
      if (!v) {
        results.push({ key: item.key, ok: false, error: noSku(system, r.sku) });
        continue;
      }
      const targetId = `${held.id}/${v.id}`;
      const p = byVariant.get(v.id);
      if (p && same(p.amount, r.price)) {
        results.push({ key: item.key, ok: true, targetId, action: "unchanged" });
        continue;
      }
      if (seen.has(v.id)) {
        results.push(
          failed(
            item.key,
            "data",
            `${r.sku} appears twice in price list ${list.code} in one batch`,
            system,
            "sku",
          ),
        );
        continue;
      }
      seen.add(v.id);
      if (p) update.push({ id: p.id, variant_id: v.id, currency_code: cur, amount: Number(r.price) });
      else create.push({ variant_id: v.id, currency_code: cur, amount: Number(r.price) });
      pending.push({ item, targetId, action: p ? "updated" : "created" });
    }
    if (pending.length > 0) {
      await client.write(
        "POST",
        `/admin/price-lists/${held.id}/prices/batch`,
        { create, update, delete: [] },
        z.object({}).loose(),
        "price list prices batch",
      );
    }
    for (const p of pending)
      results.push({ key: p.item.key, ok: true, targetId: p.targetId, action: p.action });
    return results;
  }

  return {
    entity: "price",
    async upsert(items) {
      const results: WriteResult[] = [];
      const ok: WriteItem<"price">[] = [];
      for (const item of items) {
        const bad = refused(item);
        if (bad) results.push(bad);
        else ok.push(item);
      }
      const base = ok.filter((i) => isBase(i.record));
      if (base.length > 0) results.push(...(await basePrices(base)));
      const lists = new Map<string, WriteItem<"price">[]>();
      for (const i of ok.filter((x) => !isBase(x.record))) {
        const key = `${i.record.priceList.code}\u0000${i.record.priceList.currency}`;
        lists.set(key, [...(lists.get(key) ?? []), i]);
      }
      for (const group of lists.values()) {
        const list = (group[0] as WriteItem<"price">).record.priceList;
        try {
          results.push(...(await listPrices(list, group)));
        } catch (err) {
          for (const i of group) results.push(await perItem(i.key, system, () => Promise.reject(err)));
        }
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const v = (await lookups.variants([record.sku])).get(record.sku);
      if (!v) return null;
      if (isBase(record)) {
        const cur = record.priceList.currency.toLowerCase();
        return (v.prices ?? []).some((p) => p.currency_code === cur) ? v.id : null;
      }
      const list = await findList(record.priceList.code);
      return list && (list.prices ?? []).some((p) => p.variant_id === v.id) ? `${list.id}/${v.id}` : null;
    },
    // Base prices: the SKU lookups and one call per price. Price lists, per list: the group and the list
    // (and their creation on first use), the SKU lookups and one batch.
    estimateCalls(page) {
      const rows = toWrite(page);
      const base = rows.filter((i) => isBase(i.record));
      const lists = groupBy(
        rows.filter((i) => !isBase(i.record)),
        (i) => i.record.priceList.code,
        (i) => i.record.sku,
      );
      let calls = page.lookups.length * 2;
      if (base.length > 0)
        calls += callsFor(distinct(base.map((i) => i.record.sku)), SKU_CHUNK) + base.length;
      for (const skus of lists.values()) calls += 3 + callsFor(distinct(skus), SKU_CHUNK);
      return calls;
    },
  };
}

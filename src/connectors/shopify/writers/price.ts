/**
 * Canonical Price → a fixed price (and quantity price breaks) on a B2B price list. One Shopify price list
 * per canonical priceList.code, named after the code, created on first use with a 0 % parent adjustment
 * (so only the fixed prices matter). Prices go in batches with `quantityPricingByVariantUpdate`, which is
 * all-or-nothing: records a userError points at fail, and the rest of the batch is sent again once.
 */
import { z } from "zod";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { batchesWithoutRepeats, groupBy, toWrite } from "../../call-estimate.ts";
import { type ShopifyClient, UserErrors } from "../client.ts";
import { singleVariant, variantLookupCalls, variantsBySku } from "../lookup.ts";
import { PRICE_LIST_CREATE, PRICE_LISTS, QUANTITY_PRICING_UPDATE } from "../operations.ts";
import { failed, failPointedAt, indexIn } from "./results.ts";

const BATCH = 100;

const ListsAnswer = z.object({
  priceLists: z.object({
    pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() }),
    nodes: z.array(z.object({ id: z.string(), name: z.string(), currency: z.string() })),
  }),
});
const CreateAnswer = z.object({
  priceListCreate: z
    .object({
      priceList: z.object({ id: z.string(), name: z.string(), currency: z.string() }).nullable(),
      userErrors: UserErrors,
    })
    .nullable(),
});
const UpdateAnswer = z.object({
  quantityPricingByVariantUpdate: z.object({ userErrors: UserErrors }).nullable(),
});

interface Ready {
  item: WriteItem<"price">;
  variantId: string;
}

export function priceWriter(system: string, client: ShopifyClient): Writer<"price"> {
  let lists: Map<string, { id: string; currency: string }> | null = null;

  async function loadLists(): Promise<Map<string, { id: string; currency: string }>> {
    if (lists !== null) return lists;
    const out = new Map<string, { id: string; currency: string }>();
    let after: string | null = null;
    for (;;) {
      const data: z.infer<typeof ListsAnswer> = await client.request(PRICE_LISTS, { after }, ListsAnswer);
      for (const l of data.priceLists.nodes) out.set(l.name, { id: l.id, currency: l.currency });
      if (!data.priceLists.pageInfo.hasNextPage) break;
      after = data.priceLists.pageInfo.endCursor;
    }
    lists = out;
    return out;
  }

  async function ensureList(code: string, currency: string): Promise<{ id: string } | { error: string }> {
    const known = (await loadLists()).get(code);
    if (known) {
      if (known.currency !== currency)
        return { error: `price list "${code}" exists in ${known.currency}, the record is in ${currency}` };
      return { id: known.id };
    }
    const data = await client.request(
      PRICE_LIST_CREATE,
      { input: { name: code, currency, parent: { adjustment: { type: "PERCENTAGE_DECREASE", value: 0 } } } },
      CreateAnswer,
    );
    const created = data.priceListCreate?.priceList;
    if (!created) {
      return {
        error: `Shopify refused to create price list "${code}": ${(data.priceListCreate?.userErrors ?? []).map((e) => e.message).join("; ")}`,
      };
    }
    (await loadLists()).set(code, { id: created.id, currency: created.currency });
    return { id: created.id };
  }

  /** Sends one batch; userErrors fail the records they point at and the others are retried once. */
  async function send(listId: string, batch: Ready[], results: WriteResult[], retry = true): Promise<void> {
    if (batch.length === 0) return;
    const pricesToAdd = batch.map((r) => ({
      variantId: r.variantId,
      price: { amount: r.item.record.price, currencyCode: r.item.record.priceList.currency },
    }));
    const breaks = batch.flatMap((r, i) =>
      r.item.record.tiers.map((t) => ({
        i,
        variantId: r.variantId,
        minimumQuantity: t.minQuantity,
        price: { amount: t.price, currencyCode: r.item.record.priceList.currency },
      })),
    );
    const input = {
      pricesToAdd,
      pricesToDeleteByVariantId: [],
      // Replace the tiers wholesale, so a tier removed in the ERP disappears from the shop too.
      quantityPriceBreaksToDeleteByVariantId: batch.map((r) => r.variantId),
      quantityPriceBreaksToAdd: breaks.map(({ i: _i, ...b }) => b),
      quantityPriceBreaksToDelete: [],
      quantityRulesToAdd: [],
      quantityRulesToDeleteByVariantId: [],
    };
    const data = await client.request(QUANTITY_PRICING_UPDATE, { priceListId: listId, input }, UpdateAnswer);
    const errors = data.quantityPricingByVariantUpdate?.userErrors ?? [];
    if (errors.length === 0) {
      for (const r of batch) {
        results.push({
          key: r.item.key,
          ok: true,
          targetId: `${listId}|${r.variantId}`,
          action: r.item.targetId === null ? "created" : "updated",
        });
      }
      return;
    }
    const bad = new Map<number, UserErrors>();
    for (const e of errors) {
      const p = indexIn(e.field, "pricesToAdd");
      const b = indexIn(e.field, "quantityPriceBreaksToAdd");
      const at = p ?? (b === null ? null : (breaks[b]?.i ?? null));
      if (at === null) continue;
      bad.set(at, [...(bad.get(at) ?? []), e]);
    }
    await send(listId, failPointedAt(batch, bad, errors, results, system, retry), results, false);
  }

  return {
    entity: "price",
    estimateCalls(page) {
      const items = toWrite(page);
      // findByExternalRef: the lists (kept once read) and one SKU lookup.
      if (items.length === 0) return page.lookups.length;
      const skusByList = groupBy(
        items,
        (i) => i.record.priceList.code,
        (i) => i.record.sku,
      );
      let calls = variantLookupCalls(items.map((i) => i.record.sku));
      const codes = [...skusByList.keys()];
      const known = lists;
      if (known !== null) {
        calls += codes.filter((code) => !known.has(code)).length;
      } else if (page.first) {
        // The lists are read once; until then, a list none of whose prices was written before is new.
        const updated = new Set(page.update.map((i) => i.record.priceList.code));
        calls += 1 + codes.filter((code) => !updated.has(code)).length;
      }
      for (const skus of skusByList.values()) calls += batchesWithoutRepeats(skus, BATCH);
      return calls + page.lookups.length;
    },
    async upsert(items) {
      const results: WriteResult[] = [];
      const found = await variantsBySku(
        client,
        items.map((i) => i.record.sku),
      );
      const byList = new Map<string, Ready[]>();
      for (const item of items) {
        const variant = singleVariant(found, item.record.sku);
        if (typeof variant === "string") {
          results.push(failed(item.key, "permanent", variant, system, "sku"));
          continue;
        }
        const list = await ensureList(item.record.priceList.code, item.record.priceList.currency);
        if ("error" in list) {
          results.push(failed(item.key, "permanent", list.error, system, "priceList.code"));
          continue;
        }
        const ready = byList.get(list.id) ?? [];
        ready.push({ item, variantId: variant.id });
        byList.set(list.id, ready);
      }
      for (const [listId, ready] of byList) {
        // A variant twice in one call is refused by Shopify; a later record for it waits for the next batch.
        let pending = ready;
        while (pending.length > 0) {
          const batch: Ready[] = [];
          const later: Ready[] = [];
          const seen = new Set<string>();
          for (const r of pending) {
            if (batch.length < BATCH && !seen.has(r.variantId)) {
              batch.push(r);
              seen.add(r.variantId);
            } else later.push(r);
          }
          await send(listId, batch, results);
          pending = later;
        }
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const list = (await loadLists()).get(record.priceList.code);
      const variant = (await variantsBySku(client, [record.sku])).get(record.sku);
      // Setting a fixed price is idempotent, so an existing list and variant is all "already written" needs.
      return list && variant?.length === 1 ? `${list.id}|${variant[0]?.id}` : null;
    },
  };
}

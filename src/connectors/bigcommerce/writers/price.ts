/**
 * Prices. A price of a base list (basePriceLists) is the variant's own catalog price. Any other list is a
 * BigCommerce price list of the same name (made when missing) assigned to the canonical list's customer
 * group on the connection's channel, holding one record per variant and currency: the price, and the tier
 * breaks as bulk pricing tiers (type fixed). A customer group has one price list per channel, so the
 * assignment is made only when the group's assignment names another list. The records held are read first
 * (by SKU) and only what differs is written, one upsert per list (up to 1,000 records per call).
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Price } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { callsFor, distinct, toWrite } from "../../call-estimate.ts";
import { failed, perItem } from "../../write-results.ts";
import { type BigCommerceClient, bigcommerceMessage, explained } from "../client.ts";
import { type BigCommerceLookups, SKU_CHUNK } from "../lookup.ts";

export const RECORDS_PER_CALL = 1000;

const Record_ = z
  .object({
    variant_id: z.number().int(),
    sku: z.string().nullish(),
    currency: z.string(),
    price: z.number().nullish(),
    bulk_pricing_tiers: z
      .array(z.object({ quantity_min: z.number(), type: z.string(), amount: z.number() }).loose())
      .nullish(),
  })
  .loose();
type Record_ = z.infer<typeof Record_>;
const Assignment = z
  .object({
    id: z.number().int(),
    price_list_id: z.number().int(),
    customer_group_id: z.number().int().nullish(),
    channel_id: z.number().int().nullish(),
  })
  .loose();

const tiersOf = (p: Price) =>
  p.tiers.map((t) => ({ quantity_min: t.minQuantity, type: "fixed" as const, amount: Number(t.price) }));
const same = (held: Record_ | undefined, p: Price) =>
  held !== undefined &&
  held.price === Number(p.price) &&
  JSON.stringify((held.bulk_pricing_tiers ?? []).map((t) => [t.quantity_min, t.type, t.amount])) ===
    JSON.stringify(tiersOf(p).map((t) => [t.quantity_min, t.type, t.amount]));

export function priceWriter(
  system: string,
  client: BigCommerceClient,
  lookups: BigCommerceLookups,
): Writer<"price"> {
  const config = client.config;
  const isBase = (p: Price) => config.basePriceLists.includes(p.priceList.code);

  async function records(listId: number, skus: string[]): Promise<Record_[]> {
    const out: Record_[] = [];
    for (let i = 0; i < skus.length; i += SKU_CHUNK)
      out.push(
        ...(await client.all(
          `/v3/pricelists/${listId}/records?sku:in=${skus
            .slice(i, i + SKU_CHUNK)
            .map(encodeURIComponent)
            .join(",")}`,
          Record_,
          "price records",
          1000,
        )),
      );
    return out;
  }

  async function assign(listId: number, groupId: number): Promise<void> {
    const held = await client.all(
      `/v3/pricelists/assignments?customer_group_id:in=${groupId}&channel_id:in=${config.channelId}`,
      Assignment,
      "price list assignments",
    );
    if (held.some((a) => a.price_list_id === listId)) return;
    await client.write(
      "POST",
      "/v3/pricelists/assignments",
      [{ price_list_id: listId, customer_group_id: groupId, channel_id: config.channelId }],
      z.unknown(),
      "price list assignment",
    );
  }

  return {
    entity: "price",
    async upsert(items) {
      const results = new Map<string, WriteResult>();
      const { variants } = await lookups.products(items.map((i) => i.record.sku));
      const known = items.filter((i) => {
        if (variants.has(i.record.sku)) return true;
        results.set(
          i.key,
          failed(
            i.key,
            "permanent",
            `BigCommerce has no variant with SKU ${JSON.stringify(i.record.sku)}`,
            system,
            "sku",
          ),
        );
        return false;
      });
      // Base prices: the variants' own price.
      for (const i of known.filter((x) => isBase(x.record))) {
        results.set(
          i.key,
          await perItem(i.key, system, async () => {
            const v = variants.get(i.record.sku)!;
            const targetId = `base:${v.id}`;
            if (v.price === Number(i.record.price))
              return { key: i.key, ok: true, targetId, action: "unchanged" };
            try {
              await client.write(
                "PUT",
                `/v3/catalog/products/${v.product_id}/variants/${v.id}`,
                { price: Number(i.record.price) },
                z.unknown(),
                "variant price",
              );
            } catch (err) {
              throw explained(err);
            }
            return { key: i.key, ok: true, targetId, action: i.targetId ? "updated" : "created" };
          }),
        );
      }
      // Customer-group price lists.
      const byList = new Map<string, typeof known>();
      for (const i of known.filter((x) => !isBase(x.record))) {
        const list = byList.get(i.record.priceList.code) ?? [];
        list.push(i);
        byList.set(i.record.priceList.code, list);
      }
      for (const [code, group] of byList) {
        const first = group[0]!.record;
        const customerGroup = await lookups.groupFor(first.priceList.customerGroup);
        if (!customerGroup) {
          for (const i of group)
            results.set(
              i.key,
              failed(
                i.key,
                "permanent",
                `BigCommerce has no customer group ${JSON.stringify(config.groupMap?.[first.priceList.customerGroup] ?? first.priceList.customerGroup)} for price list ${code}: create it or map it in groupMap`,
                system,
                "priceList.customerGroup",
              ),
            );
          continue;
        }
        const listId = (await lookups.priceList(code, true)) as number;
        await assign(listId, customerGroup.id);
        const held = await records(listId, [...new Set(group.map((i) => i.record.sku))]);
        const send: { key: string; created: boolean; targetId: string; row: Record<string, unknown> }[] = [];
        for (const i of group) {
          const v = variants.get(i.record.sku)!;
          const currency = i.record.priceList.currency.toLowerCase();
          const targetId = `${listId}/${v.id}/${currency}`;
          const h = held.find((r) => r.variant_id === v.id && r.currency.toLowerCase() === currency);
          if (same(h, i.record)) {
            results.set(i.key, { key: i.key, ok: true, targetId, action: "unchanged" });
            continue;
          }
          const twin = send.findIndex((s) => s.targetId === targetId);
          if (twin >= 0) send.splice(twin, 1);
          send.push({
            key: i.key,
            created: !h,
            targetId,
            row: {
              variant_id: v.id,
              currency,
              price: Number(i.record.price),
              bulk_pricing_tiers: tiersOf(i.record),
            },
          });
        }
        for (let at = 0; at < send.length; at += RECORDS_PER_CALL) {
          const chunk = send.slice(at, at + RECORDS_PER_CALL);
          try {
            await client.write(
              "PUT",
              `/v3/pricelists/${listId}/records`,
              chunk.map((c) => c.row),
              z.unknown(),
              "price records",
            );
            for (const c of chunk)
              results.set(c.key, {
                key: c.key,
                ok: true,
                targetId: c.targetId,
                action: c.created ? "created" : "updated",
              });
          } catch (err) {
            const e = explained(err);
            if (!(e instanceof SyncError) || (e.kind !== "permanent" && e.kind !== "data")) throw e;
            // A 422 names the refused records (batch_errors): they fail, the others are sent again.
            const body = e.details.vendorBody;
            let refused: { variant_id?: number }[] = [];
            try {
              const j = JSON.parse(typeof body === "string" ? body : "{}") as {
                batch_errors?: { data?: { variant_id?: number } }[];
              };
              refused = (j.batch_errors ?? []).map((b) => b.data ?? {});
            } catch {}
            const bad = chunk.filter((c) => refused.some((r) => r.variant_id === c.row.variant_id));
            for (const c of bad.length > 0 ? bad : chunk)
              results.set(c.key, {
                key: c.key,
                ok: false,
                error: new SyncError(
                  "permanent",
                  `BigCommerce refused the price record ${c.targetId}: ${bigcommerceMessage(body) ?? e.message}`,
                  { system, field: "price" },
                ),
              });
            const rest = chunk.filter((c) => !bad.includes(c));
            if (bad.length > 0 && rest.length > 0) {
              await client.write(
                "PUT",
                `/v3/pricelists/${listId}/records`,
                rest.map((c) => c.row),
                z.unknown(),
                "price records",
              );
              for (const c of rest)
                results.set(c.key, {
                  key: c.key,
                  ok: true,
                  targetId: c.targetId,
                  action: c.created ? "created" : "updated",
                });
            }
          }
        }
        for (const i of group)
          if (!results.has(i.key)) {
            const v = variants.get(i.record.sku)!;
            results.set(i.key, {
              key: i.key,
              ok: true,
              targetId: `${listId}/${v.id}/${i.record.priceList.currency.toLowerCase()}`,
              action: "unchanged",
            });
          }
      }
      return items.map((i) => results.get(i.key) ?? failed(i.key, "permanent", "no result", system));
    },
    async findByExternalRef(_ref, record) {
      const v = (await lookups.products([record.sku])).variants.get(record.sku);
      if (!v) return null;
      if (isBase(record)) return `base:${v.id}`;
      const listId = await lookups.priceList(record.priceList.code, false);
      if (listId === null) return null;
      const currency = record.priceList.currency.toLowerCase();
      return (await records(listId, [record.sku])).some(
        (r) => r.variant_id === v.id && r.currency.toLowerCase() === currency,
      )
        ? `${listId}/${v.id}/${currency}`
        : null;
    },
    // SKU search per chunk; per list: its lookup (first page), its assignments, its records per chunk, one
    // upsert per 1,000 records; base prices one call each.
    estimateCalls: (page) => {
      const w = toWrite(page);
      const base = w.filter((i) => isBase(i.record)).length;
      const lists = new Map<string, string[]>();
      for (const i of w.filter((x) => !isBase(x.record)))
        lists.set(i.record.priceList.code, [...(lists.get(i.record.priceList.code) ?? []), i.record.sku]);
      let calls = callsFor(distinct(w.map((i) => i.record.sku)), SKU_CHUNK) + base + page.lookups.length * 3;
      for (const skus of lists.values())
        calls +=
          (page.first ? 1 : 0) +
          1 +
          callsFor(distinct(skus), SKU_CHUNK) +
          callsFor(skus.length, RECORDS_PER_CALL);
      if (page.first && !lookups.groupsLoaded && lists.size > 0) calls += 1;
      return calls;
    },
  };
}

/**
 * Canonical Price → the variant's price in the Vendure channel that carries the price list.
 *
 * Vendure keeps one price per variant per channel (and currency), and a storefront picks its channel with
 * the `vendure-token` header; that is Vendure's own way to sell one catalog at different prices, with no
 * plugin. So each canonical price list is a channel (code = the list code unless `priceListChannels` maps
 * it), created on first use with the default channel's zones and the list's currency, and a Vendure customer
 * group named after the list's customer group is created beside it for the storefront to choose the channel
 * by. The channel is equipped to sell (stock locations, shipping and payment methods: see channels.ts).
 * Products are assigned to the channel when first priced there; prices are set in batches with
 * `updateProductVariants` under the channel's token. Vendure has no quantity price breaks, so a price with
 * tiers is refused rather than written without them.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { skuBatched } from "../../call-estimate.ts";
import { toMinor, type VendureClient } from "../client.ts";
import type { VendureConfig } from "../config.ts";
import { type ChannelInfo, singleVariant, variantsBySku } from "../lookup.ts";
import type { PriceListChannels } from "./channels.ts";
import { failed } from "./results.ts";

const BATCH = 100;

const ASSIGN = `mutation AssignProductsToChannel($input: AssignProductsToChannelInput!) { assignProductsToChannel(input: $input) { id } }`;
const UPDATE_PRICES = `mutation UpdatePrices($input: [UpdateProductVariantInput!]!) {
  updateProductVariants(input: $input) { id sku price }
}`;

interface Ready {
  item: WriteItem<"price">;
  variantId: string;
  price: number;
}

export function priceWriter(
  system: string,
  client: VendureClient,
  config: VendureConfig,
  channels: PriceListChannels,
): Writer<"price"> {
  const channelCode = (list: string) => config.priceListChannels?.[list] ?? list;

  async function ensureChannel(item: WriteItem<"price">): Promise<ChannelInfo | string> {
    const list = item.record.priceList;
    const code = channelCode(list.code);
    const ch = await channels.open(code, list.currency);
    if (typeof ch === "string") return ch;
    if (ch.defaultCurrencyCode !== list.currency) {
      return `price list "${list.code}" is in ${list.currency}; Vendure channel "${code}" sells in ${ch.defaultCurrencyCode}`;
    }
    await channels.equip(ch);
    await channels.ensureGroup(list.customerGroup);
    return ch;
  }

  /** Variants of these SKUs as the channel sees them, assigning their products to it first when needed. */
  async function variantsIn(ch: ChannelInfo, skus: string[]) {
    let found = await variantsBySku(client, skus, ch.token);
    const missing = skus.filter((s) => !found.has(s));
    if (missing.length > 0) {
      const base = await variantsBySku(client, missing);
      const productIds = [...new Set([...base.values()].flat().map((v) => v.productId))];
      if (productIds.length > 0) {
        await client.request(ASSIGN, { input: { productIds, channelId: ch.id } }, z.unknown());
        found = await variantsBySku(client, skus, ch.token);
      }
    }
    return found;
  }

  async function send(ch: ChannelInfo, batch: Ready[], results: WriteResult[]): Promise<void> {
    try {
      await client.request(
        UPDATE_PRICES,
        { input: batch.map((r) => ({ id: r.variantId, price: r.price })) },
        z.unknown(),
        { channelToken: ch.token },
      );
      for (const r of batch) {
        results.push({
          key: r.item.key,
          ok: true,
          targetId: `${ch.id}|${r.variantId}`,
          action: r.item.targetId === null ? "created" : "updated",
        });
      }
    } catch (err) {
      if (!(err instanceof SyncError) || err.kind !== "permanent") throw err;
      if (batch.length === 1) {
        results.push({ key: batch[0]?.item.key ?? "", ok: false, error: err });
        return;
      }
      // One bad entry fails the whole mutation: send each alone so only that one fails.
      for (const r of batch) await send(ch, [r], results);
    }
  }

  return {
    entity: "price",
    // Per channel: its lookups once, then the SKUs and prices 100 at a time.
    estimateCalls: skuBatched<"price">({
      lookupSize: 100,
      size: BATCH,
      groupOf: (i) => channelCode(i.record.priceList.code),
      perGroup: 2,
    }),
    async upsert(items) {
      await channels.equipAll();
      const results: WriteResult[] = [];
      const byChannel = new Map<string, { ch: ChannelInfo; items: WriteItem<"price">[] }>();
      for (const item of items) {
        if (item.record.tiers.length > 0) {
          results.push(
            failed(
              item.key,
              "data",
              `price ${item.key} has quantity breaks (${item.record.tiers.map((t) => `${t.minQuantity}+`).join(", ")}); Vendure has no tier prices`,
              system,
              "tiers",
            ),
          );
          continue;
        }
        const ch = await ensureChannel(item);
        if (typeof ch === "string") {
          results.push(failed(item.key, "permanent", ch, system, "priceList.code"));
          continue;
        }
        const entry = byChannel.get(ch.code) ?? { ch, items: [] };
        entry.items.push(item);
        byChannel.set(ch.code, entry);
      }
      for (const { ch, items: group } of byChannel.values()) {
        const found = await variantsIn(
          ch,
          group.map((i) => i.record.sku),
        );
        const ready: Ready[] = [];
        for (const item of group) {
          const v = singleVariant(found, item.record.sku);
          if (typeof v === "string") {
            results.push(failed(item.key, "permanent", v, system, "sku"));
            continue;
          }
          try {
            const price = toMinor(item.record.price, item.record.priceList.currency, "price");
            if (price === v.price) {
              results.push({ key: item.key, ok: true, targetId: `${ch.id}|${v.id}`, action: "unchanged" });
              continue;
            }
            ready.push({ item, variantId: v.id, price });
          } catch (err) {
            results.push(
              failed(item.key, "data", err instanceof Error ? err.message : String(err), system, "price"),
            );
          }
        }
        // A variant twice in one call would be set twice; the last record of a batch is the newest.
        const latest = new Map<string, Ready>();
        for (const r of ready) latest.set(r.variantId, r);
        for (const r of ready) {
          if (latest.get(r.variantId) !== r) {
            results.push({
              key: r.item.key,
              ok: true,
              targetId: `${ch.id}|${r.variantId}`,
              action: "unchanged",
            });
          }
        }
        const unique = [...latest.values()];
        for (let i = 0; i < unique.length; i += BATCH) await send(ch, unique.slice(i, i + BATCH), results);
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const ch = await channels.find(channelCode(record.priceList.code));
      if (ch === null) return null;
      const v = (await variantsBySku(client, [record.sku], ch.token)).get(record.sku);
      // Setting a price is idempotent: an existing channel and variant in it is all "already written" needs.
      return v?.length === 1 ? `${ch.id}|${v[0]?.id}` : null;
    },
  };
}

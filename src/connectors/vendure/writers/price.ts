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
 *
 * Several currencies: a channel sells in its default currency and any others it lists
 * (availableCurrencyCodes), with one price per variant per currency. A price list in another currency than
 * the channel's default (say "Retail USD" mapped by priceListChannels onto the EUR channel "retail") sets the
 * variant's price in that currency there, leaving the default one alone. A list mapped onto a channel by
 * priceListChannels adds its currency to the channel's when missing (the mapping says the channel sells it);
 * a list that reaches a channel by its own code in a currency the channel does not sell fails, naming both.
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
  /** Set when the price is in one of the channel's other currencies, not its default one. */
  currencyCode?: string;
}

/** `<channel>|<variant>`, and `|<currency>` for a price in one of the channel's other currencies. */
const targetOf = (ch: ChannelInfo, variantId: string, currencyCode?: string) =>
  currencyCode === undefined ? `${ch.id}|${variantId}` : `${ch.id}|${variantId}|${currencyCode}`;

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
    let ch = await channels.open(code, list.currency);
    if (typeof ch === "string") return ch;
    // A list the configuration maps onto a channel explicitly may bring that channel a currency.
    if (config.priceListChannels?.[list.code] !== undefined) {
      ch = await channels.sellIn(ch, list.currency);
      if (typeof ch === "string") return ch;
    }
    if (ch.defaultCurrencyCode !== list.currency && !ch.availableCurrencyCodes.includes(list.currency)) {
      return `price list "${list.code}" is in ${list.currency}; Vendure channel "${code}" sells in ${[...new Set([ch.defaultCurrencyCode, ...ch.availableCurrencyCodes])].join(", ")} (add ${list.currency} to the channel's currencies, or map the list to a channel in ${list.currency} with priceListChannels)`;
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
        {
          input: batch.map((r) =>
            r.currencyCode === undefined
              ? { id: r.variantId, price: r.price }
              : { id: r.variantId, prices: [{ currencyCode: r.currencyCode, price: r.price }] },
          ),
        },
        z.unknown(),
        { channelToken: ch.token },
      );
      for (const r of batch) {
        results.push({
          key: r.item.key,
          ok: true,
          targetId: targetOf(ch, r.variantId, r.currencyCode),
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
            const currency = item.record.priceList.currency;
            const price = toMinor(item.record.price, currency, "price");
            const other = currency !== ch.defaultCurrencyCode;
            const now = other ? v.prices.find((p) => p.currencyCode === currency)?.price : v.price;
            if (price === now) {
              results.push({
                key: item.key,
                ok: true,
                targetId: targetOf(ch, v.id, other ? currency : undefined),
                action: "unchanged",
              });
              continue;
            }
            ready.push({ item, variantId: v.id, price, ...(other ? { currencyCode: currency } : {}) });
          } catch (err) {
            results.push(
              failed(item.key, "data", err instanceof Error ? err.message : String(err), system, "price"),
            );
          }
        }
        // A variant twice in one call (in one currency) would be set twice; the last record of a batch is
        // the newest.
        const slot = (r: Ready) => `${r.variantId}|${r.currencyCode ?? ""}`;
        const latest = new Map<string, Ready>();
        for (const r of ready) latest.set(slot(r), r);
        for (const r of ready) {
          if (latest.get(slot(r)) !== r) {
            results.push({
              key: r.item.key,
              ok: true,
              targetId: targetOf(ch, r.variantId, r.currencyCode),
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
      if (v?.length !== 1 || !v[0]) return null;
      const currency = record.priceList.currency;
      return targetOf(ch, v[0].id, currency === ch.defaultCurrencyCode ? undefined : currency);
    },
  };
}

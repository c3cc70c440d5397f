/**
 * Prices: a price list named in `basePriceLists` sets the product's (or combination's) own price; any other
 * is a customer group's price, which PrestaShop keeps as specific prices: one row per product (and
 * combination), group and currency for each quantity break (`from_quantity` 1 for the price itself, then
 * one per tier), with a fixed `price`, no reduction, every shop of `shopId`, any country, customer and cart,
 * and the validity dates (`0000-00-00 00:00:00`: unlimited). Rows are read per record, and only those that
 * differ are written; a break the record no longer has is deleted. The target id is
 * `<product>:<combination>:<group>:<currency>`.
 */
import Big from "big.js";
import { SyncError } from "../../../core/errors.ts";
import type { Price } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { callsFor, distinct, toWrite } from "../../call-estimate.ts";
import { perItem } from "../../write-results.ts";
import type { PrestaShopClient } from "../client.ts";
import { type PrestaShopLookups, SKU_CHUNK } from "../lookup.ts";
import { PsSpecificPrice } from "../native.ts";

const UNLIMITED = "0000-00-00 00:00:00";
const six = (v: string | Big) => new Big(v).toFixed(6);

export function priceWriter(
  system: string,
  client: PrestaShopClient,
  lookups: PrestaShopLookups,
): Writer<"price"> {
  const config = client.config;
  const isBase = (p: Price) => config.basePriceLists.includes(p.priceList.code);

  /** The product and combination a SKU is, or a refusal naming it. */
  async function target(p: Price, held: Awaited<ReturnType<PrestaShopLookups["bySku"]>>) {
    const c = held.combinations.get(p.sku);
    if (c) return { product: c.id_product, attribute: c.id, combination: c, productRec: null };
    const prod = held.products.get(p.sku);
    if (prod) return { product: prod.id, attribute: 0, combination: null, productRec: prod };
    throw new SyncError("permanent", `PrestaShop has no product or combination with reference ${p.sku}`, {
      system,
      field: "sku",
    });
  }

  async function groupAndCurrency(p: Price) {
    const group = await lookups.groupFor(p.priceList.customerGroup);
    if (!group)
      throw new SyncError(
        "permanent",
        `PrestaShop has no customer group ${JSON.stringify(p.priceList.customerGroup)}`,
        {
          system,
          field: "priceList.customerGroup",
        },
      );
    const currency = (await lookups.currencies()).find((c) => c.iso === p.priceList.currency);
    if (!currency)
      throw new SyncError("permanent", `PrestaShop has no currency ${p.priceList.currency}`, {
        system,
        field: "priceList.currency",
      });
    return { group: group.id, currency: currency.id };
  }

  const rowsOf = (product: number, attribute: number, group: number, currency: number) =>
    client.list(
      "specific_prices",
      `display=full&filter[id_product]=[${product}]&filter[id_product_attribute]=[${attribute}]&filter[id_group]=[${group}]&filter[id_currency]=[${currency}]&filter[id_customer]=[0]&filter[id_cart]=[0]&filter[id_country]=[0]`,
      PsSpecificPrice,
      "specific prices of the product",
    );

  return {
    entity: "price",
    async upsert(items) {
      const held = await lookups.bySku(items.map((i) => i.record.sku));
      const results: WriteResult[] = [];
      for (const i of items) {
        results.push(
          await perItem(i.key, system, async () => {
            const p = i.record;
            const t = await target(p, held);
            if (isBase(p)) {
              // The product's own price, or the combination's impact on its product's price.
              if (t.combination) {
                const product = [...held.products.values()].find((x) => x.id === t.product);
                const basePrice = product
                  ? product.price
                  : ((
                      await client.one(
                        "products",
                        "product",
                        t.product,
                        PsSpecificPrice.pick({ price: true }),
                        "product",
                      )
                    )?.price ?? "0");
                const impact = six(new Big(p.price).minus(basePrice || "0"));
                if (new Big(t.combination.price || "0").eq(impact))
                  return {
                    key: i.key,
                    ok: true,
                    targetId: `${t.product}:${t.attribute}:base`,
                    action: "unchanged",
                  };
                await client.write(
                  "PATCH",
                  "combinations",
                  "combination",
                  { id: t.attribute, fields: { price: impact } },
                  "combination price",
                );
              } else {
                if (new Big(t.productRec?.price || "0").eq(p.price))
                  return { key: i.key, ok: true, targetId: `${t.product}:0:base`, action: "unchanged" };
                await client.write(
                  "PATCH",
                  "products",
                  "product",
                  { id: t.product, fields: { price: six(p.price) } },
                  "product price",
                );
              }
              return {
                key: i.key,
                ok: true,
                targetId: `${t.product}:${t.attribute}:base`,
                action: i.targetId ? "updated" : "created",
              };
            }
            const { group, currency } = await groupAndCurrency(p);
            const targetId = `${t.product}:${t.attribute}:${group}:${currency}`;
            const rows = await rowsOf(t.product, t.attribute, group, currency);
            const from = p.validFrom ? `${p.validFrom} 00:00:00` : UNLIMITED;
            const to = p.validTo ? `${p.validTo} 23:59:59` : UNLIMITED;
            const wanted = new Map<number, string>([[1, six(p.price)]]);
            for (const tier of p.tiers) wanted.set(tier.minQuantity, six(tier.price));
            let wrote = false;
            for (const [qty, amount] of wanted) {
              const have = rows.find((r) => Number(r.from_quantity) === qty);
              if (!have) {
                await client.write(
                  "POST",
                  "specific_prices",
                  "specific_price",
                  {
                    fields: {
                      id_shop: config.shopId,
                      id_cart: 0,
                      id_product: t.product,
                      id_product_attribute: t.attribute,
                      id_currency: currency,
                      id_country: 0,
                      id_group: group,
                      id_customer: 0,
                      price: amount,
                      from_quantity: qty,
                      reduction: "0",
                      reduction_tax: 1,
                      reduction_type: "amount",
                      from,
                      to,
                    },
                  },
                  "specific price create",
                );
                wrote = true;
              } else if (
                !new Big(have.price || "0").eq(amount) ||
                !new Big(have.reduction || "0").eq(0) ||
                have.from !== from ||
                have.to !== to
              ) {
                await client.write(
                  "PATCH",
                  "specific_prices",
                  "specific_price",
                  { id: have.id, fields: { price: amount, reduction: "0", from, to } },
                  "specific price update",
                );
                wrote = true;
              }
            }
            for (const r of rows)
              if (!wanted.has(Number(r.from_quantity))) {
                await client.remove("specific_prices", r.id, "specific price delete");
                wrote = true;
              }
            return {
              key: i.key,
              ok: true,
              targetId,
              action: wrote ? (i.targetId ? "updated" : "created") : "unchanged",
            };
          }),
        );
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const held = await lookups.bySku([record.sku]);
      const t = await target(record, held).catch(() => null);
      if (!t) return null;
      if (isBase(record)) return `${t.product}:${t.attribute}:base`;
      const { group, currency } = await groupAndCurrency(record);
      const rows = await rowsOf(t.product, t.attribute, group, currency);
      return rows.some((r) => Number(r.from_quantity) === 1)
        ? `${t.product}:${t.attribute}:${group}:${currency}`
        : null;
    },
    // Two reads per 50 SKUs; per group price its rows and a write per break (the first page also reads the
    // groups and currencies).
    estimateCalls: (page) => {
      const all = toWrite(page);
      const skus = distinct(all.map((i) => i.record.sku));
      const perRecord = all.reduce((n, i) => n + (isBase(i.record) ? 1 : 1 + 1 + i.record.tiers.length), 0);
      return (
        2 * callsFor(skus, SKU_CHUNK) +
        perRecord +
        (page.first && !lookups.loaded ? 2 : 0) +
        page.lookups.length * 3
      );
    },
  };
}

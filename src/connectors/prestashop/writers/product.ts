/**
 * Products: a canonical product with one variant and no options is a PrestaShop product whose reference is
 * the SKU; one with options is a product (reference: the product key) with one combination per variant
 * (reference: the SKU), its option values made of PrestaShop product options and values (attribute groups
 * and attributes, created by name where missing). PrestaShop prices a combination as an impact on its
 * product's price: the product carries the lowest variant price and each combination the difference.
 * Names are language-keyed (`languageId`), sent as `<name><language id="n">…</language></name>` and
 * entity-escaped; a name PrestaShop's isCatalogName refuses (`< > ; = # { }`) fails its record, named,
 * before anything is sent. Products are read first (50 references per call) and only what differs is
 * written, with PATCH (PrestaShop 8) carrying the changed fields only.
 */
import Big from "big.js";
import { SyncError } from "../../../core/errors.ts";
import type { Product, Variant } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { callsFor, distinct, toWrite } from "../../call-estimate.ts";
import { perItem } from "../../write-results.ts";
import { langText, type PrestaShopClient } from "../client.ts";
import { type PrestaShopLookups, SKU_CHUNK } from "../lookup.ts";
import type { PsCombination } from "../native.ts";

export const hasOptions = (p: Product) =>
  p.variants.length > 1 || p.variants.some((v) => Object.keys(v.options).length > 0);

/** The reference the product itself has: its key when it has options, else its one variant's SKU. */
export const mainSku = (p: Product) => (hasOptions(p) ? p.key : (p.variants[0] as Variant).sku);

/** Characters PrestaShop's isCatalogName refuses in a product name, isGenericName in an option's. */
const NOT_CATALOG = /[<>;=#{}]/;
const NOT_GENERIC = /[<>={}]/;

export const slug = (s: string) =>
  s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 128) || "product";

const same = (a: string, b: string) => a !== "" && b !== "" && new Big(a).eq(new Big(b));
const price = (b: Big) => b.toFixed(6);

export function productWriter(
  system: string,
  client: PrestaShopClient,
  lookups: PrestaShopLookups,
): Writer<"product"> {
  const config = client.config;
  const lang = config.languageId;

  async function combinationFields(v: Variant, productId: number, base: Big) {
    const values: number[] = [];
    for (const [option, value] of Object.entries(v.options))
      values.push(await lookups.optionValue(option, value));
    return {
      fields: {
        id_product: productId,
        reference: v.sku,
        price: price(new Big(v.price).minus(base)),
        minimal_quantity: 1,
      },
      associations: {
        product_option_values: { item: "product_option_value", rows: values.map((id) => ({ id })) },
      },
    };
  }

  return {
    entity: "product",
    async upsert(items) {
      const skus = items.flatMap((i) => [mainSku(i.record), ...i.record.variants.map((v) => v.sku)]);
      const held = await lookups.bySku(skus);
      const results: WriteResult[] = [];
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            const p = item.record;
            for (const v of p.variants)
              if (new Big(v.price).lt(0))
                throw new SyncError(
                  "permanent",
                  `variant ${v.sku}: PrestaShop refuses a negative price (${v.price})`,
                  {
                    system,
                    field: "price",
                  },
                );
            if (NOT_CATALOG.test(p.title))
              throw new SyncError(
                "data",
                `product ${p.key}: title ${JSON.stringify(p.title)} holds one of < > ; = # { }, which PrestaShop refuses in a product name`,
                { system, field: "title" },
              );
            if (p.title.length > 128)
              throw new SyncError(
                "data",
                `product ${p.key}: title has ${p.title.length} characters, PrestaShop keeps 128`,
                {
                  system,
                  field: "title",
                },
              );
            const options = hasOptions(p);
            const names = [...new Set(p.variants.flatMap((v) => Object.keys(v.options)))];
            for (const v of p.variants) {
              for (const n of names)
                if (v.options[n] === undefined)
                  throw new SyncError("data", `variant ${v.sku} has no value for option ${n}`, {
                    system,
                    field: "variants.options",
                  });
              for (const [n, x] of Object.entries(v.options))
                if (NOT_GENERIC.test(n) || NOT_GENERIC.test(x))
                  throw new SyncError(
                    "data",
                    `variant ${v.sku}: option ${JSON.stringify(`${n}: ${x}`)} holds < > = { or }`,
                    {
                      system,
                      field: "variants.options",
                    },
                  );
            }
            const sku = mainSku(p);
            const base = p.variants.reduce(
              (m, v) => (new Big(v.price).lt(m) ? new Big(v.price) : m),
              new Big((p.variants[0] as Variant).price),
            );
            const active = p.status === "active" ? "1" : "0";
            const existing = held.products.get(sku);
            if (!existing) {
              const made = await client.write(
                "POST",
                "products",
                "product",
                {
                  fields: {
                    reference: sku,
                    price: price(base),
                    active,
                    state: 1,
                    minimal_quantity: 1,
                    name: { lang: { [lang]: p.title } },
                    link_rewrite: { lang: { [lang]: slug(p.title) } },
                  },
                },
                "product create",
              );
              const id = Number(made.id);
              if (options)
                for (const v of p.variants)
                  await client.write(
                    "POST",
                    "combinations",
                    "combination",
                    await combinationFields(v, id, base),
                    "combination create",
                  );
              return { key: item.key, ok: true, targetId: String(id), action: "created" };
            }
            const priced = config.productPrices === "always";
            const change: Record<string, string | { lang: Record<number, string> }> = {};
            if (langText(existing.name, lang) !== p.title) change.name = { lang: { [lang]: p.title } };
            if ((existing.active || "1") !== active) change.active = active;
            const newBase = priced ? base : new Big(existing.price || "0");
            if (priced && !same(existing.price, price(base))) change.price = price(base);
            let wrote = false;
            if (Object.keys(change).length > 0) {
              await client.write(
                "PATCH",
                "products",
                "product",
                { id: existing.id, fields: change },
                "product update",
              );
              wrote = true;
            }
            if (options) {
              const mine = new Map<string, PsCombination>();
              for (const v of p.variants) {
                const c = held.combinations.get(v.sku);
                if (c && c.id_product === existing.id) mine.set(v.sku, c);
              }
              for (const v of p.variants) {
                const have = mine.get(v.sku);
                if (!have) {
                  await client.write(
                    "POST",
                    "combinations",
                    "combination",
                    await combinationFields(v, existing.id, newBase),
                    "combination create",
                  );
                  wrote = true;
                } else if (priced && !same(have.price || "0", price(new Big(v.price).minus(newBase)))) {
                  await client.write(
                    "PATCH",
                    "combinations",
                    "combination",
                    { id: have.id, fields: { price: price(new Big(v.price).minus(newBase)) } },
                    "combination update",
                  );
                  wrote = true;
                }
              }
            }
            return {
              key: item.key,
              ok: true,
              targetId: String(existing.id),
              action: wrote ? "updated" : "unchanged",
            };
          }),
        );
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const sku = mainSku(record);
      const p = (await lookups.bySku([sku])).products.get(sku);
      return p ? String(p.id) : null;
    },
    // Two reads (products, combinations) per 50 references; a create is one call plus one per combination
    // (plus the option values it makes, not counted: made once per shop); an update at most one per record
    // and one per combination.
    estimateCalls: (page) => {
      const skus = distinct(
        toWrite(page).flatMap((i) => [mainSku(i.record), ...i.record.variants.map((v) => v.sku)]),
      );
      const creates = page.create.reduce(
        (n, i) => n + 1 + (hasOptions(i.record) ? i.record.variants.length : 0),
        0,
      );
      const updates = page.update.reduce(
        (n, i) => n + 1 + (hasOptions(i.record) ? i.record.variants.length : 0),
        0,
      );
      return 2 * callsFor(skus, SKU_CHUNK) + creates + updates + page.lookups.length * 2;
    },
  };
}

/**
 * Canonical Product → a Vendure product with its variants (SKU, price in the channel's currency, options).
 * Option names become product option groups of the product, option values their options; a product with
 * several variants and no options gets one "Variant" group named after each variant. Existing products are
 * found by their variants' SKUs, or, before any variant exists, by the slug derived from the product key:
 * a crash anywhere between createProduct, the option groups and createProductVariants is repaired by
 * looking, never by creating again (which would leave an empty product and a second one at `<slug>-2`).
 * An identical second write is "unchanged" without a single mutation. Variants gone from the ERP are
 * deleted.
 */
import { z } from "zod";
import type { Product } from "../../../core/model.ts";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { perRecord } from "../../call-estimate.ts";
import { ErrorResult, toMinor, type VendureClient } from "../client.ts";
import { type ChannelInfo, errorResult, productIdsBySlug, slugFor, variantsBySku } from "../lookup.ts";
import {
  CATEGORY_FACET,
  type CategoryFacet,
  categoryValueCode,
  readCategoryFacet,
} from "./category-facet.ts";
import { ensureOptions } from "./product-options.ts";
import { failed, perItem } from "./results.ts";

const FALLBACK_OPTION = "Variant";

const PRODUCT = `query Product($id: ID!) {
  product(id: $id) {
    id name slug description enabled
    translations { languageCode name slug description }
    facetValues { id facet { code } }
    optionGroups { id code name options { id code name } }
    variants { id sku name price enabled options { id groupId name } translations { languageCode name } }
  }
}`;
const ProductAnswer = z.object({
  product: z
    .object({
      id: z.string(),
      name: z.string(),
      slug: z.string(),
      description: z.string(),
      enabled: z.boolean(),
      translations: z.array(
        z.object({ languageCode: z.string(), name: z.string(), slug: z.string(), description: z.string() }),
      ),
      facetValues: z.array(z.object({ id: z.string(), facet: z.object({ code: z.string() }) })),
      optionGroups: z.array(
        z.object({
          id: z.string(),
          code: z.string(),
          name: z.string(),
          options: z.array(z.object({ id: z.string(), code: z.string(), name: z.string() })),
        }),
      ),
      variants: z.array(
        z.object({
          id: z.string(),
          sku: z.string(),
          name: z.string(),
          price: z.number().int(),
          enabled: z.boolean(),
          options: z.array(z.object({ id: z.string(), groupId: z.string(), name: z.string() })),
          translations: z.array(z.object({ languageCode: z.string(), name: z.string() })),
        }),
      ),
    })
    .nullable(),
});
type VendureProduct = NonNullable<z.infer<typeof ProductAnswer>["product"]>;

const CREATE_PRODUCT = `mutation CreateProduct($input: CreateProductInput!) { createProduct(input: $input) { id } }`;
const UPDATE_PRODUCT = `mutation UpdateProduct($input: UpdateProductInput!) { updateProduct(input: $input) { id } }`;
const CREATE_VARIANTS = `mutation CreateVariants($input: [CreateProductVariantInput!]!) {
  createProductVariants(input: $input) { id sku }
}`;
const UPDATE_VARIANTS = `mutation UpdateVariants($input: [UpdateProductVariantInput!]!) {
  updateProductVariants(input: $input) { id sku }
}`;
const DELETE_VARIANTS = `mutation DeleteVariants($ids: [ID!]!) { deleteProductVariants(ids: $ids) { result message } }`;

interface DesiredVariant {
  sku: string;
  name: string;
  price: number;
  /** False for a variant archived in the source: disabled, never deleted (orders keep their lines). */
  enabled: boolean;
  /** option group name → option name */
  options: Record<string, string>;
  /** Language → the variant's name in it, for the product's other languages. */
  names: Record<string, string>;
}
interface Desired {
  name: string;
  slug: string;
  description: string;
  /** Language other than the channel's default → name and description in it (the source's translations). */
  translations: Record<string, { name: string; description: string }>;
  enabled: boolean;
  groups: { name: string; values: string[] }[];
  variants: DesiredVariant[];
}

function desired(p: Product): Desired {
  const names: string[] = [];
  for (const v of p.variants) for (const n of Object.keys(v.options)) if (!names.includes(n)) names.push(n);
  const fallback = p.variants.length > 1 && names.length === 0;
  const variants = p.variants.map((v) => {
    const options: Record<string, string> = {};
    if (fallback) options[FALLBACK_OPTION] = v.title ?? v.sku;
    for (const n of names) options[n] = v.options[n] ?? "-";
    const suffix = Object.values(options).join(" ");
    const named = (title: string) => v.title ?? (suffix ? `${title} ${suffix}` : title);
    return {
      sku: v.sku,
      name: named(p.title),
      names: Object.fromEntries(Object.entries(p.translations ?? {}).map(([l, t]) => [l, named(t.title)])),
      price: toMinor(v.price, p.currency, `variants[${v.sku}].price`),
      enabled: v.status !== "archived",
      options,
    };
  });
  const groupNames = fallback ? [FALLBACK_OPTION] : names;
  return {
    name: p.title,
    slug: slugFor(p.key),
    description: p.description ?? "",
    translations: Object.fromEntries(
      Object.entries(p.translations ?? {}).map(([l, t]) => [
        l,
        { name: t.title, description: t.description ?? "" },
      ]),
    ),
    enabled: p.status === "active",
    groups: groupNames.map((name) => ({
      name,
      values: [...new Set(variants.map((v) => v.options[name] ?? "-"))],
    })),
    variants,
  };
}

/**
 * The product as Vendure holds it, in the languages `languages` (the ones the source translates into): a
 * translation the shop keeps in another language is the shop's own and is left alone.
 */
function current(p: VendureProduct, languages: string[]): Desired {
  const groupName = new Map(p.optionGroups.map((g) => [g.id, g.name]));
  const own = new Map(p.translations.map((t) => [t.languageCode, t]));
  // Groups and options no variant uses any more are left on the product and do not count as a difference.
  const used = new Set(p.variants.flatMap((v) => v.options.map((o) => o.id)));
  return {
    name: p.name,
    slug: p.slug,
    description: p.description,
    translations: Object.fromEntries(
      languages.map((l) => [l, { name: own.get(l)?.name ?? "", description: own.get(l)?.description ?? "" }]),
    ),
    enabled: p.enabled,
    groups: p.optionGroups
      .map((g) => ({ name: g.name, values: g.options.filter((o) => used.has(o.id)).map((o) => o.name) }))
      .filter((g) => g.values.length > 0),
    variants: p.variants.map((v) => ({
      sku: v.sku,
      name: v.name,
      price: v.price,
      enabled: v.enabled,
      options: Object.fromEntries(v.options.map((o) => [groupName.get(o.groupId) ?? o.groupId, o.name])),
      names: Object.fromEntries(
        languages.map((l) => [l, v.translations.find((t) => t.languageCode === l)?.name ?? ""]),
      ),
    })),
  };
}

/** Same product as far as the shop shows it; group and variant order do not matter. */
function same(a: Desired, b: Desired): boolean {
  const norm = (d: Desired) =>
    JSON.stringify({
      ...d,
      groups: [...d.groups]
        .map((g) => ({ name: g.name, values: [...g.values].sort() }))
        .sort((x, y) => x.name.localeCompare(y.name)),
      translations: Object.fromEntries(Object.entries(d.translations).sort()),
      variants: [...d.variants]
        // Fields in one fixed order: the two sides build their variants in different orders.
        .map((v) => ({
          sku: v.sku,
          name: v.name,
          price: v.price,
          enabled: v.enabled,
          options: Object.fromEntries(Object.entries(v.options).sort()),
          names: Object.fromEntries(Object.entries(v.names).sort()),
        }))
        .sort((x, y) => x.sku.localeCompare(y.sku)),
    });
  return norm(a) === norm(b);
}

/**
 * The product's translations other than the default language's, for createProduct / updateProduct. A slug
 * the shop published in a language stays; a new language gets the one derived from the key.
 */
function otherTranslations(want: Desired, existing: VendureProduct | null) {
  const slugs = new Map(existing?.translations.map((t) => [t.languageCode, t.slug]) ?? []);
  return Object.entries(want.translations).map(([languageCode, t]) => ({
    languageCode,
    name: t.name,
    slug: slugs.get(languageCode) || want.slug,
    description: t.description,
  }));
}

function variantTranslations(lang: string, v: DesiredVariant) {
  return [
    { languageCode: lang, name: v.name },
    ...Object.entries(v.names).map(([languageCode, name]) => ({ languageCode, name })),
  ];
}

function sameIds(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

export function productWriter(
  system: string,
  client: VendureClient,
  channel: () => Promise<ChannelInfo>,
): Writer<"product"> {
  async function read(id: string): Promise<VendureProduct | null> {
    return (await client.request(PRODUCT, { id }, ProductAnswer)).product;
  }

  async function writeOne(
    item: WriteItem<"product">,
    productId: string | null,
    facet: CategoryFacet | null,
  ): Promise<WriteResult> {
    const p = item.record;
    const ch = await channel();
    // The product's categories are the category facet's values it carries (see category-facet.ts).
    const categoryValues: string[] = [];
    for (const key of p.categories ?? []) {
      const value = facet?.values.get(categoryValueCode(key));
      if (!value) {
        return failed(
          item.key,
          "retryable",
          `product ${item.key} is in category ${key}, which is not in Vendure yet (run the categories flow first; the product is written once it is)`,
          system,
          "categories",
        );
      }
      categoryValues.push(value.id);
    }
    if (p.currency !== ch.defaultCurrencyCode) {
      return failed(
        item.key,
        "data",
        `product ${item.key} is priced in ${p.currency}; the Vendure channel ${ch.code} sells in ${ch.defaultCurrencyCode}`,
        system,
        "currency",
      );
    }
    const lang = ch.defaultLanguageCode;
    // The source's translation into the channel's default language, where it has one, is the product's
    // name there (the source's own default language may be another).
    const inDefault = p.translations?.[lang];
    const base = inDefault
      ? { ...p, title: inDefault.title, description: inDefault.description ?? p.description }
      : p;
    // A translation that says what the default language says adds nothing where the shop holds none in that
    // language (Vendure shows the default text), and is no reason to fail in a language the channel lacks.
    const plain = (t: { title: string; description?: string }) =>
      t.title === base.title && (t.description ?? "") === (base.description ?? "");
    const other = Object.entries(p.translations ?? {}).filter(([l]) => l !== lang);
    const offered = ch.availableLanguageCodes ?? [];
    const foreign = other.filter(([l, t]) => !offered.includes(l) && !plain(t)).map(([l]) => l);
    if (foreign.length > 0) {
      return failed(
        item.key,
        "data",
        `product ${item.key} has a title in ${foreign.join(", ")}, which the Vendure channel does not offer (it offers ${offered.join(", ") || lang}); add the language to the channel or drop the translation in the flow's mapping`,
        system,
        "translations",
      );
    }
    const want = desired(base);
    const existing = productId === null ? null : await read(productId);
    // One the shop holds is brought back to the default text (the source no longer translates it).
    const held = new Set(existing?.translations.map((t) => t.languageCode) ?? []);
    const drop = [
      lang,
      ...other.filter(([l, t]) => !offered.includes(l) || (plain(t) && !held.has(l))).map(([l]) => l),
    ];
    for (const l of drop) {
      delete want.translations[l];
      for (const v of want.variants) delete v.names[l];
    }
    const languagesOf = Object.keys(want.translations);
    const otherValues = (existing?.facetValues ?? [])
      .filter((v) => v.facet.code !== CATEGORY_FACET)
      .map((v) => v.id);
    const haveCategories = (existing?.facetValues ?? [])
      .filter((v) => v.facet.code === CATEGORY_FACET)
      .map((v) => v.id);
    const categoriesMove = !sameIds(haveCategories, categoryValues);
    const have = existing === null ? null : current(existing, languagesOf);
    if (have !== null && !categoriesMove && same(have, want)) {
      return { key: item.key, ok: true, targetId: existing?.id ?? "", action: "unchanged" };
    }
    const translation = {
      languageCode: lang,
      name: want.name,
      slug: want.slug,
      description: want.description,
    };
    let id: string;
    if (existing === null) {
      const data = await client.request(
        CREATE_PRODUCT,
        {
          input: {
            enabled: want.enabled,
            translations: [translation, ...otherTranslations(want, null)],
            ...(categoryValues.length > 0 ? { facetValueIds: categoryValues } : {}),
          },
        },
        z.object({ createProduct: z.object({ id: z.string() }) }),
      );
      id = data.createProduct.id;
    } else {
      id = existing.id;
      if (
        existing.name !== want.name ||
        existing.description !== want.description ||
        existing.enabled !== want.enabled ||
        JSON.stringify(have?.translations) !==
          JSON.stringify(Object.fromEntries(languagesOf.map((l) => [l, want.translations[l]]))) ||
        categoriesMove
      ) {
        await client.request(
          UPDATE_PRODUCT,
          {
            input: {
              id,
              enabled: want.enabled,
              translations: [{ ...translation, slug: existing.slug }, ...otherTranslations(want, existing)],
              ...(categoriesMove ? { facetValueIds: [...otherValues, ...categoryValues] } : {}),
            },
          },
          z.unknown(),
        );
      }
    }
    const optionIds = await ensureOptions(
      client,
      id,
      want.slug,
      existing?.optionGroups ?? [],
      want.groups,
      lang,
    );
    const idsFor = (v: DesiredVariant) =>
      Object.entries(v.options).map(([g, o]) => optionIds.get(g)?.get(o) ?? "");
    const bySku = new Map(existing?.variants.map((v) => [v.sku, v]) ?? []);
    const toCreate = want.variants.filter((v) => !bySku.has(v.sku));
    const toUpdate = want.variants.filter((v) => bySku.has(v.sku));
    const gone = (existing?.variants ?? []).filter((v) => !want.variants.some((w) => w.sku === v.sku));
    if (gone.length > 0) await client.request(DELETE_VARIANTS, { ids: gone.map((v) => v.id) }, z.unknown());
    if (toUpdate.length > 0) {
      await client.request(
        UPDATE_VARIANTS,
        {
          input: toUpdate.map((v) => ({
            id: bySku.get(v.sku)?.id,
            price: v.price,
            enabled: v.enabled,
            translations: variantTranslations(lang, v),
            optionIds: idsFor(v),
          })),
        },
        z.unknown(),
      );
    }
    if (toCreate.length > 0) {
      const data = await client.request(
        CREATE_VARIANTS,
        {
          input: toCreate.map((v) => ({
            productId: id,
            sku: v.sku,
            price: v.price,
            enabled: v.enabled,
            translations: variantTranslations(lang, v),
            optionIds: idsFor(v),
          })),
        },
        z.object({
          createProductVariants: z.array(
            z.union([z.object({ id: z.string(), sku: z.string() }), ErrorResult]).nullable(),
          ),
        }),
      );
      const bad = data.createProductVariants.find((v) => v === null || "errorCode" in v);
      if (bad !== undefined) {
        return {
          key: item.key,
          ok: false,
          error: errorResult(system, `the variants of ${item.key}`, bad ?? {}, "variants"),
        };
      }
    }
    return { key: item.key, ok: true, targetId: id, action: existing === null ? "created" : "updated" };
  }

  return {
    entity: "product",
    estimateCalls: perRecord({ create: 4, update: 3, perBatch: 1 }),
    async upsert(items) {
      const facet = items.some((i) => (i.record.categories ?? []).length > 0)
        ? await readCategoryFacet(client)
        : null;
      const found = await variantsBySku(
        client,
        // A kit's components too (same look-up): the shop sells a kit of variants it holds.
        items.flatMap((i) => [...i.record.variants, ...i.record.components].map((v) => v.sku)),
      );
      const inPage = new Set(items.flatMap((i) => i.record.variants.map((v) => v.sku)));
      const ownersOf = (item: WriteItem<"product">) =>
        new Set(item.record.variants.flatMap((v) => (found.get(v.sku) ?? []).map((x) => x.productId)));
      // A product whose SKUs find nothing may still exist: created, then the process died before its
      // variants were. Its slug (from the key) finds it, so it is completed rather than created twice.
      const bySlug = await productIdsBySlug(
        client,
        items.filter((i) => !i.targetId && ownersOf(i).size === 0).map((i) => slugFor(i.key)),
      );
      const results: WriteResult[] = [];
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            const owners = ownersOf(item);
            const unknown = item.record.components
              .map((c) => c.sku)
              .filter((sku) => !inPage.has(sku) && (found.get(sku) ?? []).length === 0);
            if (unknown.length > 0) {
              // Retryable: the component may be a product a later page (or run) writes.
              return failed(
                item.key,
                "retryable",
                `kit ${item.key}: component ${unknown.join(", ")} is not a variant of the Vendure shop (a kit is sold once its components are)`,
                system,
                "components",
              );
            }
            if (owners.size > 1) {
              return failed(
                item.key,
                "permanent",
                `the SKUs of ${item.key} belong to ${owners.size} different Vendure products`,
                system,
                "variants",
              );
            }
            return writeOne(
              item,
              item.targetId ?? [...owners][0] ?? bySlug.get(slugFor(item.key)) ?? null,
              facet,
            );
          }),
        );
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const skus = record.variants.map((v) => v.sku);
      const found = await variantsBySku(client, skus);
      const bySku = skus.flatMap((s) => found.get(s) ?? [])[0]?.productId;
      if (bySku !== undefined) return bySku;
      const slug = slugFor(record.key);
      return (await productIdsBySlug(client, [slug])).get(slug) ?? null;
    },
  };
}

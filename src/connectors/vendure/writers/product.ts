/**
 * Canonical Product → a Vendure product with its variants (SKU, price in the channel's currency, options).
 * Option names become product option groups of the product, option values their options; a product with
 * several variants and no options gets one "Variant" group named after each variant. Existing products are
 * found by SKU, so a crash between "created" and "linked" is repaired by looking, and an identical second
 * write is "unchanged" without a single mutation. Variants gone from the ERP are deleted.
 */
import { z } from "zod";
import type { Product } from "../../../core/model.ts";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { perRecord } from "../../call-estimate.ts";
import { ErrorResult, toMinor, type VendureClient } from "../client.ts";
import { type ChannelInfo, errorResult, variantsBySku } from "../lookup.ts";
import { failed, perItem } from "./results.ts";

const FALLBACK_OPTION = "Variant";

export function slugFor(text: string): string {
  return (
    text
      .toLowerCase()
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "product"
  );
}

const PRODUCT = `query Product($id: ID!) {
  product(id: $id) {
    id name slug description enabled
    optionGroups { id code name options { id code name } }
    variants { id sku name price enabled options { id groupId name } }
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
        }),
      ),
    })
    .nullable(),
});
type VendureProduct = NonNullable<z.infer<typeof ProductAnswer>["product"]>;

const CREATE_PRODUCT = `mutation CreateProduct($input: CreateProductInput!) { createProduct(input: $input) { id } }`;
const UPDATE_PRODUCT = `mutation UpdateProduct($input: UpdateProductInput!) { updateProduct(input: $input) { id } }`;
const CREATE_GROUP = `mutation CreateGroup($input: CreateProductOptionGroupInput!) {
  createProductOptionGroup(input: $input) { id code name options { id code name } }
}`;
const ADD_GROUP = `mutation AddGroup($productId: ID!, $groupId: ID!) {
  addOptionGroupToProduct(productId: $productId, optionGroupId: $groupId) { id }
}`;
const CREATE_OPTION = `mutation CreateOption($input: CreateProductOptionInput!) {
  createProductOption(input: $input) { id code name }
}`;
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
}
interface Desired {
  name: string;
  slug: string;
  description: string;
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
    return {
      sku: v.sku,
      name: v.title ?? (suffix ? `${p.title} ${suffix}` : p.title),
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
    enabled: p.status === "active",
    groups: groupNames.map((name) => ({
      name,
      values: [...new Set(variants.map((v) => v.options[name] ?? "-"))],
    })),
    variants,
  };
}

function current(p: VendureProduct): Desired {
  const groupName = new Map(p.optionGroups.map((g) => [g.id, g.name]));
  // Groups and options no variant uses any more are left on the product and do not count as a difference.
  const used = new Set(p.variants.flatMap((v) => v.options.map((o) => o.id)));
  return {
    name: p.name,
    slug: p.slug,
    description: p.description,
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
      variants: [...d.variants]
        .map((v) => ({ ...v, options: Object.fromEntries(Object.entries(v.options).sort()) }))
        .sort((x, y) => x.sku.localeCompare(y.sku)),
    });
  return norm(a) === norm(b);
}

export function productWriter(
  system: string,
  client: VendureClient,
  channel: () => Promise<ChannelInfo>,
): Writer<"product"> {
  async function read(id: string): Promise<VendureProduct | null> {
    return (await client.request(PRODUCT, { id }, ProductAnswer)).product;
  }

  /** Option ids per group name → option name, creating groups and options the product lacks. */
  async function ensureOptions(
    productId: string,
    existing: VendureProduct | null,
    want: Desired,
    lang: string,
  ): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>();
    for (const g of want.groups) {
      const have = existing?.optionGroups.find((x) => x.name === g.name);
      if (!have) {
        const data = await client.request(
          CREATE_GROUP,
          {
            input: {
              code: `${want.slug}-${slugFor(g.name)}`,
              translations: [{ languageCode: lang, name: g.name }],
              options: g.values.map((v) => ({
                code: slugFor(v),
                translations: [{ languageCode: lang, name: v }],
              })),
            },
          },
          z.object({
            createProductOptionGroup: z.object({
              id: z.string(),
              options: z.array(z.object({ id: z.string(), name: z.string() })),
            }),
          }),
        );
        const created = data.createProductOptionGroup;
        await client.request(ADD_GROUP, { productId, groupId: created.id }, z.unknown());
        out.set(g.name, new Map(created.options.map((o) => [o.name, o.id])));
        continue;
      }
      const ids = new Map(have.options.map((o) => [o.name, o.id]));
      for (const v of g.values) {
        if (ids.has(v)) continue;
        const data = await client.request(
          CREATE_OPTION,
          {
            input: {
              productOptionGroupId: have.id,
              code: slugFor(v),
              translations: [{ languageCode: lang, name: v }],
            },
          },
          z.object({ createProductOption: z.object({ id: z.string() }) }),
        );
        ids.set(v, data.createProductOption.id);
      }
      out.set(g.name, ids);
    }
    return out;
  }

  async function writeOne(item: WriteItem<"product">, productId: string | null): Promise<WriteResult> {
    const p = item.record;
    const ch = await channel();
    if (p.currency !== ch.defaultCurrencyCode) {
      return failed(
        item.key,
        "data",
        `product ${item.key} is priced in ${p.currency}; the Vendure channel ${ch.code} sells in ${ch.defaultCurrencyCode}`,
        system,
        "currency",
      );
    }
    const want = desired(p);
    const existing = productId === null ? null : await read(productId);
    if (existing !== null && same(current(existing), want)) {
      return { key: item.key, ok: true, targetId: existing.id, action: "unchanged" };
    }
    const lang = ch.defaultLanguageCode;
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
        { input: { enabled: want.enabled, translations: [translation] } },
        z.object({ createProduct: z.object({ id: z.string() }) }),
      );
      id = data.createProduct.id;
    } else {
      id = existing.id;
      if (
        existing.name !== want.name ||
        existing.description !== want.description ||
        existing.enabled !== want.enabled
      ) {
        await client.request(
          UPDATE_PRODUCT,
          { input: { id, enabled: want.enabled, translations: [{ ...translation, slug: existing.slug }] } },
          z.unknown(),
        );
      }
    }
    const optionIds = await ensureOptions(id, existing, want, lang);
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
            translations: [{ languageCode: lang, name: v.name }],
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
            translations: [{ languageCode: lang, name: v.name }],
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
      const found = await variantsBySku(
        client,
        items.flatMap((i) => i.record.variants.map((v) => v.sku)),
      );
      const results: WriteResult[] = [];
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            const owners = new Set(
              item.record.variants.flatMap((v) => (found.get(v.sku) ?? []).map((x) => x.productId)),
            );
            if (owners.size > 1) {
              return failed(
                item.key,
                "permanent",
                `the SKUs of ${item.key} belong to ${owners.size} different Vendure products`,
                system,
                "variants",
              );
            }
            return writeOne(item, item.targetId ?? [...owners][0] ?? null);
          }),
        );
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const sku = record.variants[0]?.sku;
      if (sku === undefined) return null;
      return (await variantsBySku(client, [sku])).get(sku)?.[0]?.productId ?? null;
    },
  };
}

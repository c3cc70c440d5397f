/**
 * Vendure products → canonical Product, for two-way product content (the shop or a PIM owns descriptions,
 * the ERP everything else; see docs/two-way.md). A Vendure product holds nothing that carries the ERP's
 * product key (its slug is derived from it, lower-cased), so the stream asks the engine for the key of each
 * product's link (`keysFromLinks`); a product with no link is read under its slug, and is one only the shop
 * holds.
 *
 * Read whole each run, compared by content, never by `updatedAt`: on the real server a variant's price edit
 * moves the variant's updatedAt and not the product's, so an incremental read would miss a shop's price
 * edit (which the ERP, owning prices, must overwrite) for ever. Every run reads all products (keyset on
 * createdAt, which never moves, so paging neither skips nor repeats) and the engine skips those whose
 * content hash is unchanged: one call per page of products and run. A record's instant (for
 * last-writer-wins) is the latest of the product's and its variants' updatedAt.
 *
 * The mapping is the product writer's (writers/product.ts) inverted: name → title, description (empty: none),
 * enabled → active (else draft: Vendure has no archived product), the category facet's values → categories,
 * variants with SKU, price (the channel's currency), options by group name, disabled → archived, and a
 * variant name the writer made from the product's title → no title of its own. Images, attributes and kit
 * components are not read (the ERP owns them in a product content flow).
 */
import { z } from "zod";
import type { Product } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import { fromMinor, type VendureClient } from "../client.ts";
import type { ChannelInfo } from "../lookup.ts";
import { listOf } from "../native.ts";
import { CATEGORY_FACET } from "../writers/category-facet.ts";
import { keysetPages } from "./paging.ts";

const PRODUCT_FIELDS = `id createdAt updatedAt name slug description enabled
  facetValues { code facet { code } }
  optionGroups { id name }
  variants { id updatedAt sku name price enabled options { groupId name } }`;

const VendureProduct = z.object({
  id: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  name: z.string(),
  slug: z.string(),
  description: z.string().nullable(),
  enabled: z.boolean(),
  facetValues: z.array(z.object({ code: z.string(), facet: z.object({ code: z.string() }) })),
  optionGroups: z.array(z.object({ id: z.string(), name: z.string() })),
  variants: z.array(
    z.object({
      id: z.string(),
      updatedAt: z.string(),
      sku: z.string(),
      name: z.string(),
      price: z.number().int(),
      enabled: z.boolean(),
      options: z.array(z.object({ groupId: z.string(), name: z.string() })),
    }),
  ),
});
export type VendureProduct = z.infer<typeof VendureProduct>;

const PRODUCTS = `query Products($options: ProductListOptions) {
  products(options: $options) { items { ${PRODUCT_FIELDS} } totalItems }
}`;
const PRODUCT = `query Product($id: ID!) { product(id: $id) { ${PRODUCT_FIELDS} } }`;

/** The latest of the product's own change and its variants' (a price edit moves only the variant's). */
function lastChange(p: VendureProduct): string {
  let at = p.updatedAt;
  for (const v of p.variants) if (Date.parse(v.updatedAt) > Date.parse(at)) at = v.updatedAt;
  return new Date(Date.parse(at)).toISOString();
}

export function productToCanonical(system: string, p: VendureProduct, channel: ChannelInfo): Product {
  const currency = channel.defaultCurrencyCode;
  const groupName = new Map(p.optionGroups.map((g) => [g.id, g.name]));
  const categories = p.facetValues
    .filter((v) => v.facet.code === CATEGORY_FACET)
    .map((v) => v.code.replace(/^category-/, ""))
    .sort();
  const variants = [...p.variants]
    .sort((a, b) => Number(a.id) - Number(b.id) || a.id.localeCompare(b.id))
    .map((v) => {
      const options = Object.fromEntries(
        v.options.map((o) => [groupName.get(o.groupId) ?? o.groupId, o.name] as const),
      );
      const suffix = Object.values(options).join(" ");
      // The writer names a variant with no title of its own after the product (and its options).
      const made = v.name === p.name || (suffix !== "" && v.name === `${p.name} ${suffix}`);
      return {
        sku: v.sku,
        ...(made ? {} : { title: v.name }),
        price: fromMinor(v.price, currency),
        options,
        ...(v.enabled ? {} : { status: "archived" as const }),
      };
    });
  return {
    source: system,
    sourceId: p.id,
    updatedAt: lastChange(p),
    key: p.slug,
    title: p.name,
    ...(p.description ? { description: p.description } : {}),
    status: p.enabled ? "active" : "draft",
    currency,
    categoryPath: [],
    ...(categories.length > 0 ? { categories } : {}),
    attributes: {},
    images: [],
    variants,
    components: [],
  };
}

export function productStream(
  system: string,
  client: VendureClient,
  channel: () => Promise<ChannelInfo>,
  maxPage: number,
): Stream<"product", VendureProduct> {
  const query = {
    document: PRODUCTS,
    field: "products",
    answer: listOf("products", VendureProduct),
    timeField: "createdAt" as const,
    updatedAt: (p: VendureProduct) => p.createdAt,
    id: (p: VendureProduct) => p.id,
  };
  return {
    entity: "product",
    // Whole reads, compared by content: the cursor never applies (see above).
    sorted: false,
    keysFromLinks: true,
    async *list(req) {
      for await (const page of keysetPages(client, query, { ...req, since: null }, maxPage)) {
        const withVariants = page.filter((p) => p.variants.length > 0);
        if (withVariants.length > 0) yield withVariants;
      }
    },
    get: async (id) => {
      const p = (await client.request(PRODUCT, { id }, z.object({ product: VendureProduct.nullable() })))
        .product;
      return p && p.variants.length > 0 ? p : null;
    },
    idOf: (p) => p.id,
    updatedAtOf: lastChange,
    toCanonical: async (p) => productToCanonical(system, p, await channel()),
  };
}

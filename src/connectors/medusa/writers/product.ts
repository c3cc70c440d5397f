/**
 * Products with their options and variants. A product is found by its link, then by `external_id` (the
 * canonical key, which the writer sets), then by its variants' SKUs (a product made by hand in Medusa is
 * adopted, never duplicated: Medusa refuses a SKU twice anyway). What Medusa holds is compared first and only
 * what differs is sent: an unchanged product costs one read and no write.
 *
 * Medusa has no product or variant status "archived": a product's archived maps to "rejected" (never listed by
 * the Store API, kept for past orders), and an archived variant keeps its row but loses its prices (a variant
 * without a price in the cart's currency cannot be added to a cart) and is marked in its metadata.
 */
import Big from "big.js";
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Product } from "../../../core/model.ts";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { failed, perItem } from "../../write-results.ts";
import { type MedusaClient, q } from "../client.ts";
import type { MedusaLookups } from "../lookup.ts";

const STATUS: Record<Product["status"], string> = {
  active: "published",
  draft: "draft",
  archived: "rejected",
};
/** The option Medusa itself gives a product without options (every Medusa variant needs one). */
export const DEFAULT_OPTION = { title: "Default option", value: "Default option value" };
export const ARCHIVED = "passerelle_archived";

const str = z
  .string()
  .nullish()
  .transform((v) => v ?? "");
const Price = z.object({ id: z.string(), amount: z.number(), currency_code: z.string() });
const HeldVariant = z.object({
  id: z.string(),
  sku: z.string().nullable(),
  title: str,
  metadata: z.record(z.string(), z.unknown()).nullish(),
  options: z
    .array(z.object({ value: z.string(), option: z.object({ title: z.string() }).nullish() }))
    .nullish(),
  prices: z.array(Price).nullish(),
});
export const HeldProduct = z.object({
  id: z.string(),
  title: z.string(),
  handle: z.string(),
  status: z.string(),
  description: str,
  external_id: str,
  options: z
    .array(
      z.object({
        id: z.string(),
        title: z.string(),
        values: z.array(z.object({ value: z.string() })).nullish(),
      }),
    )
    .nullish(),
  variants: z.array(HeldVariant).nullish(),
});
export type HeldProduct = z.infer<typeof HeldProduct>;
export const PRODUCT_FIELDS =
  "id,title,handle,status,description,external_id,*options,*options.values,*variants,*variants.options,*variants.options.option,*variants.prices,variants.metadata";

/** A handle from the key: lower-case letters, digits and dashes, as Medusa's store URLs take them. */
export const handleOf = (key: string): string =>
  key
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "") || "product";

const optionsOf = (v: Product["variants"][number]): Record<string, string> =>
  Object.keys(v.options).length > 0 ? v.options : { [DEFAULT_OPTION.title]: DEFAULT_OPTION.value };

/** Option titles in first-seen order, each with its values in first-seen order. */
function wantedOptions(p: Product): { title: string; values: string[] }[] {
  const byTitle = new Map<string, string[]>();
  for (const v of p.variants)
    for (const [title, value] of Object.entries(optionsOf(v))) {
      const list = byTitle.get(title) ?? [];
      if (!list.includes(value)) list.push(value);
      byTitle.set(title, list);
    }
  return [...byTitle].map(([title, values]) => ({ title, values }));
}

const variantTitle = (v: Product["variants"][number]): string =>
  v.title ?? (Object.values(v.options).join(" / ") || v.sku);

/** The variant's prices: those Medusa holds in other currencies kept, the record's currency set. */
function pricesFor(held: z.infer<typeof Price>[], currency: string, amount: string | null) {
  const cur = currency.toLowerCase();
  const others = held
    .filter((p) => p.currency_code !== cur)
    .map((p) => ({
      id: p.id,
      currency_code: p.currency_code,
      amount: p.amount,
    }));
  return amount === null ? others : [...others, { currency_code: cur, amount: Number(amount) }];
}

export function productWriter(
  system: string,
  client: MedusaClient,
  lookups: MedusaLookups,
  prices: "always" | "on-create" = "always",
): Writer<"product"> {
  /** Whether an existing variant's prices are this writer's to change (see MedusaConfig.productPrices). */
  const ownsPrices = prices === "always";
  const read = (id: string) =>
    client.find(
      `/admin/products/${encodeURIComponent(id)}?${q({ fields: PRODUCT_FIELDS })}`,
      z.object({ product: HeldProduct }),
      "product",
    );

  /** The product this connector wrote for the key (it carries the key as its external_id). */
  async function byKey(key: string): Promise<HeldProduct | null> {
    const { products } = await client.get(
      `/admin/products?${q({ external_id: key, fields: PRODUCT_FIELDS })}`,
      z.object({ products: z.array(HeldProduct) }),
      "product by external_id",
    );
    return products.find((x) => x.external_id === key) ?? null;
  }

  /** The Medusa product holding the record: by link, external_id, then its variants' SKUs. */
  async function find(p: Product, targetId: string | null): Promise<HeldProduct | null> {
    if (targetId) {
      const got = await read(targetId);
      if (got) return got.product;
    }
    const mine = await byKey(p.key);
    if (mine) return mine;
    const bySku = await lookups.variants(p.variants.map((v) => v.sku));
    const owners = [...new Set([...bySku.values()].map((v) => v.product_id))];
    if (owners.length > 1) {
      throw new SyncError(
        "permanent",
        `the SKUs of ${p.key} belong to ${owners.length} Medusa products (${owners.join(", ")}); merge them in Medusa first`,
        { system, field: "variants" },
      );
    }
    return owners[0] ? ((await read(owners[0]))?.product ?? null) : null;
  }

  async function create(p: Product): Promise<string> {
    const { salesChannelId, shippingProfileId } = await lookups.defaults();
    const made = await client.write(
      "POST",
      `/admin/products?${q({ fields: "id" })}`,
      {
        title: p.title,
        handle: handleOf(p.key),
        status: STATUS[p.status],
        ...(p.description !== undefined ? { description: p.description } : {}),
        external_id: p.key,
        ...(salesChannelId ? { sales_channels: [{ id: salesChannelId }] } : {}),
        ...(shippingProfileId ? { shipping_profile_id: shippingProfileId } : {}),
        options: wantedOptions(p),
        variants: p.variants.map((v) => ({
          title: variantTitle(v),
          sku: v.sku,
          ...(v.barcode ? { barcode: v.barcode } : {}),
          options: optionsOf(v),
          manage_inventory: true,
          prices: v.status === "archived" ? [] : pricesFor([], p.currency, v.price),
          ...(v.status === "archived" ? { metadata: { [ARCHIVED]: true } } : {}),
        })),
      },
      z.object({ product: z.object({ id: z.string() }) }),
      "product create",
    );
    return made.product.id;
  }

  /** Sends what differs; returns whether anything was sent. */
  async function update(p: Product, have: HeldProduct): Promise<boolean> {
    let wrote = false;
    const base = {
      title: p.title,
      status: STATUS[p.status],
      description: p.description ?? "",
      external_id: p.key,
    };
    if (
      have.title !== base.title ||
      have.status !== base.status ||
      have.description !== base.description ||
      have.external_id !== base.external_id
    ) {
      await client.write(
        "POST",
        `/admin/products/${have.id}?${q({ fields: "id" })}`,
        base,
        z.object({}).loose(),
        "product update",
      );
      wrote = true;
    }
    // Since Medusa 2.16 a product's options are linked option records: new options and new values of its
    // own options go through one batch. Values no record uses any more stay: a variant Medusa keeps (past
    // orders) may still hold them.
    const add: { title: string; values: string[]; is_exclusive: true }[] = [];
    const extend: { product_option_id: string; add: { value: string }[] }[] = [];
    for (const want of wantedOptions(p)) {
      const held = (have.options ?? []).find((o) => o.title === want.title);
      if (!held) {
        add.push({ ...want, is_exclusive: true });
        continue;
      }
      const values = (held.values ?? []).map((v) => v.value);
      const missing = want.values.filter((v) => !values.includes(v));
      if (missing.length > 0)
        extend.push({ product_option_id: held.id, add: missing.map((value) => ({ value })) });
    }
    if (add.length > 0 || extend.length > 0) {
      await client.write(
        "POST",
        `/admin/products/${have.id}/options/batch?${q({ fields: "id" })}`,
        { ...(add.length > 0 ? { add } : {}), ...(extend.length > 0 ? { update: extend } : {}) },
        z.object({}).loose(),
        "product options batch",
      );
      wrote = true;
    }
    const bySku = new Map((have.variants ?? []).filter((v) => v.sku).map((v) => [v.sku as string, v]));
    const create: unknown[] = [];
    const updates: unknown[] = [];
    for (const v of p.variants) {
      const held = bySku.get(v.sku);
      const archived = v.status === "archived";
      const prices = held?.prices ?? [];
      if (!held) {
        create.push({
          title: variantTitle(v),
          sku: v.sku,
          ...(v.barcode ? { barcode: v.barcode } : {}),
          options: optionsOf(v),
          manage_inventory: true,
          prices: archived ? [] : pricesFor([], p.currency, v.price),
          ...(archived ? { metadata: { [ARCHIVED]: true } } : {}),
        });
        continue;
      }
      const heldOptions = Object.fromEntries(
        (held.options ?? []).map((o) => [o.option?.title ?? "", o.value] as const),
      );
      const wantOptions = optionsOf(v);
      const sameOptions =
        Object.keys(heldOptions).length === Object.keys(wantOptions).length &&
        Object.entries(wantOptions).every(([k, val]) => heldOptions[k] === val);
      const cur = p.currency.toLowerCase();
      const own = prices.find((x) => x.currency_code === cur);
      const wasArchived = held.metadata?.[ARCHIVED] === true;
      // A variant archived (its prices taken away) or brought back (priced again) is this writer's either
      // way; otherwise its prices are the price flow's when productPrices is on-create.
      const pricesHere = ownsPrices || archived || wasArchived;
      const samePrice = !pricesHere
        ? true
        : archived
          ? prices.length === 0
          : own !== undefined && new Big(own.amount).eq(new Big(v.price));
      if (held.title === variantTitle(v) && sameOptions && samePrice && wasArchived === archived) continue;
      updates.push({
        id: held.id,
        title: variantTitle(v),
        options: wantOptions,
        ...(pricesHere ? { prices: archived ? [] : pricesFor(prices, p.currency, v.price) } : {}),
        metadata: { ...(held.metadata ?? {}), [ARCHIVED]: archived },
      });
    }
    if (create.length > 0 || updates.length > 0) {
      await client.write(
        "POST",
        `/admin/products/${have.id}/variants/batch`,
        { create, update: updates },
        z.object({}).loose(),
        "variants batch",
      );
      wrote = true;
    }
    return wrote;
  }

  async function one(item: WriteItem<"product">): Promise<WriteResult> {
    const p = item.record;
    const skus = p.variants.map((v) => v.sku);
    const twice = skus.find((s, i) => skus.indexOf(s) !== i);
    if (twice)
      return failed(item.key, "data", `${p.key} has SKU ${JSON.stringify(twice)} twice`, system, "variants");
    const have = await find(p, item.targetId);
    if (!have) return { key: item.key, ok: true, targetId: await create(p), action: "created" };
    const wrote = await update(p, have);
    return { key: item.key, ok: true, targetId: have.id, action: wrote ? "updated" : "unchanged" };
  }

  return {
    entity: "product",
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items) results.push(await perItem(item.key, system, () => one(item)));
      return results;
    },
    // The key alone: a product found only by its SKUs was not written by this connector (upsert adopts it).
    findByExternalRef: async (ref) => (await byKey(ref))?.id ?? null,
    // Per product: a create costs the lookups by external_id and by SKU and the create (plus the store's
    // defaults once); an update the read by link, the product update, the options batch and the variants
    // batch.
    estimateCalls: (page) =>
      page.create.length * 3 +
      page.update.length * 4 +
      page.lookups.length * 2 +
      (page.first && page.create.length > 0 ? 2 : 0),
  };
}

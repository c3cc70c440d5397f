/**
 * Root mutation fields. Arguments arrive already coerced by graphql-js to the schema's input types; zod
 * narrows them to what this emulator reads. Bad values yield `userErrors` as the real API does, and a
 * mutation that changed nothing leaves `updatedAt` (and the emulator's write count) alone.
 */
import Big from "big.js";
import { GraphQLError } from "graphql";
import { z } from "zod";
import type {
  CollectionRec,
  FulfillmentOrderRec,
  InventoryItemRec,
  MenuItemRec,
  OrderRec,
  ProductRec,
  ShopData,
  VariantRec,
} from "./store.ts";
import type { Src, Views } from "./views.ts";

export interface ExecContext {
  /** Set by a mutation that changed state. */
  wrote: boolean;
  /** Arguments of @idempotent on the mutation field, when present. */
  idempotencyKey: string | null;
}

interface UserError {
  field: string[] | null;
  message: string;
  code?: string;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;
const MoneyInput = z.object({ amount: z.string(), currencyCode: z.string() });

const ProductSetArgs = z.object({
  identifier: z.object({ id: z.string().nullish(), handle: z.string().nullish() }).nullish(),
  input: z.object({
    id: z.string().nullish(),
    handle: z.string().nullish(),
    title: z.string().nullish(),
    descriptionHtml: z.string().nullish(),
    vendor: z.string().nullish(),
    productType: z.string().nullish(),
    status: z.enum(["ACTIVE", "ARCHIVED", "DRAFT", "UNLISTED"]).nullish(),
    tags: z.array(z.string()).nullish(),
    collections: z.array(z.string()).nullish(),
    productOptions: z
      .array(
        z.object({
          name: z.string().nullish(),
          values: z.array(z.object({ name: z.string().nullish() })).nullish(),
        }),
      )
      .nullish(),
    variants: z
      .array(
        z.object({
          id: z.string().nullish(),
          sku: z.string().nullish(),
          barcode: z.string().nullish(),
          price: z.string().nullish(),
          compareAtPrice: z.string().nullish(),
          optionValues: z.array(z.object({ optionName: z.string().nullish(), name: z.string().nullish() })),
          inventoryItem: z.object({ sku: z.string().nullish(), tracked: z.boolean().nullish() }).nullish(),
        }),
      )
      .nullish(),
  }),
});

const CollectionFields = z.object({
  id: z.string().nullish(),
  title: z.string().nullish(),
  handle: z.string().nullish(),
  descriptionHtml: z.string().nullish(),
  products: z.array(z.string()).nullish(),
  metafields: z
    .array(
      z.object({
        namespace: z.string().nullish(),
        key: z.string().nullish(),
        type: z.string().nullish(),
        value: z.string().nullish(),
      }),
    )
    .nullish(),
});
const CollectionArgs = z.object({
  input: CollectionFields.nullish(),
  collection: CollectionFields.nullish(),
});

interface MenuItemIn {
  id?: string | null;
  title: string;
  type: string;
  resourceId?: string | null;
  url?: string | null;
  tags?: string[] | null;
  items?: MenuItemIn[] | null;
}
const MenuItemInput: z.ZodType<MenuItemIn> = z.lazy(() =>
  z.object({
    id: z.string().nullish(),
    title: z.string(),
    type: z.string(),
    resourceId: z.string().nullish(),
    url: z.string().nullish(),
    tags: z.array(z.string()).nullish(),
    items: z.array(MenuItemInput).nullish(),
  }),
);
const MenuArgs = z.object({
  id: z.string().nullish(),
  title: z.string(),
  handle: z.string().nullish(),
  items: z.array(MenuItemInput),
});

const InventorySetArgs = z.object({
  input: z.object({
    name: z.string(),
    reason: z.string(),
    referenceDocumentUri: z.string().nullish(),
    quantities: z.array(
      z.object({
        inventoryItemId: z.string(),
        locationId: z.string(),
        quantity: z.number(),
        changeFromQuantity: z.number().nullable().optional(),
      }),
    ),
  }),
});

const PriceInput = z.object({
  variantId: z.string(),
  price: MoneyInput,
  compareAtPrice: MoneyInput.nullish(),
});

const REASONS = new Set([
  "correction",
  "cycle_count_available",
  "damaged",
  "movement_created",
  "movement_updated",
  "movement_received",
  "movement_canceled",
  "other",
  "promotion",
  "quality_control",
  "received",
  "reservation_created",
  "reservation_deleted",
  "reservation_updated",
  "restock",
  "safety_stock",
  "shrinkage",
]);

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "product"
  );
}

function snapshot(d: ShopData, p: ProductRec): string {
  return JSON.stringify({
    ...p,
    updatedAt: "",
    variants: p.variantIds.map((id) => ({ ...d.variants.get(id), updatedAt: "" })),
  });
}

export function mutationRoot(d: ShopData, v: Views): Src {
  const productSet = (raw: unknown, ctx: ExecContext): Src => {
    const { identifier, input } = ProductSetArgs.parse(raw);
    const errors: UserError[] = [];
    const fail = (field: string[], message: string, code: string) => {
      errors.push({ field, message, code });
      return { product: null, productSetOperation: null, userErrors: errors };
    };
    const wantedId = identifier?.id ?? input.id ?? null;
    let product: ProductRec | undefined;
    if (wantedId !== null) {
      product = d.products.get(wantedId);
      if (!product) return fail(["input", "id"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST");
    } else if (identifier?.handle) {
      product = d.productByHandle(identifier.handle);
    }
    if (!product && !input.title) return fail(["input", "title"], "Title can't be blank", "INVALID_PRODUCT");
    const options =
      input.productOptions?.map((o) => ({
        name: o.name ?? "",
        values: (o.values ?? []).map((x) => x.name ?? ""),
      })) ??
      product?.options ??
      [];
    const variantsIn = input.variants ?? null;
    if (variantsIn !== null) {
      if (variantsIn.length === 0)
        return fail(["input", "variants"], "Variants input is missing", "VARIANTS_INPUT_MISSING");
      if (variantsIn.length > 2048)
        return fail(["input", "variants"], "Variants over limit", "VARIANTS_OVER_LIMIT");
      if (input.productOptions === null || input.productOptions === undefined) {
        if (!product)
          return fail(
            ["input", "productOptions"],
            "Product options input is missing",
            "PRODUCT_OPTIONS_INPUT_MISSING",
          );
      }
      const combos = new Set<string>();
      for (const [i, vi] of variantsIn.entries()) {
        for (const [j, ov] of vi.optionValues.entries()) {
          const opt = options.find((o) => o.name === ov.optionName);
          if (!opt)
            return fail(
              ["input", "variants", String(i), "optionValues", String(j)],
              `Option does not exist`,
              "OPTION_DOES_NOT_EXIST",
            );
          if (!opt.values.includes(ov.name ?? ""))
            return fail(
              ["input", "variants", String(i), "optionValues", String(j)],
              "Option value does not exist",
              "OPTION_VALUE_DOES_NOT_EXIST",
            );
        }
        if (vi.optionValues.length !== options.length)
          return fail(
            ["input", "variants", String(i), "optionValues"],
            "Option values are missing",
            "OPTION_VALUES_MISSING",
          );
        const combo = JSON.stringify(vi.optionValues.map((o) => [o.optionName, o.name]));
        if (combos.has(combo))
          return fail(
            ["input", "variants", String(i)],
            "The variant already exists with the same options",
            "DUPLICATED_OPTION_VALUE",
          );
        combos.add(combo);
        for (const [f, val] of [
          ["price", vi.price],
          ["compareAtPrice", vi.compareAtPrice],
        ] as const) {
          if (val !== null && val !== undefined && (!DECIMAL.test(val) || new Big(val).lt(0)))
            return fail(
              ["input", "variants", String(i), f],
              `${f} must be a non-negative decimal, got "${val}"`,
              "INVALID_VARIANT",
            );
        }
        if (vi.id && d.variants.get(vi.id)?.productId !== product?.id)
          return fail(
            ["input", "variants", String(i), "id"],
            "Product variant does not exist",
            "PRODUCT_VARIANT_DOES_NOT_EXIST",
          );
      }
    }
    for (const [i, c] of (input.collections ?? []).entries()) {
      if (!d.collections.has(c))
        return fail(
          ["input", "collections", String(i)],
          "Collection does not exist",
          "COLLECTION_DOES_NOT_EXIST",
        );
    }
    const now = d.now();
    const before = product ? snapshot(d, product) : null;
    if (!product) {
      const id = d.gid("Product");
      let handle = input.handle ?? identifier?.handle ?? slug(input.title ?? "");
      if (d.productByHandle(handle)) handle = `${handle}-${id.split("/").pop()}`;
      product = {
        id,
        title: input.title ?? "",
        handle,
        descriptionHtml: "",
        vendor: "",
        productType: "",
        status: "ACTIVE",
        tags: [],
        options: [],
        variantIds: [],
        createdAt: now,
        updatedAt: now,
      };
      d.products.set(id, product);
    }
    const p = product;
    if (input.title) p.title = input.title;
    if (input.descriptionHtml !== null && input.descriptionHtml !== undefined)
      p.descriptionHtml = input.descriptionHtml;
    if (input.vendor !== null && input.vendor !== undefined) p.vendor = input.vendor;
    if (input.productType !== null && input.productType !== undefined) p.productType = input.productType;
    if (input.status) p.status = input.status;
    if (input.tags) p.tags = input.tags;
    if (input.handle) {
      p.handle = input.handle;
      d.products.reindex(p.id);
    }
    p.options = options;
    if (variantsIn !== null) {
      const old = p.variantIds.flatMap((id) => d.variants.get(id) ?? []);
      const kept: string[] = [];
      for (const [i, vi] of variantsIn.entries()) {
        const opts = vi.optionValues.map((o) => ({ optionName: o.optionName ?? "", name: o.name ?? "" }));
        const match =
          (vi.id ? d.variants.get(vi.id) : undefined) ??
          old.find((o) => !kept.includes(o.id) && JSON.stringify(o.optionValues) === JSON.stringify(opts));
        const sku = vi.sku ?? vi.inventoryItem?.sku ?? match?.sku ?? null;
        if (match) {
          const next: VariantRec = {
            ...match,
            sku,
            barcode: vi.barcode === undefined ? match.barcode : vi.barcode,
            price: vi.price ?? match.price,
            compareAtPrice: vi.compareAtPrice === undefined ? match.compareAtPrice : vi.compareAtPrice,
            optionValues: opts,
            position: i + 1,
          };
          if (JSON.stringify(next) !== JSON.stringify(match)) next.updatedAt = now;
          d.variants.set(match.id, next);
          kept.push(match.id);
        } else {
          const id = d.gid("ProductVariant");
          const itemId = d.gid("InventoryItem");
          const item: InventoryItemRec = {
            id: itemId,
            variantId: id,
            tracked: vi.inventoryItem?.tracked ?? true,
            levels: new Map(),
            createdAt: now,
            updatedAt: now,
          };
          // A new variant is stocked at every location with zero, as Shopify does for the default location.
          for (const l of d.locations.keys()) item.levels.set(l, { available: 0, on_hand: 0, committed: 0 });
          d.inventoryItems.set(itemId, item);
          d.variants.set(id, {
            id,
            productId: p.id,
            inventoryItemId: itemId,
            sku,
            barcode: vi.barcode ?? null,
            price: vi.price ?? "0",
            compareAtPrice: vi.compareAtPrice ?? null,
            optionValues: opts,
            position: i + 1,
            createdAt: now,
            updatedAt: now,
          });
          kept.push(id);
        }
      }
      // productSet's list semantics: variants absent from the input are deleted.
      for (const o of old) {
        if (kept.includes(o.id)) continue;
        d.variants.delete(o.id);
        d.inventoryItems.delete(o.inventoryItemId);
      }
      p.variantIds = kept;
    }
    // The product's collections: exactly those listed (a collection not listed loses it).
    let moved = false;
    if (input.collections) {
      const wanted = new Set(input.collections);
      for (const c of d.collections.values()) {
        const has = c.productIds.includes(p.id);
        if (wanted.has(c.id) && !has) c.productIds.push(p.id);
        else if (!wanted.has(c.id) && has) c.productIds = c.productIds.filter((x) => x !== p.id);
        else continue;
        c.updatedAt = now;
        moved = true;
      }
    }
    if (before === null || moved || snapshot(d, p) !== before) {
      p.updatedAt = now;
      ctx.wrote = true;
    }
    return { product: v.product(p), productSetOperation: null, userErrors: [] };
  };

  const inventorySetQuantities = (raw: unknown, ctx: ExecContext): Src => {
    if (ctx.idempotencyKey === null) {
      // 2026-04 made the key mandatory; the wording of the real rejection is UNVERIFIED.
      throw new GraphQLError("The @idempotent directive is required for this mutation.", {
        extensions: { code: "BAD_REQUEST" },
      });
    }
    const { input } = InventorySetArgs.parse(raw);
    const replay = d.idempotency.get(ctx.idempotencyKey);
    const fingerprint = JSON.stringify(input);
    if (replay !== undefined) {
      const r = z
        .object({ fingerprint: z.string(), result: z.record(z.string(), z.unknown()) })
        .parse(replay);
      if (r.fingerprint === fingerprint) return r.result;
      return {
        inventoryAdjustmentGroup: null,
        userErrors: [
          {
            field: ["input"],
            message: "The idempotency key was used with different parameters.",
            code: "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
          },
        ],
      };
    }
    const errors: UserError[] = [];
    if (input.name !== "available" && input.name !== "on_hand")
      errors.push({
        field: ["input", "name"],
        message: `The quantity name must be either 'available' or 'on_hand'.`,
        code: "INVALID_NAME",
      });
    if (!REASONS.has(input.reason))
      errors.push({
        field: ["input", "reason"],
        message: `The reason "${input.reason}" is not valid.`,
        code: "INVALID_REASON",
      });
    const seen = new Set<string>();
    for (const [i, q] of input.quantities.entries()) {
      const f = ["input", "quantities", String(i)];
      const item = d.inventoryItems.get(q.inventoryItemId);
      if (!item)
        errors.push({
          field: [...f, "inventoryItemId"],
          message: "The specified inventory item could not be found.",
          code: "INVALID_INVENTORY_ITEM",
        });
      if (!d.locations.has(q.locationId))
        errors.push({
          field: [...f, "locationId"],
          message: "The specified location could not be found.",
          code: "INVALID_LOCATION",
        });
      if (q.quantity < 0 && input.name === "on_hand")
        errors.push({
          field: [...f, "quantity"],
          message: "The quantity can't be negative.",
          code: "INVALID_QUANTITY_NEGATIVE",
        });
      if (q.quantity > 1_000_000_000)
        errors.push({
          field: [...f, "quantity"],
          message: "The quantity is too high.",
          code: "INVALID_QUANTITY_TOO_HIGH",
        });
      if (q.changeFromQuantity === undefined)
        errors.push({
          field: [...f, "changeFromQuantity"],
          message: "changeFromQuantity must be provided (null to skip the check).",
          code: "COMPARE_QUANTITY_REQUIRED",
        });
      const pair = `${q.inventoryItemId}|${q.locationId}`;
      if (seen.has(pair))
        errors.push({
          field: f,
          message: "Duplicate inventory item and location.",
          code: "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
        });
      seen.add(pair);
      const current =
        item?.levels.get(q.locationId)?.[input.name === "on_hand" ? "on_hand" : "available"] ?? 0;
      if (
        q.changeFromQuantity !== null &&
        q.changeFromQuantity !== undefined &&
        q.changeFromQuantity !== current
      )
        errors.push({
          field: [...f, "changeFromQuantity"],
          message: "The quantity has changed since it was read.",
          code: "CHANGE_FROM_QUANTITY_STALE",
        });
    }
    // Negative "available" is allowed by Shopify (oversold); the emulator only rejects it for on_hand.
    if (errors.length > 0) return { inventoryAdjustmentGroup: null, userErrors: errors };
    const now = d.now();
    const changes: Src[] = [];
    for (const q of input.quantities) {
      const item = d.inventoryItems.get(q.inventoryItemId)!;
      const level = item.levels.get(q.locationId) ?? { available: 0, on_hand: 0, committed: 0 };
      const delta = input.name === "on_hand" ? q.quantity - level.on_hand : q.quantity - level.available;
      if (delta !== 0) {
        // on_hand = available + committed: setting one moves the other by the same delta.
        level.available += delta;
        level.on_hand += delta;
        item.updatedAt = now;
        ctx.wrote = true;
      }
      item.levels.set(q.locationId, level);
      changes.push({
        name: input.name,
        delta,
        quantityAfterChange: input.name === "on_hand" ? level.on_hand : level.available,
        item: () => v.inventoryItem(item),
      });
    }
    const result = {
      inventoryAdjustmentGroup: {
        id: d.gid("InventoryAdjustmentGroup"),
        createdAt: now,
        reason: input.reason,
        referenceDocumentUri: input.referenceDocumentUri ?? null,
        changes,
      },
      userErrors: [],
    };
    d.idempotency.set(ctx.idempotencyKey, { fingerprint, result });
    return result;
  };

  const priceListCreate = (raw: unknown, ctx: ExecContext): Src => {
    const { input } = z
      .object({
        input: z.object({
          name: z.string(),
          currency: z.string(),
          parent: z.object({
            adjustment: z.object({
              type: z.enum(["PERCENTAGE_DECREASE", "PERCENTAGE_INCREASE"]),
              value: z.number(),
            }),
          }),
        }),
      })
      .parse(raw);
    if (input.name.trim() === "")
      return {
        priceList: null,
        userErrors: [{ field: ["input", "name"], message: "Name can't be blank", code: "BLANK" }],
      };
    if ([...d.priceLists.values()].some((p) => p.name === input.name))
      return {
        priceList: null,
        userErrors: [{ field: ["input", "name"], message: "Name has already been taken", code: "TAKEN" }],
      };
    if (input.parent.adjustment.value < 0 || input.parent.adjustment.value > 100)
      return {
        priceList: null,
        userErrors: [
          {
            field: ["input", "parent", "adjustment", "value"],
            message: "Adjustment value is invalid",
            code: "INVALID_ADJUSTMENT_VALUE",
          },
        ],
      };
    const id = d.gid("PriceList");
    const rec = {
      id,
      name: input.name,
      currency: input.currency,
      adjustment: input.parent.adjustment,
      prices: new Map(),
      breaks: new Map(),
    };
    d.priceLists.set(id, rec);
    ctx.wrote = true;
    return { priceList: v.priceList(rec), userErrors: [] };
  };

  const checkPrice = (p: z.infer<typeof PriceInput>, currency: string, field: string[]): UserError | null => {
    if (!d.variants.has(p.variantId))
      return { field: [...field, "variantId"], message: "Variant not found.", code: "VARIANT_NOT_FOUND" };
    if (p.price.currencyCode !== currency)
      return {
        field: [...field, "price", "currencyCode"],
        message: `Price currency must match the price list currency ${currency}.`,
        code: "PRICE_LIST_CURRENCY_MISMATCH",
      };
    if (!DECIMAL.test(p.price.amount) || new Big(p.price.amount).lt(0))
      return {
        field: [...field, "price", "amount"],
        message: `Price must be a non-negative amount, got "${p.price.amount}".`,
        code: "BLANK",
      };
    return null;
  };

  const priceListFixedPricesAdd = (raw: unknown, ctx: ExecContext): Src => {
    const a = z.object({ priceListId: z.string(), prices: z.array(PriceInput) }).parse(raw);
    const list = d.priceLists.get(a.priceListId);
    if (!list)
      return {
        prices: null,
        userErrors: [
          { field: ["priceListId"], message: "Price list not found.", code: "PRICE_LIST_NOT_FOUND" },
        ],
      };
    const errors = a.prices.flatMap((p, i) => checkPrice(p, list.currency, ["prices", String(i)]) ?? []);
    if (errors.length > 0) return { prices: null, userErrors: errors };
    for (const p of a.prices) setPrice(list.id, p, ctx);
    return { prices: [], userErrors: [] };
  };

  const setPrice = (listId: string, p: z.infer<typeof PriceInput>, ctx: ExecContext) => {
    const list = d.priceLists.get(listId)!;
    const next = {
      price: new Big(p.price.amount).toString(),
      compareAtPrice: p.compareAtPrice ? new Big(p.compareAtPrice.amount).toString() : null,
    };
    if (JSON.stringify(list.prices.get(p.variantId)) !== JSON.stringify(next)) ctx.wrote = true;
    list.prices.set(p.variantId, next);
  };

  const quantityPricingByVariantUpdate = (raw: unknown, ctx: ExecContext): Src => {
    const a = z
      .object({
        priceListId: z.string(),
        input: z.object({
          pricesToAdd: z.array(PriceInput),
          pricesToDeleteByVariantId: z.array(z.string()),
          quantityPriceBreaksToAdd: z.array(
            z.object({ variantId: z.string(), minimumQuantity: z.number(), price: MoneyInput }),
          ),
          quantityPriceBreaksToDelete: z.array(z.string()),
          quantityPriceBreaksToDeleteByVariantId: z.array(z.string()).nullish(),
        }),
      })
      .parse(raw);
    const list = d.priceLists.get(a.priceListId);
    if (!list)
      return {
        productVariants: null,
        userErrors: [
          { field: ["priceListId"], message: "Price list not found.", code: "PRICE_LIST_NOT_FOUND" },
        ],
      };
    const errors: UserError[] = [];
    const seen = new Set<string>();
    for (const [i, p] of a.input.pricesToAdd.entries()) {
      const e = checkPrice(p, list.currency, ["input", "pricesToAdd", String(i)]);
      if (e)
        errors.push({
          ...e,
          code:
            e.code === "VARIANT_NOT_FOUND"
              ? "PRICE_ADD_VARIANT_NOT_FOUND"
              : e.code === "PRICE_LIST_CURRENCY_MISMATCH"
                ? "PRICE_ADD_CURRENCY_MISMATCH"
                : "GENERIC_ERROR",
        });
      if (seen.has(p.variantId))
        errors.push({
          field: ["input", "pricesToAdd", String(i)],
          message: "Duplicate input for variant.",
          code: "PRICE_ADD_DUPLICATE_INPUT_FOR_VARIANT",
        });
      seen.add(p.variantId);
    }
    const willHavePrice = (variantId: string) => seen.has(variantId) || list.prices.has(variantId);
    for (const [i, b] of a.input.quantityPriceBreaksToAdd.entries()) {
      const f = ["input", "quantityPriceBreaksToAdd", String(i)];
      if (!d.variants.has(b.variantId))
        errors.push({
          field: [...f, "variantId"],
          message: "Variant not found.",
          code: "QUANTITY_PRICE_BREAK_ADD_VARIANT_NOT_FOUND",
        });
      else if (!willHavePrice(b.variantId))
        errors.push({
          field: f,
          message: "A fixed price is required for a quantity price break.",
          code: "QUANTITY_PRICE_BREAK_ADD_PRICE_LIST_PRICE_NOT_FOUND",
        });
      if (b.minimumQuantity < 2 || !DECIMAL.test(b.price.amount) || new Big(b.price.amount).lt(0))
        errors.push({
          field: f,
          message: "Quantity price break is invalid.",
          code: "QUANTITY_PRICE_BREAK_ADD_INVALID",
        });
      if (b.price.currencyCode !== list.currency)
        errors.push({
          field: [...f, "price"],
          message: "Currency mismatch.",
          code: "QUANTITY_PRICE_BREAK_ADD_CURRENCY_MISMATCH",
        });
    }
    // All-or-nothing, as documented.
    if (errors.length > 0) return { productVariants: null, userErrors: errors };
    const touched = new Set<string>();
    // Deletes run before creates.
    for (const id of a.input.pricesToDeleteByVariantId) {
      if (list.prices.delete(id)) ctx.wrote = true;
      touched.add(id);
    }
    for (const id of a.input.quantityPriceBreaksToDeleteByVariantId ?? []) {
      if (list.breaks.delete(id)) ctx.wrote = true;
      touched.add(id);
    }
    for (const id of a.input.quantityPriceBreaksToDelete)
      for (const [vid, bs] of list.breaks) {
        const kept = bs.filter((b) => b.id !== id);
        if (kept.length !== bs.length) {
          list.breaks.set(vid, kept);
          ctx.wrote = true;
        }
      }
    for (const p of a.input.pricesToAdd) {
      setPrice(list.id, p, ctx);
      touched.add(p.variantId);
    }
    for (const b of a.input.quantityPriceBreaksToAdd) {
      const bs = list.breaks.get(b.variantId) ?? [];
      bs.push({
        id: d.gid("QuantityPriceBreak"),
        minimumQuantity: b.minimumQuantity,
        price: new Big(b.price.amount).toString(),
      });
      list.breaks.set(b.variantId, bs);
      ctx.wrote = true;
      touched.add(b.variantId);
    }
    return {
      productVariants: [...touched].flatMap((id) => {
        const x = d.variants.get(id);
        return x ? [v.variant(x)] : [];
      }),
      userErrors: [],
    };
  };

  const CustomerInput = z.object({
    id: z.string().nullish(),
    email: z.string().nullish(),
    firstName: z.string().nullish(),
    lastName: z.string().nullish(),
    phone: z.string().nullish(),
    note: z.string().nullish(),
    tags: z.array(z.string()).nullish(),
    addresses: z
      .array(
        z.object({
          address1: z.string().nullish(),
          address2: z.string().nullish(),
          city: z.string().nullish(),
          company: z.string().nullish(),
          countryCode: z.string().nullish(),
          firstName: z.string().nullish(),
          lastName: z.string().nullish(),
          phone: z.string().nullish(),
          province: z.string().nullish(),
          zip: z.string().nullish(),
        }),
      )
      .nullish(),
  });

  const customerWrite = (raw: unknown, ctx: ExecContext, create: boolean): Src => {
    const { input } = z.object({ input: CustomerInput }).parse(raw);
    const existing = input.id ? d.customers.get(input.id) : undefined;
    if (!create && !existing)
      return { customer: null, userErrors: [{ field: ["id"], message: "Customer does not exist" }] };
    if (create && input.id)
      return { customer: null, userErrors: [{ field: ["id"], message: "id is not allowed on create" }] };
    if (input.email !== null && input.email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(input.email))
      return { customer: null, userErrors: [{ field: ["email"], message: "Email is invalid" }] };
    if (
      input.email &&
      [...d.customers.values()].some((c) => c.email === input.email?.toLowerCase() && c.id !== existing?.id)
    )
      return { customer: null, userErrors: [{ field: ["email"], message: "Email has already been taken" }] };
    if (create && !input.email && !input.phone && !input.lastName)
      return {
        customer: null,
        userErrors: [
          { field: ["customer"], message: "A name, phone number, or email address must be present" },
        ],
      };
    const now = d.now();
    const c = existing ?? {
      id: d.gid("Customer"),
      firstName: null,
      lastName: null,
      email: null,
      phone: null,
      tags: [],
      note: null,
      addresses: [],
      createdAt: now,
      updatedAt: now,
    };
    const before = JSON.stringify(c);
    if (input.email !== undefined) c.email = input.email?.toLowerCase() ?? null;
    if (input.firstName !== undefined) c.firstName = input.firstName;
    if (input.lastName !== undefined) c.lastName = input.lastName;
    if (input.phone !== undefined) c.phone = input.phone;
    if (input.note !== undefined) c.note = input.note;
    if (input.tags) c.tags = input.tags;
    if (input.addresses)
      c.addresses = input.addresses.map((a, i) => ({
        id: c.addresses[i]?.id ?? d.gid("MailingAddress"),
        firstName: a.firstName ?? null,
        lastName: a.lastName ?? null,
        company: a.company ?? null,
        address1: a.address1 ?? null,
        address2: a.address2 ?? null,
        city: a.city ?? null,
        zip: a.zip ?? null,
        province: a.province ?? null,
        countryCode: a.countryCode ?? null,
        phone: a.phone ?? null,
      }));
    if (!existing || JSON.stringify(c) !== before) {
      c.updatedAt = now;
      ctx.wrote = true;
    }
    d.customers.set(c.id, c);
    return { customer: v.customer(c), userErrors: [] };
  };

  const fulfillmentCreate = (raw: unknown, ctx: ExecContext): Src => {
    const { fulfillment: input } = z
      .object({
        fulfillment: z.object({
          notifyCustomer: z.boolean().nullish(),
          trackingInfo: z
            .object({
              number: z.string().nullish(),
              numbers: z.array(z.string()).nullish(),
              url: z.string().nullish(),
              urls: z.array(z.string()).nullish(),
              company: z.string().nullish(),
            })
            .nullish(),
          lineItemsByFulfillmentOrder: z.array(
            z.object({
              fulfillmentOrderId: z.string(),
              fulfillmentOrderLineItems: z
                .array(z.object({ id: z.string(), quantity: z.number() }))
                .nullish(),
            }),
          ),
        }),
      })
      .parse(raw);
    const fail = (field: string[], message: string) => ({
      fulfillment: null,
      userErrors: [{ field, message }],
    });
    if (input.lineItemsByFulfillmentOrder.length === 0)
      return fail(
        ["fulfillment", "lineItemsByFulfillmentOrder"],
        "Line items by fulfillment order can't be blank",
      );
    let order: OrderRec | undefined;
    const picks: { fo: FulfillmentOrderRec; lines: { id: string; quantity: number }[] }[] = [];
    for (const [i, group] of input.lineItemsByFulfillmentOrder.entries()) {
      const f = ["fulfillment", "lineItemsByFulfillmentOrder", String(i)];
      let fo: FulfillmentOrderRec | undefined;
      for (const o of d.orders.values()) {
        const hit = o.fulfillmentOrders.find((x) => x.id === group.fulfillmentOrderId);
        if (hit) {
          if (order && order.id !== o.id)
            return fail(f, "All fulfillment orders must belong to the same order.");
          order = o;
          fo = hit;
        }
      }
      if (!fo) return fail([...f, "fulfillmentOrderId"], "Fulfillment order does not exist.");
      if (fo.status !== "OPEN" && fo.status !== "IN_PROGRESS")
        return fail(
          [...f, "fulfillmentOrderId"],
          `Fulfillment order ${fo.id} has an unfulfillable status= ${fo.status.toLowerCase()}.`,
        );
      const lines =
        group.fulfillmentOrderLineItems && group.fulfillmentOrderLineItems.length > 0
          ? group.fulfillmentOrderLineItems
          : fo.lineItems
              .filter((l) => l.remainingQuantity > 0)
              .map((l) => ({ id: l.id, quantity: l.remainingQuantity }));
      for (const l of lines) {
        const li = fo.lineItems.find((x) => x.id === l.id);
        if (!li)
          return fail(
            [...f, "fulfillmentOrderLineItems"],
            `Fulfillment order line item ${l.id} does not exist.`,
          );
        if (l.quantity <= 0 || l.quantity > li.remainingQuantity)
          return fail(
            [...f, "fulfillmentOrderLineItems"],
            "Invalid fulfillment order line item quantity requested.",
          );
      }
      picks.push({ fo, lines });
    }
    if (!order) return fail(["fulfillment"], "Fulfillment order does not exist.");
    const now = d.now();
    const t = input.trackingInfo;
    const numbers = t?.numbers ?? (t?.number ? [t.number] : []);
    const urls = t?.urls ?? (t?.url ? [t.url] : []);
    const tracking = (numbers.length > 0 ? numbers : [null]).map((n, i) => ({
      number: n,
      url: urls[i] ?? null,
      company: t?.company ?? null,
    }));
    const rec = {
      id: d.gid("Fulfillment"),
      name: `${order.name}-F${order.fulfillments.length + 1}`,
      status: "SUCCESS" as const,
      locationId: picks[0]?.fo.locationId ?? "",
      tracking,
      lines: [] as { lineItemId: string; quantity: number }[],
      createdAt: now,
      updatedAt: now,
    };
    for (const { fo, lines } of picks) {
      for (const l of lines) {
        const li = fo.lineItems.find((x) => x.id === l.id)!;
        li.remainingQuantity -= l.quantity;
        rec.lines.push({ lineItemId: li.lineItemId, quantity: l.quantity });
        // Shipping consumes the committed stock at the fulfilling location.
        const line = order.lines.find((x) => x.id === li.lineItemId);
        const variant = line?.variantId ? d.variants.get(line.variantId) : undefined;
        const level = variant
          ? d.inventoryItems.get(variant.inventoryItemId)?.levels.get(fo.locationId)
          : undefined;
        if (level) {
          level.committed -= l.quantity;
          level.on_hand -= l.quantity;
        }
      }
      fo.status = fo.lineItems.every((x) => x.remainingQuantity === 0) ? "CLOSED" : "IN_PROGRESS";
      fo.updatedAt = now;
    }
    order.fulfillments.push(rec);
    order.updatedAt = now;
    ctx.wrote = true;
    return { fulfillment: v.fulfillment(order, rec), userErrors: [] };
  };

  const collectionWrite = (raw: unknown, ctx: ExecContext, create: boolean): Src => {
    const { input: given, collection: modern } = CollectionArgs.parse(raw);
    const input = modern ?? given;
    const fail = (field: string[], message: string, code?: string) => ({
      collection: null,
      userErrors: [{ field, message, ...(code ? { code } : {}) }],
    });
    if (!input) return fail(["input"], "Input can't be blank");
    let c: CollectionRec | undefined;
    if (!create) {
      c = input.id ? d.collections.get(input.id) : undefined;
      if (!c) return fail(["id"], "Collection does not exist");
    } else if (!input.title?.trim()) return fail(["title"], "Title can't be blank");
    if ((input.title?.length ?? 0) > 255)
      return fail(["title"], "Title is too long (maximum is 255 characters)");
    for (const [i, m] of (input.metafields ?? []).entries()) {
      if (!m.namespace || !m.key || m.value === null || m.value === undefined || m.value === "")
        return fail(["metafields", String(i)], "Metafield namespace, key and value can't be blank");
      if (m.type === "json") {
        try {
          JSON.parse(m.value);
        } catch {
          return fail(["metafields", String(i), "value"], "Value is invalid JSON");
        }
      }
    }
    for (const [i, pid] of (input.products ?? []).entries()) {
      if (!d.products.has(pid)) return fail(["products", String(i)], "Product does not exist");
    }
    const now = d.now();
    if (!c) {
      const id = d.gid("Collection");
      let handle = input.handle ?? slug(input.title ?? "");
      if (d.collections.withKey(handle).length > 0) handle = `${handle}-${id.split("/").pop()}`;
      c = {
        id,
        title: input.title ?? "",
        handle,
        descriptionHtml: input.descriptionHtml ?? "",
        productIds: [...(input.products ?? [])],
        metafields: new Map(),
        createdAt: now,
        updatedAt: now,
      };
      d.collections.set(id, c);
      ctx.wrote = true;
    }
    const before = JSON.stringify({ ...c, metafields: [...c.metafields.values()] });
    if (!create && input.title) c.title = input.title;
    if (!create && input.descriptionHtml !== null && input.descriptionHtml !== undefined)
      c.descriptionHtml = input.descriptionHtml;
    if (!create && input.handle) {
      c.handle = input.handle;
      d.collections.reindex(c.id);
    }
    for (const m of input.metafields ?? []) {
      const k = `${m.namespace}.${m.key}`;
      const old = c.metafields.get(k);
      if (old?.value === m.value) continue;
      c.metafields.set(k, {
        id: old?.id ?? d.gid("Metafield"),
        namespace: m.namespace as string,
        key: m.key as string,
        type: m.type ?? old?.type ?? "single_line_text_field",
        value: m.value as string,
        updatedAt: now,
      });
    }
    if (JSON.stringify({ ...c, metafields: [...c.metafields.values()] }) !== before) {
      c.updatedAt = now;
      ctx.wrote = true;
    }
    return { collection: v.collection(c), userErrors: [] };
  };

  const menuItems = (items: z.infer<typeof MenuItemInput>[]): MenuItemRec[] =>
    items.map((i) => ({
      id: i.id ?? d.gid("MenuItem"),
      title: i.title,
      type: i.type,
      resourceId: i.resourceId ?? null,
      url: i.url ?? null,
      tags: i.tags ?? [],
      items: menuItems(i.items ?? []),
    }));
  const badItem = (items: z.infer<typeof MenuItemInput>[], path: string[]): UserError | null => {
    for (const [n, i] of items.entries()) {
      const here = [...path, String(n)];
      if (i.type === "COLLECTION" && (!i.resourceId || !d.collections.has(i.resourceId)))
        return { field: [...here, "resourceId"], message: "Resource does not exist", code: "INVALID" };
      const deeper = badItem(i.items ?? [], [...here, "items"]);
      if (deeper) return deeper;
    }
    return null;
  };
  const depth = (items: z.infer<typeof MenuItemInput>[]): number =>
    items.reduce((m, i) => Math.max(m, 1 + depth(i.items ?? [])), 0);
  const menuWrite = (raw: unknown, ctx: ExecContext, create: boolean): Src => {
    const a = MenuArgs.parse(raw);
    const fail = (e: UserError) => ({ menu: null, userErrors: [e] });
    const menu = create ? undefined : d.menus.get(a.id ?? "");
    if (!create && !menu) return fail({ field: ["id"], message: "Menu does not exist", code: "NOT_FOUND" });
    if (!a.title.trim()) return fail({ field: ["title"], message: "Title can't be blank", code: "BLANK" });
    const bad = badItem(a.items, ["items"]);
    if (bad) return fail(bad);
    // Shopify's online store navigation nests three levels deep at most.
    if (depth(a.items) > 3)
      return fail({ field: ["items"], message: "Menu items can be nested up to 3 levels", code: "INVALID" });
    const handle = a.handle ?? menu?.handle ?? slug(a.title);
    for (const m of d.menus.values())
      if (m.handle === handle && m.id !== menu?.id)
        return fail({ field: ["handle"], message: "Handle has already been taken", code: "TAKEN" });
    const now = d.now();
    const rec = menu ?? { id: d.gid("Menu"), title: "", handle, items: [], createdAt: now, updatedAt: now };
    rec.title = a.title;
    rec.handle = handle;
    rec.items = menuItems(a.items);
    rec.updatedAt = now;
    d.menus.set(rec.id, rec);
    ctx.wrote = true;
    return { menu: v.menu(rec), userErrors: [] };
  };

  return {
    collectionCreate: (a: unknown, ctx: ExecContext) => collectionWrite(a, ctx, true),
    collectionUpdate: (a: unknown, ctx: ExecContext) => collectionWrite(a, ctx, false),
    menuCreate: (a: unknown, ctx: ExecContext) => menuWrite(a, ctx, true),
    menuUpdate: (a: unknown, ctx: ExecContext) => menuWrite(a, ctx, false),
    productSet: (a: unknown, ctx: ExecContext) => productSet(a, ctx),
    inventorySetQuantities: (a: unknown, ctx: ExecContext) => inventorySetQuantities(a, ctx),
    priceListCreate: (a: unknown, ctx: ExecContext) => priceListCreate(a, ctx),
    priceListFixedPricesAdd: (a: unknown, ctx: ExecContext) => priceListFixedPricesAdd(a, ctx),
    quantityPricingByVariantUpdate: (a: unknown, ctx: ExecContext) => quantityPricingByVariantUpdate(a, ctx),
    customerCreate: (a: unknown, ctx: ExecContext) => customerWrite(a, ctx, true),
    customerUpdate: (a: unknown, ctx: ExecContext) => customerWrite(a, ctx, false),
    fulfillmentCreate: (a: unknown, ctx: ExecContext) => fulfillmentCreate(a, ctx),
  };
}

/**
 * Kits and supplier lead times as Tryton keeps them, shared by the product and stock streams.
 *
 * Kits (module product_kit): a template of type "kit" lists its components in `product.component`, on the
 * template (every variant) or on one variant (that variant only, winning over the template's). Tryton lets a
 * component be neither a kit nor have components of its own, so no cycle can come from Tryton.
 *
 * Lead times (module purchase): `purchase.product_supplier` rows of a template or one variant, lowest
 * sequence first; the first with a lead time gives the item's (the supplier party's default lead time is
 * not read).
 */
import { SyncError } from "../../core/errors.ts";
import type { TrytonRow } from "./client.ts";
import type { TrytonContext } from "./context.ts";
import { bool, id, num } from "./fields.ts";

export const COMPONENT_MODEL = "product.component";
export const SUPPLIER_MODEL = "purchase.product_supplier";

/** One component row as read: its product's id and code, the quantity per kit, and whether it is fixed. */
export interface ComponentRow {
  parentTemplate?: number;
  parentProduct?: number;
  product: number;
  code?: string;
  quantity: number;
  fixed: boolean;
}

function componentOf(r: TrytonRow): ComponentRow | null {
  const product = id(r, "product");
  if (product === undefined) return null;
  const nested = r["product."];
  const code =
    typeof nested === "object" && nested !== null ? (nested as Record<string, unknown>).code : undefined;
  return {
    ...(id(r, "parent_template") !== undefined ? { parentTemplate: id(r, "parent_template") } : {}),
    ...(id(r, "parent_product") !== undefined ? { parentProduct: id(r, "parent_product") } : {}),
    product,
    ...(typeof code === "string" && code !== "" ? { code } : {}),
    quantity: num(r, "quantity"),
    fixed: bool(r, "fixed"),
  };
}

/** The component rows of these templates and variants (none where product_kit is not activated). */
export async function componentRows(
  ctx: TrytonContext,
  of: { templates?: number[]; products?: number[] },
  signal?: AbortSignal,
): Promise<ComponentRow[]> {
  const templates = of.templates ?? [];
  const products = of.products ?? [];
  if (templates.length + products.length === 0) return [];
  if (!(await ctx.hasModel(COMPONENT_MODEL, signal))) return [];
  const rows = await ctx.client.searchRead(
    COMPONENT_MODEL,
    [["OR", ["parent_template", "in", templates], ["parent_product", "in", products]]],
    ["parent_template", "parent_product", "product", "product.code", "quantity", "fixed", "sequence"],
    {
      order: [
        ["sequence", "ASC"],
        ["id", "ASC"],
      ],
      signal,
    },
  );
  return rows.map(componentOf).filter((c): c is ComponentRow => c !== null);
}

/** The components a variant uses: its own, else its template's (as Tryton's components_used). */
export function componentsUsed(
  rows: readonly ComponentRow[],
  product: number,
  template: number,
): ComponentRow[] {
  const own = rows.filter((r) => r.parentProduct === product);
  return own.length > 0
    ? own
    : rows.filter((r) => r.parentTemplate === template && r.parentProduct === undefined);
}

/**
 * Component rows as canonical components, or a data error naming the kit and the component: a component
 * without a code, a quantity that is not a whole number, or a fixed quantity (one per order, whatever the
 * number of kits) has no canonical form.
 */
export function canonicalComponents(
  ctx: TrytonContext,
  kit: string,
  rows: readonly ComponentRow[],
): { sku: string; quantity: number }[] {
  return rows.map((c) => {
    const what = `kit ${kit}: component product.product ${c.product}`;
    if (!c.code) {
      throw new SyncError("data", `${what} has no code (SKU)`, { system: ctx.name, field: "components.sku" });
    }
    if (c.fixed) {
      throw new SyncError(
        "data",
        `${what} (${c.code}) has a fixed quantity, which Passerelle does not model`,
        {
          system: ctx.name,
          field: "components.fixed",
        },
      );
    }
    if (!Number.isInteger(c.quantity) || c.quantity <= 0) {
      throw new SyncError(
        "data",
        `${what} (${c.code}): quantity per kit must be a whole number above 0, got ${c.quantity}`,
        { system: ctx.name, field: "components.quantity" },
      );
    }
    return { sku: c.code, quantity: c.quantity };
  });
}

/** A Tryton TimeDelta (`{ __class__: "timedelta", seconds }`) in whole days, rounded up; anything else: none. */
export function leadTimeDays(value: unknown): number | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as { __class__?: unknown; seconds?: unknown };
  if (v.__class__ !== "timedelta" || typeof v.seconds !== "number" || v.seconds < 0) return undefined;
  return Math.ceil(v.seconds / 86_400);
}

/**
 * Variant id → the lead time (days) of its first supplier that has one: the variant's own supplier rows
 * before its template's (none where purchase is not activated).
 */
export async function leadTimes(
  ctx: TrytonContext,
  variants: readonly { product: number; template: number }[],
  signal?: AbortSignal,
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (variants.length === 0 || !(await ctx.hasModel(SUPPLIER_MODEL, signal))) return out;
  const rows = await ctx.client.searchRead(
    SUPPLIER_MODEL,
    [
      [
        "OR",
        ["product", "in", variants.map((v) => v.product)],
        ["template", "in", [...new Set(variants.map((v) => v.template))]],
      ],
      ["lead_time", "!=", null],
    ],
    ["template", "product", "lead_time", "sequence"],
    {
      order: [
        ["sequence", "ASC"],
        ["id", "ASC"],
      ],
      signal,
    },
  );
  for (const v of variants) {
    const own = rows.find((r) => id(r, "product") === v.product);
    const shared = rows.find((r) => id(r, "template") === v.template && id(r, "product") === undefined);
    const days = leadTimeDays((own ?? shared)?.lead_time);
    if (days !== undefined) out.set(v.product, days);
  }
  return out;
}

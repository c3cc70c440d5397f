/**
 * Odoo's kits: a bill of materials (mrp.bom, module mrp) of type "phantom" makes its product a kit, sold as
 * one product and delivered as its components, with no stock of its own. A BoM names a template and,
 * optionally, one of its variants; it makes `product_qty` units from its lines' quantities. For a variant,
 * Odoo takes the first active phantom BoM by sequence, one naming that variant before one for the whole
 * template (then by id). Databases without Manufacturing have no mrp.bom: they are asked once and read no
 * kits.
 */
import { SyncError } from "../../../core/errors.ts";
import type { KitComponent } from "../../../core/kit.ts";
import type { OdooClient, OdooRow } from "../client.ts";
import type { OdooContext } from "../context.ts";
import { many2one, num, uniq } from "../fields.ts";

export const BOM_MODEL = "mrp.bom";
export const BOM_LINE_MODEL = "mrp.bom.line";

const installed = new WeakMap<OdooClient, Promise<boolean>>();
/** How Odoo refuses a call to a model it does not have (a UserError; a KeyError from older servers). */
const NO_MODEL = /Object mrp\.bom doesn't exist|: mrp\.bom \(builtins\.KeyError\)/;

/**
 * Whether kits are read: asked once per connection with `check_access_rights("read")` on mrp.bom, which
 * any user may call (ir.model, the list of models, is for administrators only). An Odoo without
 * Manufacturing refuses the call ("Object mrp.bom doesn't exist"): no kits. A user whose groups may not read
 * BoMs reads none either (doctor names the missing right, see permissions.ts).
 */
export function hasKits(ctx: OdooContext, signal?: AbortSignal): Promise<boolean> {
  let answer = installed.get(ctx.client);
  if (!answer) {
    answer = ctx.client
      .execute(BOM_MODEL, "check_access_rights", ["read"], { raise_exception: false }, signal)
      .then(
        (ok) => ok === true,
        (e: unknown) => {
          if (e instanceof SyncError && e.kind === "permanent" && NO_MODEL.test(e.message)) return false;
          throw e;
        },
      );
    installed.set(ctx.client, answer);
    // A failed question is asked again next time.
    answer.catch(() => installed.delete(ctx.client));
  }
  return answer;
}

export interface KitBom {
  id: number;
  template: number;
  /** The variant the BoM is for; none: every variant of the template. */
  variant?: number;
  /** Units of the product the BoM makes. */
  quantity: number;
  sequence: number;
  lines: { product: number; quantity: number }[];
}

/** A kit's component with its units per kit (line quantity ÷ the BoM's; whole numbers only, see checked). */
export interface KitPart {
  product: number;
  quantity: number;
}

/** BoMs' scan: every type and archived ones too, so a BoM that stops being a kit is a change as well. */
export const ANY_BOM = [["active", "in", [true, false]]];
const BOM_FIELDS = [
  "product_tmpl_id",
  "product_id",
  "product_qty",
  "sequence",
  "type",
  "active",
  "write_date",
];
const LINE_FIELDS = ["bom_id", "product_id", "product_qty", "write_date"];

/**
 * The BoMs of these templates (all of them when `templates` is omitted) and their lines, as rows (every
 * type, archived too: their write_dates count as changes), and the active phantom ones as kits.
 */
export async function readBoms(
  ctx: OdooContext,
  templates: number[] | undefined,
  signal?: AbortSignal,
): Promise<{ rows: OdooRow[]; lines: OdooRow[]; kits: KitBom[] }> {
  if (templates?.length === 0) return { rows: [], lines: [], kits: [] };
  const rows = await ctx.client.searchRead(
    BOM_MODEL,
    [...(templates ? [["product_tmpl_id", "in", templates]] : []), ...ANY_BOM],
    BOM_FIELDS,
    { order: "sequence asc, id asc", signal },
  );
  const lines =
    rows.length === 0
      ? []
      : await ctx.client.searchRead(BOM_LINE_MODEL, [["bom_id", "in", rows.map((r) => r.id)]], LINE_FIELDS, {
          order: "id asc",
          signal,
        });
  const kits = rows.flatMap((r): KitBom[] => {
    const template = many2one(r, "product_tmpl_id")?.id;
    if (r.type !== "phantom" || r.active === false || template === undefined) return [];
    const variant = many2one(r, "product_id")?.id;
    return [
      {
        id: r.id,
        template,
        ...(variant !== undefined ? { variant } : {}),
        quantity: num(r, "product_qty"),
        sequence: num(r, "sequence"),
        lines: lines.flatMap((l) => {
          const product = many2one(l, "product_id")?.id;
          return many2one(l, "bom_id")?.id === r.id && product !== undefined
            ? [{ product, quantity: num(l, "product_qty") }]
            : [];
        }),
      },
    ];
  });
  return { rows, lines, kits };
}

/** The BoM Odoo uses for a variant: by sequence, the variant's own before its template's, then by id. */
export function bomOf(kits: readonly KitBom[], variant: number, template: number): KitBom | undefined {
  let best: KitBom | undefined;
  for (const b of kits) {
    if (b.variant !== undefined ? b.variant !== variant : b.template !== template) continue;
    if (
      !best ||
      b.sequence < best.sequence ||
      (b.sequence === best.sequence &&
        ((b.variant !== undefined && best.variant === undefined) ||
          ((b.variant === undefined) === (best.variant === undefined) && b.id < best.id)))
    )
      best = b;
  }
  return best;
}

/** A BoM's components per kit unit: its lines' quantities summed per component, over the BoM's quantity. */
export function partsOf(bom: KitBom): KitPart[] {
  const per = new Map<number, number>();
  for (const l of bom.lines) per.set(l.product, (per.get(l.product) ?? 0) + l.quantity);
  return [...per.entries()]
    .map(([product, q]) => ({ product, quantity: bom.quantity > 0 ? q / bom.quantity : Number.NaN }))
    .sort((a, b) => a.product - b.product);
}

/** The component variants of these kits, with their SKUs (internal references), archived ones included. */
export async function skusOf(
  ctx: OdooContext,
  products: number[],
  signal?: AbortSignal,
): Promise<Map<number, string | undefined>> {
  const wanted = uniq(products);
  if (wanted.length === 0) return new Map();
  const rows = await ctx.client.searchRead(
    "product.product",
    [
      ["id", "in", wanted],
      ["active", "in", [true, false]],
    ],
    ["default_code"],
    { signal },
  );
  return new Map(rows.map((r) => [r.id, typeof r.default_code === "string" ? r.default_code : undefined]));
}

/**
 * A kit's canonical components: each part's SKU and whole units per kit. A part without a SKU, or whose
 * units per kit are not a whole number, is a data error naming the kit, the component and the quantity.
 */
export function checked(
  ctx: OdooContext,
  kit: string,
  parts: readonly KitPart[],
  skus: ReadonlyMap<number, string | undefined> | Record<number, string | undefined>,
): KitComponent[] {
  const skuOf = (p: number) => (skus instanceof Map ? skus.get(p) : (skus as Record<number, string>)[p]);
  return parts.map((p) => {
    const sku = skuOf(p.product);
    if (!sku) {
      throw new SyncError(
        "data",
        `kit ${kit}: component product.product(${p.product}) has no internal reference (SKU)`,
        { system: ctx.name, field: "components.sku" },
      );
    }
    const whole = Math.round(p.quantity);
    if (!Number.isFinite(p.quantity) || whole <= 0 || Math.abs(p.quantity - whole) > 1e-9) {
      throw new SyncError(
        "data",
        `kit ${kit}: component ${sku} is ${Number.isFinite(p.quantity) ? Number(p.quantity.toFixed(6)) : "an undefined quantity"} per kit (its BoM line over the BoM's quantity), which is not a whole number of units`,
        { system: ctx.name, field: "components.quantity" },
      );
    }
    return { sku, quantity: whole };
  });
}

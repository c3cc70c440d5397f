import { SyncError } from "../../../core/errors.ts";
import type { Product } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { OdooRow } from "../client.ts";
import type { OdooContext } from "../context.ts";
import { bool, ids, many2one, money, num, str } from "../fields.ts";
import { keysetPages } from "../paging.ts";
import { odooToIso } from "../time.ts";

export interface ProductNative {
  template: OdooRow;
  variants: { row: OdooRow; options: Record<string, string> }[];
}

const TEMPLATE_FIELDS = [
  "name",
  "default_code",
  "list_price",
  "description_sale",
  "categ_id",
  "active",
  "weight",
  "product_variant_ids",
  "write_date",
];
const VARIANT_FIELDS = [
  "product_tmpl_id",
  "default_code",
  "barcode",
  "lst_price",
  "price_extra",
  "weight",
  "active",
  "product_template_attribute_value_ids",
];
// Services (shipping, discounts) are ERP bookkeeping, not catalogue; archived templates are read so the
// shop hears that they were archived.
const BASE = [
  ["type", "!=", "service"],
  ["active", "in", [true, false]],
];

/**
 * One canonical Product per product.template with its variants (product.product). A change to a variant
 * alone (e.g. its barcode) does not move the template's write_date in Odoo, so incremental reads miss it
 * until the template changes; a full resync catches it.
 */
export function productStream(ctx: OdooContext): Stream<"product", ProductNative> {
  const { client } = ctx;
  const withVariants = async (templates: OdooRow[], signal?: AbortSignal): Promise<ProductNative[]> => {
    const variants = await client.searchRead(
      "product.product",
      [
        ["product_tmpl_id", "in", templates.map((t) => t.id)],
        ["active", "in", [true, false]],
      ],
      VARIANT_FIELDS,
      { order: "id asc", signal },
    );
    const valueIds = [...new Set(variants.flatMap((v) => ids(v, "product_template_attribute_value_ids")))];
    const values = await client.read(
      "product.template.attribute.value",
      valueIds,
      ["name", "attribute_id"],
      signal,
    );
    const valueById = new Map(values.map((v) => [v.id, v]));
    return templates.map((template) => ({
      template,
      variants: variants
        .filter((v) => many2one(v, "product_tmpl_id")?.id === template.id)
        .map((row) => {
          const options: Record<string, string> = {};
          for (const id of ids(row, "product_template_attribute_value_ids")) {
            const value = valueById.get(id);
            const attribute = value ? many2one(value, "attribute_id")?.name : undefined;
            const name = value ? str(value, "name") : undefined;
            if (attribute && name) options[attribute] = name;
          }
          return { row, options };
        }),
    }));
  };

  return {
    entity: "product",
    sorted: true,
    async *list(req) {
      for await (const page of keysetPages(client, "product.template", BASE, TEMPLATE_FIELDS, req)) {
        yield await withVariants(page, req.signal);
      }
    },
    async get(id) {
      const rows = await client.searchRead(
        "product.template",
        [["id", "=", Number(id)], ...BASE],
        TEMPLATE_FIELDS,
      );
      return rows.length === 0 ? null : ((await withVariants(rows))[0] ?? null);
    },
    idOf: (n) => String(n.template.id),
    updatedAtOf: (n) => odooToIso(String(n.template.write_date)),
    toCanonical(n): Product {
      const t = n.template;
      const key = str(t, "default_code") ?? `odoo-template-${t.id}`;
      if (n.variants.length === 0) {
        throw new SyncError("data", `product.template ${key} (id ${t.id}) has no variants`, {
          field: "variants",
        });
      }
      const category = many2one(t, "categ_id")?.name;
      return {
        source: ctx.name,
        sourceId: String(t.id),
        updatedAt: odooToIso(String(t.write_date)),
        key,
        title: str(t, "name") ?? key,
        description: str(t, "description_sale"),
        status: bool(t, "active") ? "active" : "archived",
        currency: ctx.config.currency,
        categoryPath: category ? category.split(" / ").filter((c, i) => !(i === 0 && c === "All")) : [],
        attributes: {},
        images: [],
        components: [],
        variants: n.variants.map(({ row, options }) => {
          const sku = str(row, "default_code");
          if (!sku) {
            throw new SyncError(
              "data",
              `variant product.product(${row.id}) of ${key} has no internal reference (SKU)`,
              {
                field: "variants.sku",
              },
            );
          }
          const title = Object.values(options).join(" / ");
          const weight = num(row, "weight");
          return {
            sku,
            title: title || undefined,
            barcode: str(row, "barcode"),
            price: money(num(row, "lst_price")),
            options,
            weightGrams: weight > 0 ? Math.round(weight * 1000) : undefined,
          };
        }),
      };
    },
  };
}

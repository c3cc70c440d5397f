/**
 * The Odoo models the emulator serves, with their real field names, stored computed fields (sale order
 * amounts, line totals) and the business methods a connector calls (action_confirm, button_validate).
 */
import { type FieldDef, OdooDb, type Row } from "./db.ts";
import { missingError, userError, validationError } from "./errors.ts";

const char: FieldDef = { type: "char" };
const float: FieldDef = { type: "float" };
const bool: FieldDef = { type: "boolean" };
const m2o = (relation: string, required = false): FieldDef => ({ type: "many2one", relation, required });
const o2m = (relation: string, inverse: string): FieldDef => ({ type: "one2many", relation, inverse });
const m2m = (relation: string): FieldDef => ({ type: "many2many", relation });
const sel = (value: string): FieldDef => ({ type: "selection", default: () => value });
const def =
  <T>(value: T): FieldDef["default"] =>
  () =>
    value;

/** Odoo rounds monetary amounts half-up to the currency's precision (2 decimals for EUR). */
export function round2(x: number): number {
  return (Math.round((Math.abs(x) + Number.EPSILON) * 100) / 100) * Math.sign(x);
}

function num(row: Row | undefined, field: string): number {
  const v = row?.[field];
  return typeof v === "number" ? v : 0;
}
function id(row: Row | undefined, field: string): number | false {
  const v = row?.[field];
  return typeof v === "number" ? v : false;
}
const pad5 = (n: number) => String(n).padStart(5, "0");

export function buildModels(): OdooDb {
  const db = new OdooDb();

  db.define("res.currency", {
    fields: {
      name: char,
      symbol: char,
      decimal_places: { type: "integer" },
      // Odoo rounds an amount in a currency to a multiple of this (0.01 for USD and EUR).
      rounding: { type: "float", default: def(0.01) },
    },
  });
  db.define("res.country", { fields: { name: char, code: char } });
  db.define("res.users", { fields: { name: char, login: char, partner_id: m2o("res.partner") } });
  db.define("product.category", {
    fields: {
      name: char,
      parent_id: m2o("product.category"),
      complete_name: {
        type: "char",
        compute: (d, r) => {
          const parent = id(r, "parent_id");
          return parent
            ? `${d.readField("product.category", d.row("product.category", parent) as Row, "complete_name")} / ${String(r.name)}`
            : r.name;
        },
      },
    },
    displayName: (d, r) => String(d.readField("product.category", r, "complete_name")),
  });
  db.define("account.tax", {
    fields: {
      name: char,
      amount: float,
      amount_type: sel("percent"),
      type_tax_use: sel("sale"),
      price_include: bool,
      active: { type: "boolean", default: def(true) },
    },
  });
  db.define("product.attribute", {
    fields: {
      name: char,
      create_variant: sel("always"),
      value_ids: o2m("product.attribute.value", "attribute_id"),
    },
  });
  db.define("product.attribute.value", {
    order: "sequence, id",
    fields: { name: char, sequence: { type: "integer" }, attribute_id: m2o("product.attribute", true) },
  });
  // A template's attribute line: the values it makes variants of (Odoo creates one variant per combination).
  db.define("product.template.attribute.line", {
    fields: {
      product_tmpl_id: m2o("product.template", true),
      attribute_id: m2o("product.attribute", true),
      value_ids: m2m("product.attribute.value"),
    },
  });
  db.define("product.template.attribute.value", {
    fields: {
      name: char,
      attribute_id: m2o("product.attribute", true),
      product_tmpl_id: m2o("product.template", true),
      product_attribute_value_id: m2o("product.attribute.value"),
      attribute_line_id: m2o("product.template.attribute.line"),
      price_extra: float,
    },
    displayName: (d, r) =>
      `${d.displayName("product.attribute", id(r, "attribute_id") || 0)}: ${String(r.name)}`,
  });
  db.define("product.template", {
    order: "name, id",
    // A template's weight is its single variant's (Odoo's inverse writes it there); several variants keep
    // their own.
    afterWrite: (d, ids) => {
      for (const t of ids) {
        const variants = d.rows("product.product").filter((v) => v.product_tmpl_id === t);
        const weight = num(d.row("product.template", t), "weight");
        if (variants.length === 1 && variants[0]?.weight !== weight) {
          d.setRaw("product.product", (variants[0] as Row).id, { weight });
        }
      }
    },
    fields: {
      name: { type: "char", required: true },
      default_code: char,
      list_price: float,
      description_sale: { type: "text" },
      categ_id: m2o("product.category"),
      active: { type: "boolean", default: def(true) },
      type: sel("consu"),
      // Odoo 17's product type as the form shows it ("product" is storable); `type` follows it.
      detailed_type: sel("consu"),
      invoice_policy: sel("order"),
      attribute_line_ids: o2m("product.template.attribute.line", "product_tmpl_id"),
      sale_ok: { type: "boolean", default: def(true) },
      weight: float,
      taxes_id: m2m("account.tax"),
      product_variant_ids: o2m("product.product", "product_tmpl_id"),
    },
  });
  db.define("product.product", {
    fields: {
      product_tmpl_id: m2o("product.template", true),
      default_code: char,
      barcode: char,
      active: { type: "boolean", default: def(true) },
      product_template_attribute_value_ids: m2m("product.template.attribute.value"),
      // As in Odoo 16+: the extra lives on the attribute values, so changing it writes neither the variant
      // nor the template (and moves neither write_date).
      price_extra: { type: "float", compute: (d, r) => variantExtra(d, r) },
      name: {
        type: "char",
        compute: (d, r) => d.row("product.template", id(r, "product_tmpl_id") || 0)?.name ?? false,
      },
      lst_price: {
        type: "float",
        compute: (d, r) =>
          round2(
            num(d.row("product.template", id(r, "product_tmpl_id") || 0), "list_price") + variantExtra(d, r),
          ),
      },
      // Stored on the variant in Odoo; a variant created for a template starts with the template's weight.
      weight: {
        type: "float",
        default: (d, v) =>
          typeof v.product_tmpl_id === "number"
            ? num(d.row("product.template", v.product_tmpl_id), "weight")
            : 0,
      },
      taxes_id: {
        type: "many2many",
        relation: "account.tax",
        compute: (d, r) => [
          ...((d.row("product.template", id(r, "product_tmpl_id") || 0)?.taxes_id as number[]) ?? []),
        ],
      },
    },
    displayName: (d, r) => {
      const name = String(d.readField("product.product", r, "name"));
      const values = (r.product_template_attribute_value_ids as number[]).map((v) =>
        String(d.row("product.template.attribute.value", v)?.name ?? ""),
      );
      const code = typeof r.default_code === "string" ? `[${r.default_code}] ` : "";
      return `${code}${name}${values.length > 0 ? ` (${values.join(", ")})` : ""}`;
    },
  });
  // A product's vendors (the product module's model), each with its delivery lead time in days.
  db.define("product.supplierinfo", {
    fields: {
      partner_id: m2o("res.partner", true),
      product_tmpl_id: m2o("product.template"),
      product_id: m2o("product.product"),
      sequence: { type: "integer", default: def(1) },
      min_qty: float,
      price: float,
      delay: { type: "integer", default: def(1) },
      date_start: { type: "date" },
      date_end: { type: "date" },
    },
    order: "sequence, id",
  });
  db.define("product.pricelist", {
    fields: {
      name: { type: "char", required: true },
      currency_id: m2o("res.currency", true),
      active: { type: "boolean", default: def(true) },
      item_ids: o2m("product.pricelist.item", "pricelist_id"),
    },
  });
  db.define("product.pricelist.item", {
    fields: {
      pricelist_id: m2o("product.pricelist", true),
      product_id: m2o("product.product"),
      product_tmpl_id: m2o("product.template"),
      applied_on: sel("0_product_variant"),
      compute_price: sel("fixed"),
      fixed_price: float,
      // compute_price "percentage": `base` (the list price by default) less percent_price %.
      percent_price: float,
      base: sel("list_price"),
      min_quantity: float,
      date_start: { type: "datetime" },
      date_end: { type: "datetime" },
    },
  });
  db.define("stock.location", {
    fields: {
      name: char,
      location_id: m2o("stock.location"),
      usage: sel("internal"),
      complete_name: {
        type: "char",
        compute: (d, r) => {
          const parent = id(r, "location_id");
          return parent
            ? `${d.readField("stock.location", d.row("stock.location", parent) as Row, "complete_name")}/${String(r.name)}`
            : r.name;
        },
      },
    },
    displayName: (d, r) => String(d.readField("stock.location", r, "complete_name")),
  });
  db.define("stock.warehouse", {
    fields: {
      name: char,
      code: char,
      lot_stock_id: m2o("stock.location"),
      view_location_id: m2o("stock.location"),
    },
  });
  db.define("stock.quant", {
    fields: {
      product_id: m2o("product.product", true),
      location_id: m2o("stock.location", true),
      quantity: float,
      reserved_quantity: float,
      // What an inventory adjustment counted; action_apply_inventory makes it the quantity.
      inventory_quantity: float,
    },
    displayName: (d, r) => d.displayName("product.product", id(r, "product_id") || 0),
  });
  db.define("res.partner.category", { fields: { name: char } });
  db.define("res.partner", {
    order: "name, id",
    fields: {
      name: char,
      email: char,
      phone: char,
      is_company: bool,
      parent_id: m2o("res.partner"),
      child_ids: o2m("res.partner", "parent_id"),
      type: sel("contact"),
      street: char,
      street2: char,
      city: char,
      zip: char,
      country_id: m2o("res.country"),
      // Company-dependent: a partner without a pricelist of its own reads the first active pricelist.
      property_product_pricelist: {
        ...m2o("product.pricelist"),
        fallback: (d) => d.rows("product.pricelist").find((p) => p.active !== false)?.id ?? false,
      },
      category_id: m2m("res.partner.category"),
      active: { type: "boolean", default: def(true) },
    },
    displayName: (d, r) => {
      const parent = id(r, "parent_id");
      const own = typeof r.name === "string" ? r.name : "";
      if (!parent) return own;
      const p = d.displayName("res.partner", parent);
      return own ? `${p}, ${own}` : p;
    },
  });
  db.define("sale.order", {
    order: "date_order desc, id desc",
    fields: {
      name: { type: "char", default: (d) => `S${pad5(d.nextSequence("sale.order"))}` },
      partner_id: m2o("res.partner", true),
      partner_invoice_id: { ...m2o("res.partner"), default: (_d, v) => v.partner_id },
      partner_shipping_id: { ...m2o("res.partner"), default: (_d, v) => v.partner_id },
      client_order_ref: char,
      origin: char,
      note: { type: "text" },
      date_order: { type: "datetime", default: (d) => d.now() },
      pricelist_id: {
        ...m2o("product.pricelist"),
        default: (d, v) =>
          (typeof v.partner_id === "number" &&
            d.row("res.partner", v.partner_id)?.property_product_pricelist) ||
          d.rows("product.pricelist")[0]?.id ||
          false,
      },
      currency_id: {
        ...m2o("res.currency"),
        default: (d, v) => {
          const pl = typeof v.pricelist_id === "number" ? v.pricelist_id : undefined;
          return (
            (pl && d.row("product.pricelist", pl)?.currency_id) || d.rows("res.currency")[0]?.id || false
          );
        },
      },
      order_line: o2m("sale.order.line", "order_id"),
      state: sel("draft"),
      // Odoo 17: a locked sale (action_lock, or "Lock Confirmed Sales") cannot be cancelled until unlocked.
      locked: bool,
      amount_untaxed: float,
      amount_tax: float,
      amount_total: float,
      picking_ids: o2m("stock.picking", "sale_id"),
      // Odoo links invoices through the lines (sale.order.line.invoice_lines); the emulator goes by
      // invoice_origin, which its invoices always carry. Searchable, like Odoo's (_search_invoice_ids).
      invoice_ids: {
        type: "many2many",
        relation: "account.move",
        compute: (d, r) =>
          d
            .rows("account.move")
            .filter(
              (m) =>
                m.invoice_origin === r.name &&
                (m.move_type === "out_invoice" || m.move_type === "out_refund"),
            )
            .map((m) => m.id),
      },
    },
  });
  db.define("sale.order.line", {
    order: "order_id, sequence, id",
    fields: {
      order_id: m2o("sale.order", true),
      sequence: { type: "integer", default: def(10) },
      product_id: m2o("product.product"),
      name: {
        type: "text",
        default: (d, v) =>
          typeof v.product_id === "number" ? d.displayName("product.product", v.product_id) : false,
      },
      product_uom_qty: { type: "float", default: def(1) },
      price_unit: {
        type: "float",
        default: (d, v) =>
          typeof v.product_id === "number"
            ? d.readField("product.product", d.row("product.product", v.product_id) as Row, "lst_price")
            : 0,
      },
      discount: float,
      tax_id: {
        type: "many2many",
        relation: "account.tax",
        default: (d, v) =>
          typeof v.product_id === "number"
            ? d.readField("product.product", d.row("product.product", v.product_id) as Row, "taxes_id")
            : [],
      },
      price_subtotal: float,
      price_tax: float,
      price_total: float,
      is_delivery: bool,
    },
    afterWrite: (d, ids) => {
      const orders = new Set<number>();
      for (const lineId of ids) {
        const line = d.row("sale.order.line", lineId);
        if (!line) continue;
        d.setRaw("sale.order.line", lineId, lineAmounts(d, line));
        const o = id(line, "order_id");
        if (o) orders.add(o);
      }
      for (const o of orders) recomputeOrder(d, o);
    },
    beforeUnlink: (d, rows) => {
      for (const r of rows) {
        const o = d.row("sale.order", id(r, "order_id") || 0);
        if (o && o.state !== "draft" && o.state !== "sent" && o.state !== "cancel") {
          throw userError("Once a sales order is confirmed, you can't remove one of its lines.");
        }
      }
    },
    afterUnlink: (d, rows) => {
      for (const r of rows) {
        const o = id(r, "order_id");
        if (o && d.row("sale.order", o)) recomputeOrder(d, o);
      }
    },
  });
  // Odoo's `delivery` (`stock_delivery` in 17+) module. tracking_url with its <shipmenttrackingnumber>
  // placeholder is how Odoo 17 builds links for fixed-price carriers: recalled, not checked against Odoo's
  // source here. What the connector reads is checked: stock.picking's carrier_id and the computed
  // carrier_tracking_url, which is one URL or a JSON list of [label, url] pairs (get_multiple_carrier_tracking).
  db.define("delivery.carrier", {
    order: "sequence, id",
    fields: {
      name: { type: "char", required: true },
      sequence: { type: "integer", default: def(10) },
      delivery_type: sel("fixed"),
      product_id: m2o("product.product"),
      tracking_url: char,
      active: { type: "boolean", default: def(true) },
    },
  });
  db.define("stock.picking", {
    order: "id desc",
    fields: {
      name: char,
      origin: char,
      sale_id: m2o("sale.order"),
      partner_id: m2o("res.partner"),
      picking_type_code: sel("outgoing"),
      location_id: m2o("stock.location"),
      location_dest_id: m2o("stock.location"),
      state: sel("draft"),
      scheduled_date: { type: "datetime", default: (d) => d.now() },
      date_done: { type: "datetime" },
      carrier_tracking_ref: char,
      backorder_id: m2o("stock.picking"),
      carrier_id: m2o("delivery.carrier"),
      carrier_tracking_url: { type: "char", compute: (d, r) => trackingUrl(d, r) },
      move_ids: o2m("stock.move", "picking_id"),
    },
  });
  db.define("stock.move", {
    fields: {
      name: char,
      picking_id: m2o("stock.picking"),
      product_id: m2o("product.product", true),
      product_uom_qty: float,
      quantity: float,
      // Odoo 17: the moves the warehouse ticked as picked; button_validate ships only those (all if none).
      picked: bool,
      state: sel("draft"),
    },
  });
  db.define("account.move", {
    order: "date desc, name desc, id desc",
    fields: {
      name: char,
      move_type: sel("entry"),
      partner_id: m2o("res.partner"),
      invoice_origin: char,
      invoice_date: { type: "date" },
      date: { type: "date" },
      currency_id: m2o("res.currency"),
      amount_untaxed: float,
      amount_tax: float,
      amount_total: float,
      amount_residual: float,
      state: sel("draft"),
      payment_state: sel("not_paid"),
      // The customer's reference (a shop's refund key on credit notes Passerelle writes), the invoice a
      // credit note reverses, the terms; the invoice lines, whose amounts make the move's when it has any.
      ref: char,
      reversed_entry_id: m2o("account.move"),
      narration: { type: "text" },
      invoice_line_ids: o2m("account.move.line", "move_id"),
    },
  });
  db.define("account.account", { fields: { name: char, code: char } });
  // An invoice line (display_type "product"): Odoo computes its amounts from quantity, unit price and taxes
  // (per line, half-up), and the move's untaxed, tax and total amounts from its lines.
  db.define("account.move.line", {
    fields: {
      move_id: m2o("account.move", true),
      name: { type: "text" },
      display_type: sel("product"),
      product_id: m2o("product.product"),
      account_id: m2o("account.account"),
      quantity: { type: "float", default: def(1) },
      price_unit: float,
      discount: float,
      tax_ids: m2m("account.tax"),
      sale_line_ids: m2m("sale.order.line"),
      price_subtotal: float,
      price_tax: float,
      price_total: float,
    },
    afterWrite: (d, ids) => {
      const moves = new Set<number>();
      for (const lineId of ids) {
        const line = d.row("account.move.line", lineId);
        if (!line) continue;
        d.setRaw(
          "account.move.line",
          lineId,
          lineAmounts(d, { ...line, product_uom_qty: num(line, "quantity"), tax_id: line.tax_ids }),
        );
        const m = id(line, "move_id");
        if (m) moves.add(m);
      }
      for (const m of moves) recomputeMove(d, m);
    },
    beforeUnlink: (d, rows) => {
      for (const r of rows) {
        if (d.row("account.move", id(r, "move_id") || 0)?.state === "posted") {
          throw userError("You cannot modify a posted entry of this journal.");
        }
      }
    },
    afterUnlink: (d, rows) => {
      for (const r of rows) {
        const m = id(r, "move_id");
        if (m && d.row("account.move", m)) recomputeMove(d, m);
      }
    },
  });
  // Wizards (transient models) a merchant's actions go through.
  db.define("sale.advance.payment.inv", {
    fields: { advance_payment_method: sel("delivered"), sale_order_ids: m2m("sale.order") },
  });
  db.define("stock.backorder.confirmation", { fields: { pick_ids: m2m("stock.picking") } });

  db.defineMethod("sale.order", "action_confirm", (d, ids) => {
    for (const o of ids) confirmOrder(d, o);
    return true;
  });
  db.defineMethod("sale.order", "action_cancel", (d, ids, kw) => {
    const orders = ids.map((o) => d.row("sale.order", o)).filter((o): o is Row => !!o);
    if (orders.some((o) => o.locked === true)) {
      throw userError("You cannot cancel a locked order. Please unlock it first if you want to cancel it.");
    }
    // Odoo 17 opens the "cancel and tell the customer" wizard for anything past a quotation, and cancels
    // nothing, unless the context says disable_cancel_warning.
    if (!context(kw).disable_cancel_warning && orders.some((o) => o.state !== "draft")) {
      return {
        name: "Cancel Sales Order",
        type: "ir.actions.act_window",
        res_model: "sale.order.cancel",
        view_mode: "form",
        target: "new",
        context: { default_order_id: ids[0] },
      };
    }
    for (const o of orders) {
      // sale_stock: the sale's deliveries not yet done are cancelled with it.
      for (const p of d.rows("stock.picking")) {
        if (p.sale_id !== o.id || p.state === "done" || p.state === "cancel") continue;
        cancelPicking(d, p.id);
      }
      d.write("sale.order", [o.id], { state: "cancel" });
    }
    return true;
  });
  // Both return None in Odoo 17: the JSON-RPC answer then has no `result`.
  db.defineMethod("sale.order", "action_lock", (d, ids) => {
    d.write("sale.order", ids, { locked: true });
    return undefined;
  });
  db.defineMethod("sale.order", "action_unlock", (d, ids) => {
    d.write("sale.order", ids, { locked: false });
    return undefined;
  });
  db.defineMethod("stock.picking", "action_assign", (d, ids) => {
    for (const p of ids) {
      const picking = d.row("stock.picking", p);
      if (!picking)
        throw missingError(`Record does not exist or has been deleted. (Record: stock.picking(${p},))`);
    }
    return true;
  });
  db.defineMethod("stock.picking", "button_validate", (d, ids, kw) => {
    const ctx = context(kw);
    const partial = ids.filter((p) => !ctx.skip_backorder && shipsLess(d, p));
    if (partial.length > 0) {
      // Odoo 17 asks whether to keep the rest as a backorder: the stock.backorder.confirmation wizard.
      return {
        name: "Create Backorder?",
        type: "ir.actions.act_window",
        res_model: "stock.backorder.confirmation",
        view_mode: "form",
        target: "new",
        context: {
          ...ctx,
          button_validate_picking_ids: ids,
          default_show_transfers: false,
          default_pick_ids: partial.map((p) => [4, p]),
        },
      };
    }
    for (const p of ids) validatePicking(d, p, !ctx.cancel_backorder);
    return true;
  });
  db.defineCreate("stock.backorder.confirmation", (d, list, ctx) => {
    const picks = Array.isArray(ctx.default_pick_ids) ? ctx.default_pick_ids : [];
    return list.map((vals) => d.create("stock.backorder.confirmation", { pick_ids: picks, ...vals }));
  });
  db.defineMethod("stock.backorder.confirmation", "process", (d, ids, kw) => {
    const ctx = context(kw);
    const pickings = new Set<number>();
    for (const w of ids)
      for (const p of (d.row("stock.backorder.confirmation", w)?.pick_ids as number[]) ?? []) pickings.add(p);
    for (const p of (ctx.button_validate_picking_ids as number[] | undefined) ?? []) pickings.add(p);
    for (const p of pickings) validatePicking(d, p, true);
    return true;
  });
  db.defineMethod("stock.backorder.confirmation", "process_cancel_backorder", (d, ids, kw) => {
    const ctx = context(kw);
    const pickings = new Set<number>();
    for (const w of ids)
      for (const p of (d.row("stock.backorder.confirmation", w)?.pick_ids as number[]) ?? []) pickings.add(p);
    for (const p of (ctx.button_validate_picking_ids as number[] | undefined) ?? []) pickings.add(p);
    for (const p of pickings) validatePicking(d, p, false);
    return true;
  });
  db.defineMethod("sale.advance.payment.inv", "create_invoices", (d, ids) => {
    for (const w of ids) {
      const wizard = d.row("sale.advance.payment.inv", w);
      for (const o of (wizard?.sale_order_ids as number[] | undefined) ?? []) draftInvoice(d, o);
    }
    return true;
  });
  db.defineMethod("account.move", "action_post", (d, ids) => {
    for (const m of ids) postInvoice(d, m);
    return false;
  });
  db.defineMethod("stock.quant", "action_apply_inventory", (d, ids) => {
    for (const q of ids) {
      const quant = d.row("stock.quant", q);
      if (!quant) continue;
      d.write("stock.quant", [q], { quantity: num(quant, "inventory_quantity"), inventory_quantity: 0 });
    }
    return undefined;
  });

  // What Odoo's create does beyond storing the values, for creates through the external API (the
  // emulator's own seed writes rows directly, as a database import would).
  db.defineCreate("product.template", (d, list) => createTemplates(d, list));
  db.defineCreate("product.product", (d, list) =>
    list.map((vals) => {
      // _inherits: a variant created alone brings its template, which takes the template's fields.
      const own = new Set(["default_code", "barcode", "active", "product_template_attribute_value_ids"]);
      const variant: Record<string, unknown> = {};
      const template: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(vals))
        (own.has(k) || k === "product_tmpl_id" ? variant : template)[k] = v;
      if (typeof variant.product_tmpl_id === "number") return d.create("product.product", variant);
      const [tmpl] = createTemplates(d, [template], false);
      return d.create("product.product", { ...variant, product_tmpl_id: tmpl });
    }),
  );
  db.defineCreate("stock.warehouse", (d, list) =>
    list.map((vals) => {
      const code = typeof vals.code === "string" ? vals.code : "WH";
      const view = d.create("stock.location", { name: code, usage: "view" });
      const stock = d.create("stock.location", { name: "Stock", location_id: view, usage: "internal" });
      return d.create("stock.warehouse", { ...vals, lot_stock_id: stock, view_location_id: view });
    }),
  );
  db.defineCreate("stock.quant", (d, list, ctx) =>
    list.map((vals) => {
      // In inventory mode a count for a product and location that has a quant goes onto that quant.
      const existing =
        ctx.inventory_mode && typeof vals.product_id === "number" && typeof vals.location_id === "number"
          ? quantAt(d, vals.product_id, vals.location_id)
          : undefined;
      if (existing) {
        d.write("stock.quant", [existing.id], { inventory_quantity: vals.inventory_quantity ?? 0 });
        return existing.id;
      }
      return d.create("stock.quant", vals);
    }),
  );
  defineMrp(db);
  return db;
}

// ---- Manufacturing (module mrp): bills of materials; a kit is a BoM of type "phantom". ----

/** The models the Manufacturing module adds (absent from a database where it is not installed). */
export const MRP_MODELS = ["mrp.bom", "mrp.bom.line"] as const;

/**
 * Odoo's bills of materials: a BoM makes `product_qty` units of a template (or, with `product_id`, of one of
 * its variants) from its lines' quantities of components. Type "phantom" is a kit: sold as one product,
 * delivered as its components, with no stock of its own. Odoo takes a product's first active BoM by
 * sequence, one naming the variant before one for the whole template. Writing a line moves the line's
 * write_date, not the BoM's (a write on the BoM with line commands moves both).
 */
function defineMrp(db: OdooDb): void {
  db.define("mrp.bom", {
    order: "sequence, id",
    fields: {
      product_tmpl_id: m2o("product.template", true),
      product_id: m2o("product.product"),
      product_qty: { type: "float", default: def(1) },
      type: sel("normal"),
      sequence: { type: "integer" },
      active: { type: "boolean", default: def(true) },
      code: char,
      bom_line_ids: o2m("mrp.bom.line", "bom_id"),
    },
    displayName: (d, r) => {
      const code = typeof r.code === "string" ? `${r.code}: ` : "";
      return `${code}${d.displayName("product.template", id(r, "product_tmpl_id") || 0)}`;
    },
    afterWrite: (d, ids) => {
      for (const b of ids) {
        const bom = d.row("mrp.bom", b);
        const variant = id(bom, "product_id");
        if (variant && d.row("product.product", variant)?.product_tmpl_id !== bom?.product_tmpl_id) {
          throw validationError(
            "The product variant of a bill of materials must belong to the bill of materials' product template.",
          );
        }
        if (num(bom, "product_qty") <= 0) {
          throw userError("The quantity to produce must be positive!");
        }
      }
    },
  });
  db.define("mrp.bom.line", {
    order: "sequence, id",
    fields: {
      bom_id: m2o("mrp.bom", true),
      product_id: m2o("product.product", true),
      product_qty: { type: "float", default: def(1) },
      sequence: { type: "integer", default: def(1) },
    },
    displayName: (d, r) => d.displayName("product.product", id(r, "product_id") || 0),
    afterWrite: (d, ids) => {
      for (const l of ids) {
        const line = d.row("mrp.bom.line", l);
        const bom = d.row("mrp.bom", id(line, "bom_id") || 0);
        const product = id(line, "product_id");
        const own = id(bom, "product_id")
          ? product === id(bom, "product_id")
          : d.row("product.product", product || 0)?.product_tmpl_id === bom?.product_tmpl_id;
        if (bom && own) {
          throw validationError("BoM line product should not be same as BoM product.");
        }
      }
    },
  });
}

/**
 * The database as one where Manufacturing is not installed (the real test database): its models are gone,
 * so a call to them fails as a call to any model the emulator does not have.
 */
export function uninstallMrp(db: OdooDb): void {
  for (const model of MRP_MODELS) db.models.delete(model);
}

function context(kw: Record<string, unknown>): Record<string, unknown> {
  const c = kw.context;
  return c && typeof c === "object" && !Array.isArray(c) ? (c as Record<string, unknown>) : {};
}

/**
 * product.template's create: the type from detailed_type, the company's sale taxes, and the variants. As in
 * Odoo, a template with attribute lines gets its variants (one per combination) as its lines are created,
 * the others their one variant once the whole batch is created: in a batch, those variants come last.
 */
function createTemplates(d: OdooDb, list: Record<string, unknown>[], withVariants = true): number[] {
  const later: [number, Record<string, unknown>][] = [];
  const ids = list.map((vals) => {
    const detailed = typeof vals.detailed_type === "string" ? vals.detailed_type : undefined;
    const full: Record<string, unknown> = { ...vals };
    if (detailed) full.type = detailed;
    if (!("taxes_id" in full) && d.settings.saleTaxes) full.taxes_id = [[6, 0, d.settings.saleTaxes]];
    const tmpl = d.create("product.template", full);
    if (!withVariants) return tmpl;
    const lines = d.rows("product.template.attribute.line").filter((l) => l.product_tmpl_id === tmpl);
    if (lines.length === 0) {
      later.push([tmpl, vals]);
      return tmpl;
    }
    let combos: number[][] = [[]];
    for (const line of lines) {
      const ptavs = (line.value_ids as number[]).map((v) =>
        d.create("product.template.attribute.value", {
          name: d.row("product.attribute.value", v)?.name ?? false,
          attribute_id: line.attribute_id,
          product_tmpl_id: tmpl,
          product_attribute_value_id: v,
          attribute_line_id: line.id,
        }),
      );
      combos = combos.flatMap((c) => ptavs.map((p) => [...c, p]));
    }
    // The template's weight is its single variant's: several variants each keep their own (none yet).
    for (const combo of combos) {
      d.create("product.product", {
        product_tmpl_id: tmpl,
        product_template_attribute_value_ids: combo,
        weight: 0,
      });
    }
    return tmpl;
  });
  for (const [tmpl, vals] of later) {
    d.create("product.product", {
      product_tmpl_id: tmpl,
      ...(typeof vals.default_code === "string" ? { default_code: vals.default_code } : {}),
    });
  }
  return ids;
}

function cancelPicking(d: OdooDb, pickingId: number): void {
  const picking = d.row("stock.picking", pickingId);
  if (!picking) return;
  const src = id(picking, "location_id");
  for (const m of d.rows("stock.move").filter((x) => x.picking_id === pickingId)) {
    const q = src ? quantAt(d, id(m, "product_id") || 0, src) : undefined;
    if (q && m.state !== "done" && m.state !== "cancel") {
      const reserved = num(m, "quantity");
      d.write("stock.quant", [q.id], {
        reserved_quantity: Math.max(0, num(q, "reserved_quantity") - reserved),
      });
    }
    d.write("stock.move", [m.id], { state: "cancel", quantity: 0 });
  }
  d.write("stock.picking", [pickingId], { state: "cancel" });
}

/** What each move ships when its picking is validated: the picked moves' quantities, or every move's if none is picked. */
function shippedQuantities(d: OdooDb, pickingId: number): Map<number, number> {
  const moves = d.rows("stock.move").filter((x) => x.picking_id === pickingId && x.state !== "cancel");
  const anyPicked = moves.some((m) => m.picked === true);
  return new Map(moves.map((m) => [m.id, !anyPicked || m.picked === true ? num(m, "quantity") : 0]));
}

function shipsLess(d: OdooDb, pickingId: number): boolean {
  const shipped = shippedQuantities(d, pickingId);
  return d
    .rows("stock.move")
    .some((m) => shipped.has(m.id) && (shipped.get(m.id) ?? 0) < num(m, "product_uom_qty"));
}

function variantExtra(d: OdooDb, variant: Row): number {
  const values = (variant.product_template_attribute_value_ids as number[] | undefined) ?? [];
  return values.reduce((s, v) => s + num(d.row("product.template.attribute.value", v), "price_extra"), 0);
}

const TRACKING_PLACEHOLDER = "<shipmenttrackingnumber>";

/** picking.carrier_id.get_tracking_link(picking): one URL, or [label, url] pairs as JSON for several refs. */
function trackingUrl(d: OdooDb, picking: Row): string | false {
  const carrier = d.row("delivery.carrier", id(picking, "carrier_id") || 0);
  const ref = typeof picking.carrier_tracking_ref === "string" ? picking.carrier_tracking_ref : "";
  const template = typeof carrier?.tracking_url === "string" ? carrier.tracking_url : "";
  if (!carrier || !ref || !template) return false;
  const refs = ref
    .split(",")
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  const link = (r: string) => template.replace(TRACKING_PLACEHOLDER, encodeURIComponent(r));
  if (refs.length === 1) return link(refs[0] as string);
  return JSON.stringify(refs.map((r) => [r, link(r)]));
}

function lineAmounts(d: OdooDb, line: Row): Record<string, number> {
  const gross = num(line, "product_uom_qty") * num(line, "price_unit") * (1 - num(line, "discount") / 100);
  const taxes = (line.tax_id as number[]).map((t) => d.row("account.tax", t)).filter((t): t is Row => !!t);
  const included = taxes.filter((t) => t.price_include === true).reduce((s, t) => s + num(t, "amount"), 0);
  const subtotal = round2(included > 0 ? gross / (1 + included / 100) : gross);
  let tax = 0;
  for (const t of taxes) {
    tax += t.price_include === true ? 0 : round2((subtotal * num(t, "amount")) / 100);
  }
  if (included > 0) tax += round2(gross) - subtotal;
  tax = round2(tax);
  return { price_subtotal: subtotal, price_tax: tax, price_total: round2(subtotal + tax) };
}

/** A move's amounts from its invoice lines (a move without lines keeps the amounts it was given). */
function recomputeMove(d: OdooDb, moveId: number): void {
  const lines = d
    .rows("account.move.line")
    .filter((l) => l.move_id === moveId && l.display_type === "product");
  const untaxed = round2(lines.reduce((s, l) => s + num(l, "price_subtotal"), 0));
  const tax = round2(lines.reduce((s, l) => s + num(l, "price_tax"), 0));
  const total = round2(untaxed + tax);
  d.setRaw("account.move", moveId, {
    amount_untaxed: untaxed,
    amount_tax: tax,
    amount_total: total,
    amount_residual: total,
  });
}

/** An invoice line for (part of) a sale line. */
function invoiceLine(line: Row, quantity: number): unknown[] {
  return [
    0,
    0,
    {
      name: line.name,
      product_id: line.product_id,
      quantity,
      price_unit: num(line, "price_unit"),
      discount: num(line, "discount"),
      tax_ids: [[6, 0, (line.tax_id as number[] | undefined) ?? []]],
      sale_line_ids: [[6, 0, [line.id]]],
    },
  ];
}

function recomputeOrder(d: OdooDb, orderId: number): void {
  const lines = d.rows("sale.order.line").filter((l) => l.order_id === orderId);
  const untaxed = round2(lines.reduce((s, l) => s + num(l, "price_subtotal"), 0));
  const tax = round2(lines.reduce((s, l) => s + num(l, "price_tax"), 0));
  d.setRaw("sale.order", orderId, {
    amount_untaxed: untaxed,
    amount_tax: tax,
    amount_total: round2(untaxed + tax),
  });
}

function mainWarehouseStock(d: OdooDb): number {
  const wh = d.rows("stock.warehouse")[0];
  const loc = id(wh, "lot_stock_id");
  if (!loc) throw userError("No warehouse is configured.");
  return loc;
}

function customersLocation(d: OdooDb): number | false {
  return d.rows("stock.location").find((l) => l.usage === "customer")?.id ?? false;
}

function quantAt(d: OdooDb, productId: number, locationId: number): Row | undefined {
  return d.rows("stock.quant").find((q) => q.product_id === productId && q.location_id === locationId);
}

function confirmOrder(d: OdooDb, orderId: number): void {
  const order = d.row("sale.order", orderId);
  if (!order) throw userError(`Record does not exist: sale.order(${orderId},)`);
  if (order.state !== "draft" && order.state !== "sent") {
    throw userError(
      `It is not allowed to confirm an order in the following states: ${order.state === "sale" ? "Sales Order" : String(order.state)}`,
    );
  }
  const lines = d.rows("sale.order.line").filter((l) => l.order_id === orderId);
  if (lines.length === 0) throw userError("There are no order lines to confirm.");
  d.write("sale.order", [orderId], { state: "sale" });
  const stockLines = lines.filter((l) => {
    const p = d.row("product.product", id(l, "product_id") || 0);
    const t = d.row("product.template", id(p, "product_tmpl_id") || 0);
    return p && t && t.type !== "service" && !l.is_delivery;
  });
  if (stockLines.length === 0) return;
  const src = mainWarehouseStock(d);
  const wh = d.rows("stock.warehouse")[0];
  // Reservation: each move reserves what is free in the warehouse's stock, up to its demand (Odoo's
  // action_assign at confirmation). Reserving moves the quants' write_date, as in Odoo: the inventory
  // stream sees the reservation.
  const reserved = stockLines.map((l) => {
    const q = quantAt(d, id(l, "product_id") || 0, src);
    if (!q) return 0;
    const free = Math.max(0, num(q, "quantity") - num(q, "reserved_quantity"));
    const take = Math.min(free, num(l, "product_uom_qty"));
    if (take > 0) d.write("stock.quant", [q.id], { reserved_quantity: num(q, "reserved_quantity") + take });
    return take;
  });
  const moveState = (take: number, demand: number) =>
    take >= demand ? "assigned" : take > 0 ? "partially_available" : "confirmed";
  d.create("stock.picking", {
    name: `${String(wh?.code ?? "WH")}/OUT/${pad5(d.nextSequence("picking.out"))}`,
    origin: order.name,
    sale_id: orderId,
    partner_id: order.partner_shipping_id || order.partner_id,
    picking_type_code: "outgoing",
    location_id: src,
    location_dest_id: customersLocation(d),
    // Ship as soon as something is reserved (the default shipping policy, "as soon as possible").
    state: reserved.some((r) => r > 0) ? "assigned" : "confirmed",
    move_ids: stockLines.map((l, i) => [
      0,
      0,
      {
        name: l.name,
        product_id: l.product_id,
        product_uom_qty: l.product_uom_qty,
        quantity: reserved[i] ?? 0,
        state: moveState(reserved[i] ?? 0, num(l, "product_uom_qty")),
      },
    ]),
  });
}

/**
 * Validates a picking: the shipped quantities leave the stock (and their reservation), the rest stays
 * behind in a backorder (`backorder`) or is dropped.
 */
function validatePicking(d: OdooDb, pickingId: number, backorder: boolean): void {
  const picking = d.row("stock.picking", pickingId);
  if (!picking) throw userError(`Record does not exist: stock.picking(${pickingId},)`);
  if (picking.state === "done") throw userError(`Transfer ${String(picking.name)} is already done.`);
  if (picking.state === "cancel") throw validationError(`Transfer ${String(picking.name)} is cancelled.`);
  const shipped = shippedQuantities(d, pickingId);
  if ([...shipped.values()].every((q) => q <= 0)) {
    throw userError("You cannot validate a transfer if no quantities are reserved nor done.");
  }
  const src = id(picking, "location_id");
  const moves = d.rows("stock.move").filter((x) => x.picking_id === pickingId && x.state !== "cancel");
  const short = moves.some((m) => (shipped.get(m.id) ?? 0) < num(m, "product_uom_qty"));
  // The rest goes to a backorder: a move not shipped at all moves there whole, a move shipped in part is
  // split (its shipped part stays, a new move in the backorder takes the rest).
  let rest: number | null = null;
  if (backorder && short) {
    const code = String(picking.name).split("/")[0] ?? "WH";
    rest = d.create("stock.picking", {
      name: `${code}/OUT/${pad5(d.nextSequence("picking.out"))}`,
      origin: picking.origin,
      sale_id: picking.sale_id,
      partner_id: picking.partner_id,
      picking_type_code: picking.picking_type_code,
      location_id: picking.location_id,
      location_dest_id: picking.location_dest_id,
      carrier_id: picking.carrier_id,
      backorder_id: pickingId,
      state: "assigned",
    });
  }
  for (const m of moves) {
    const q = src ? quantAt(d, id(m, "product_id") || 0, src) : undefined;
    const qty = shipped.get(m.id) ?? 0;
    const left = num(m, "product_uom_qty") - qty;
    const reservedLeft = Math.max(0, num(m, "product_uom_qty") - qty);
    if (q) {
      d.write("stock.quant", [q.id], {
        quantity: num(q, "quantity") - qty,
        // Without a backorder, what stays unshipped is unreserved too.
        reserved_quantity: Math.max(0, num(q, "reserved_quantity") - qty - (rest ? 0 : reservedLeft)),
      });
    }
    if (qty <= 0) {
      // Odoo reserves the backorder again once it is made.
      if (rest)
        d.write("stock.move", [m.id], {
          picking_id: rest,
          picked: false,
          quantity: num(m, "product_uom_qty"),
        });
      else d.write("stock.move", [m.id], { state: "cancel", quantity: 0 });
      continue;
    }
    d.write("stock.move", [m.id], { state: "done", quantity: qty, product_uom_qty: qty, picked: true });
    if (rest && left > 0) {
      d.create("stock.move", {
        name: m.name,
        picking_id: rest,
        product_id: m.product_id,
        product_uom_qty: left,
        quantity: left,
        state: "assigned",
      });
    }
  }
  d.write("stock.picking", [pickingId], { state: "done", date_done: d.now() });
}

/** The quantity of a sale line its done deliveries shipped. */
function deliveredQuantity(d: OdooDb, line: Row): number {
  const order = id(line, "order_id");
  const pickings = new Set(
    d
      .rows("stock.picking")
      .filter((p) => p.sale_id === order && p.state === "done")
      .map((p) => p.id),
  );
  return d
    .rows("stock.move")
    .filter(
      (m) => pickings.has(id(m, "picking_id") || 0) && m.state === "done" && m.product_id === line.product_id,
    )
    .reduce((s, m) => s + num(m, "quantity"), 0);
}

/**
 * A draft customer invoice of what the sale has to invoice ("Create invoice", regular): each line's
 * ordered or delivered quantity by its product's invoice policy.
 */
function draftInvoice(d: OdooDb, orderId: number): number {
  const order = d.row("sale.order", orderId);
  if (!order) throw userError(`Record does not exist: sale.order(${orderId},)`);
  if (order.state !== "sale")
    throw userError(`Order ${String(order.name)} is not confirmed: nothing to invoice.`);
  let untaxed = 0;
  let tax = 0;
  let any = false;
  const invoiceLines: unknown[] = [];
  for (const line of d.rows("sale.order.line").filter((l) => l.order_id === orderId)) {
    const p = d.row("product.product", id(line, "product_id") || 0);
    const t = d.row("product.template", id(p, "product_tmpl_id") || 0);
    const qty =
      t?.invoice_policy === "delivery" && t.type !== "service"
        ? deliveredQuantity(d, line)
        : num(line, "product_uom_qty");
    if (qty <= 0) continue;
    any = true;
    invoiceLines.push(invoiceLine(line, qty));
    const a = lineAmounts(d, { ...line, product_uom_qty: qty });
    untaxed += a.price_subtotal ?? 0;
    tax += a.price_tax ?? 0;
  }
  if (!any) throw userError("There is no invoiceable line.");
  const total = round2(round2(untaxed) + round2(tax));
  return d.create("account.move", {
    name: "/",
    move_type: "out_invoice",
    partner_id: order.partner_invoice_id || order.partner_id,
    invoice_origin: order.name,
    currency_id: order.currency_id,
    amount_untaxed: round2(untaxed),
    amount_tax: round2(tax),
    amount_total: total,
    amount_residual: total,
    state: "draft",
    payment_state: "not_paid",
    invoice_line_ids: invoiceLines,
  });
}

/** Posting an invoice gives it its number and, when it has none, today's invoice date. */
function postInvoice(d: OdooDb, moveId: number): void {
  const move = d.row("account.move", moveId);
  if (!move)
    throw missingError(`Record does not exist or has been deleted. (Record: account.move(${moveId},))`);
  if (move.state !== "draft") throw userError("Only draft journal entries can be posted.");
  const date =
    typeof move.invoice_date === "string" && move.invoice_date ? move.invoice_date : d.now().slice(0, 10);
  const year = date.slice(0, 4);
  const prefix = move.move_type === "out_refund" ? "RINV" : "INV";
  const name =
    move.name && move.name !== "/"
      ? move.name
      : `${prefix}/${year}/${pad5(d.nextSequence(`${prefix === "INV" ? "invoice" : "refund"}.${year}`))}`;
  d.write("account.move", [moveId], { state: "posted", name, invoice_date: date, date });
}

/** Creates and posts a customer invoice for a confirmed sale (what "Create invoice" + "Confirm" do). */
export function invoiceOrder(d: OdooDb, orderId: number): number {
  const order = d.row("sale.order", orderId);
  if (!order) throw userError(`Record does not exist: sale.order(${orderId},)`);
  if (order.state !== "sale")
    throw userError(`Order ${String(order.name)} is not confirmed: nothing to invoice.`);
  const today = d.now().slice(0, 10);
  const year = today.slice(0, 4);
  return d.create("account.move", {
    name: `INV/${year}/${pad5(d.nextSequence(`invoice.${year}`))}`,
    move_type: "out_invoice",
    partner_id: order.partner_invoice_id || order.partner_id,
    invoice_origin: order.name,
    invoice_date: today,
    date: today,
    currency_id: order.currency_id,
    amount_untaxed: order.amount_untaxed,
    amount_tax: order.amount_tax,
    amount_total: order.amount_total,
    amount_residual: order.amount_total,
    state: "posted",
    payment_state: "not_paid",
    invoice_line_ids: d
      .rows("sale.order.line")
      .filter((l) => l.order_id === orderId)
      .map((l) => invoiceLine(l, num(l, "product_uom_qty"))),
  });
}

/** Registers a full payment of a posted invoice (what "Register payment" does, reconciled at once). */
export function payInvoice(d: OdooDb, moveId: number, state: "paid" | "in_payment" = "paid"): void {
  const move = d.row("account.move", moveId);
  if (move?.state !== "posted") throw userError(`Invoice ${moveId} is not posted: nothing to pay.`);
  d.write("account.move", [moveId], { payment_state: state, amount_residual: 0 });
}

/** A posted credit note for `amount` of a sale's invoice (what "Credit note" + "Confirm" do). */
export function refundOrder(d: OdooDb, orderId: number, amount: number): number {
  const order = d.row("sale.order", orderId);
  if (!order) throw userError(`Record does not exist: sale.order(${orderId},)`);
  const today = d.now().slice(0, 10);
  const year = today.slice(0, 4);
  return d.create("account.move", {
    name: `RINV/${year}/${pad5(d.nextSequence(`refund.${year}`))}`,
    move_type: "out_refund",
    partner_id: order.partner_invoice_id || order.partner_id,
    invoice_origin: order.name,
    invoice_date: today,
    date: today,
    currency_id: order.currency_id,
    amount_total: amount,
    amount_residual: amount,
    state: "posted",
    payment_state: "not_paid",
  });
}

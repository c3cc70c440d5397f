/**
 * The Odoo models the emulator serves, with their real field names, stored computed fields (sale order
 * amounts, line totals) and the business methods a connector calls (action_confirm, button_validate).
 */
import { type FieldDef, OdooDb, type Row } from "./db.ts";
import { userError, validationError } from "./errors.ts";

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

  db.define("res.currency", { fields: { name: char, symbol: char, decimal_places: { type: "integer" } } });
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
  db.define("product.attribute", { fields: { name: char } });
  db.define("product.template.attribute.value", {
    fields: {
      name: char,
      attribute_id: m2o("product.attribute", true),
      product_tmpl_id: m2o("product.template", true),
      price_extra: float,
    },
    displayName: (d, r) =>
      `${d.displayName("product.attribute", id(r, "attribute_id") || 0)}: ${String(r.name)}`,
  });
  db.define("product.template", {
    order: "name, id",
    fields: {
      name: { type: "char", required: true },
      default_code: char,
      list_price: float,
      description_sale: { type: "text" },
      categ_id: m2o("product.category"),
      active: { type: "boolean", default: def(true) },
      type: sel("consu"),
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
      weight: {
        type: "float",
        compute: (d, r) => num(d.row("product.template", id(r, "product_tmpl_id") || 0), "weight"),
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
      property_product_pricelist: m2o("product.pricelist"),
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
    },
  });

  db.defineMethod("sale.order", "action_confirm", (d, ids) => {
    for (const o of ids) confirmOrder(d, o);
    return true;
  });
  db.defineMethod("sale.order", "action_cancel", (d, ids) => {
    for (const o of ids) {
      if (d.row("sale.order", o)?.state === "sale" && pickingsDone(d, o)) {
        throw userError("You cannot cancel a sales order that has been delivered.");
      }
      d.write("sale.order", [o], { state: "cancel" });
    }
    return true;
  });
  db.defineMethod("stock.picking", "button_validate", (d, ids) => {
    for (const p of ids) validatePicking(d, p);
    return true;
  });
  return db;
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

function pickingsDone(d: OdooDb, orderId: number): boolean {
  return d.rows("stock.picking").some((p) => p.sale_id === orderId && p.state === "done");
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
  d.create("stock.picking", {
    name: `${String(wh?.code ?? "WH")}/OUT/${pad5(d.nextSequence("picking.out"))}`,
    origin: order.name,
    sale_id: orderId,
    partner_id: order.partner_shipping_id || order.partner_id,
    picking_type_code: "outgoing",
    location_id: src,
    location_dest_id: customersLocation(d),
    state: "assigned",
    move_ids: stockLines.map((l) => [
      0,
      0,
      {
        name: l.name,
        product_id: l.product_id,
        product_uom_qty: l.product_uom_qty,
        quantity: l.product_uom_qty,
        state: "assigned",
      },
    ]),
  });
  // Reserving stock moves the quants' write_date, as in Odoo: the inventory stream sees the reservation.
  for (const l of stockLines) {
    const q = quantAt(d, id(l, "product_id") || 0, src);
    if (!q) continue;
    const free = Math.max(0, num(q, "quantity") - num(q, "reserved_quantity"));
    const take = Math.min(free, num(l, "product_uom_qty"));
    if (take > 0) d.write("stock.quant", [q.id], { reserved_quantity: num(q, "reserved_quantity") + take });
  }
}

function validatePicking(d: OdooDb, pickingId: number): void {
  const picking = d.row("stock.picking", pickingId);
  if (!picking) throw userError(`Record does not exist: stock.picking(${pickingId},)`);
  if (picking.state === "done") throw userError(`Transfer ${String(picking.name)} is already done.`);
  if (picking.state === "cancel") throw validationError(`Transfer ${String(picking.name)} is cancelled.`);
  const src = id(picking, "location_id");
  for (const m of d.rows("stock.move").filter((x) => x.picking_id === pickingId)) {
    const q = src ? quantAt(d, id(m, "product_id") || 0, src) : undefined;
    const qty = num(m, "quantity") || num(m, "product_uom_qty");
    if (q) {
      d.write("stock.quant", [q.id], {
        quantity: num(q, "quantity") - qty,
        reserved_quantity: Math.max(0, num(q, "reserved_quantity") - qty),
      });
    }
    d.write("stock.move", [m.id], { state: "done", quantity: qty });
  }
  d.write("stock.picking", [pickingId], { state: "done", date_done: d.now() });
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

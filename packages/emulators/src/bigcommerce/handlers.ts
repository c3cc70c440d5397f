/**
 * What each operation of the BigCommerce emulator does, keyed `<document>#<operationId>`. Requests reach a
 * handler only after the contract check (contract.ts); the rules here are BigCommerce's own beyond the
 * documents: v3 collections page by `page`/`limit` with `meta.pagination`, v2 lists are bare arrays;
 * batch product updates take at most 10 products; a product's `inventory_tracking` decides which items
 * take stock (none: no adjustment; product: the base variant only; variant: each variant); a price list
 * record is per variant and currency; a shipment raises its order to Shipped or Partially Shipped.
 */
import {
  type BcCustomer,
  type BcHook,
  type BcOrder,
  type BcPriceRecord,
  type BcProduct,
  type BcVariant,
  type BigCommerceData,
  ORDER_STATUSES,
} from "./data.ts";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: Record<string, string> = {},
    readonly v2 = false,
  ) {
    super(message);
  }
  get body(): unknown {
    if (this.v2) return [{ status: this.status, message: this.message }];
    return {
      status: this.status,
      title: this.message,
      type: "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
      errors: this.errors,
    };
  }
}

export interface Call {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

/** An answer; `status` defaults to 200. */
export interface Answer {
  status?: number;
  body?: unknown;
}

type Handler = (data: BigCommerceData, call: Call) => Answer;
type Body = Record<string, unknown>;

export const BATCH_PRODUCTS = 10;

const unprocessable = (message: string, errors: Record<string, string> = {}) =>
  new HttpError(422, message, errors);
const notFound = (what: string) => new HttpError(404, `The requested ${what} was not found.`);

function page<T>(items: T[], query: URLSearchParams, max = 250): { data: T[]; meta: unknown } {
  const limit = Math.min(Number(query.get("limit") ?? 50), max);
  const current = Math.max(1, Number(query.get("page") ?? 1));
  const totalPages = Math.max(1, Math.ceil(items.length / limit));
  const data = items.slice((current - 1) * limit, current * limit);
  const q = (p: number) => `?page=${p}&limit=${limit}`;
  return {
    data,
    meta: {
      pagination: {
        total: items.length,
        count: data.length,
        per_page: limit,
        current_page: current,
        total_pages: totalPages,
        links: {
          ...(current > 1 ? { previous: q(current - 1) } : {}),
          current: q(current),
          ...(current < totalPages ? { next: q(current + 1) } : {}),
        },
      },
    },
  };
}

function v2page<T>(items: T[], query: URLSearchParams): T[] {
  const limit = Math.min(Number(query.get("limit") ?? 50), 250);
  const current = Math.max(1, Number(query.get("page") ?? 1));
  return items.slice((current - 1) * limit, current * limit);
}

const list = (q: URLSearchParams, name: string): string[] | null => {
  const v = q.get(name);
  return v === null ? null : v.split(",").filter((x) => x !== "");
};

function variantView(v: BcVariant, p: BcProduct, data: BigCommerceData) {
  const tracked = p.inventory_tracking === "variant";
  const level = tracked
    ? data.locations.reduce((n, l) => n + (data.inventory.get(`${v.id}|${l.id}`) ?? 0), 0)
    : 0;
  return {
    id: v.id,
    product_id: v.product_id,
    sku: v.sku,
    price: v.price,
    calculated_price: v.price ?? p.price,
    inventory_level: level,
    purchasing_disabled: false,
    option_values: v.option_values.map((o) => ({ ...o })),
  };
}

function productView(p: BcProduct, data: BigCommerceData, include: string[]) {
  const level =
    p.inventory_tracking === "none"
      ? 0
      : p.variants.reduce(
          (n, v) => n + data.locations.reduce((m, l) => m + (data.inventory.get(`${v.id}|${l.id}`) ?? 0), 0),
          0,
        );
  return {
    id: p.id,
    name: p.name,
    type: p.type,
    sku: p.sku,
    price: p.price,
    weight: p.weight,
    is_visible: p.is_visible,
    availability: p.availability,
    inventory_tracking: p.inventory_tracking,
    inventory_level: level,
    date_created: p.date_created,
    date_modified: p.date_modified,
    base_variant_id: p.variants.find((v) => v.option_values.length === 0)?.id ?? p.variants[0]?.id ?? 0,
    ...(include.includes("variants") ? { variants: p.variants.map((v) => variantView(v, p, data)) } : {}),
    ...(include.includes("options")
      ? {
          options: p.options.map((o) => ({
            id: o.id,
            product_id: p.id,
            display_name: o.display_name,
            type: "rectangles",
            option_values: o.values.map((v) => ({ id: v.id, label: v.label, is_default: false })),
          })),
        }
      : {}),
  };
}

function checkNameSku(
  data: BigCommerceData,
  name: string | undefined,
  sku: string | undefined,
  self?: BcProduct,
) {
  for (const p of data.products.values()) {
    if (p === self) continue;
    if (name !== undefined && p.name === name)
      throw new HttpError(409, `The product name is a duplicate`, {
        name: `A product with name ${name} already exists`,
      });
  }
  if (sku) {
    const v = data.variantBySku(sku);
    if (v && v.product_id !== self?.id)
      throw new HttpError(409, `The product sku is a duplicate`, { sku: `SKU ${sku} is already in use` });
  }
}

function applyProduct(data: BigCommerceData, p: BcProduct, input: Body) {
  if (input.price !== undefined && (input.price as number) < 0)
    throw unprocessable("The price must be 0 or greater", { price: "must be >= 0" });
  if (input.name !== undefined) p.name = input.name as string;
  if (input.price !== undefined) p.price = input.price as number;
  if (input.weight !== undefined) p.weight = input.weight as number;
  if (input.is_visible !== undefined) p.is_visible = input.is_visible as boolean;
  if (input.availability !== undefined) p.availability = input.availability as BcProduct["availability"];
  if (input.inventory_tracking !== undefined)
    p.inventory_tracking = input.inventory_tracking as BcProduct["inventory_tracking"];
  if (input.sku !== undefined) {
    p.sku = input.sku as string;
    const base = p.variants.find((v) => v.option_values.length === 0);
    if (base) base.sku = p.sku;
  }
  p.date_modified = data.now();
}

function createProduct(data: BigCommerceData, input: Body): BcProduct {
  checkNameSku(data, input.name as string, input.sku as string | undefined);
  const now = data.now();
  const p: BcProduct = {
    id: data.next("product", 100),
    name: input.name as string,
    type: input.type as BcProduct["type"],
    sku: (input.sku as string | undefined) ?? "",
    price: input.price as number,
    weight: input.weight as number,
    is_visible: (input.is_visible as boolean | undefined) ?? true,
    availability: (input.availability as BcProduct["availability"] | undefined) ?? "available",
    inventory_tracking: (input.inventory_tracking as BcProduct["inventory_tracking"] | undefined) ?? "none",
    date_created: now,
    date_modified: now,
    variants: [],
    options: [],
  };
  if (p.price < 0) throw unprocessable("The price must be 0 or greater", { price: "must be >= 0" });
  p.variants.push({
    id: data.next("variant", 500),
    product_id: p.id,
    sku: p.sku,
    price: null,
    option_values: [],
  });
  data.products.set(p.id, p);
  return p;
}

function addVariant(data: BigCommerceData, p: BcProduct, input: Body): BcVariant {
  const sku = input.sku as string | undefined;
  if (!sku) throw unprocessable("A variant needs a SKU", { sku: "required" });
  if (data.variantBySku(sku))
    throw new HttpError(409, "The variant sku is a duplicate", { sku: `SKU ${sku} is already in use` });
  const values =
    (input.option_values as
      | { option_display_name?: string; label?: string; id?: number; option_id?: number }[]
      | undefined) ?? [];
  if (values.length === 0)
    throw unprocessable("A variant needs option values", { option_values: "required" });
  const option_values = values.map((ov) => {
    const display = ov.option_display_name;
    const label = ov.label;
    if (!display || !label) throw unprocessable("Option values need option_display_name and label");
    let option = p.options.find((o) => o.display_name === display);
    if (!option) {
      option = { id: data.next("option"), display_name: display, values: [] };
      p.options.push(option);
    }
    let value = option.values.find((v) => v.label === label);
    if (!value) {
      value = { id: data.next("optionValue"), label };
      option.values.push(value);
    }
    return { id: value.id, option_id: option.id, option_display_name: display, label };
  });
  const key = (vs: { option_id: number; id: number }[]) =>
    vs
      .map((v) => `${v.option_id}:${v.id}`)
      .sort()
      .join(",");
  if (p.variants.some((v) => v.option_values.length > 0 && key(v.option_values) === key(option_values)))
    throw new HttpError(409, "A variant with these option values already exists");
  if (input.price !== undefined && input.price !== null && (input.price as number) < 0)
    throw unprocessable("The price must be 0 or greater");
  // Option variants replace the base variant.
  p.variants = p.variants.filter((v) => v.option_values.length > 0);
  const v: BcVariant = {
    id: data.next("variant", 500),
    product_id: p.id,
    sku,
    price: (input.price as number | null | undefined) ?? null,
    option_values,
  };
  p.variants.push(v);
  p.date_modified = data.now();
  return v;
}

function updateVariant(data: BigCommerceData, v: BcVariant, input: Body) {
  if (input.price !== undefined && input.price !== null && (input.price as number) < 0)
    throw unprocessable("The price must be 0 or greater");
  if (input.price !== undefined) v.price = input.price as number | null;
  if (input.sku !== undefined && input.sku !== v.sku) {
    if (data.variantBySku(input.sku as string)) throw new HttpError(409, "The variant sku is a duplicate");
    v.sku = input.sku as string;
  }
}

function productsMatching(data: BigCommerceData, q: URLSearchParams): BcProduct[] {
  let ps = [...data.products.values()];
  const ids = list(q, "id:in");
  if (ids) ps = ps.filter((p) => ids.includes(String(p.id)));
  const skus = list(q, "sku:in");
  if (skus) ps = ps.filter((p) => skus.includes(p.sku) || p.variants.some((v) => skus.includes(v.sku)));
  const sku = q.get("sku");
  if (sku !== null) ps = ps.filter((p) => p.sku === sku);
  const min = q.get("date_modified:min");
  if (min !== null) ps = ps.filter((p) => Date.parse(p.date_modified) >= Date.parse(min));
  return ps.sort((a, b) => a.id - b.id);
}

function priceListRecordView(r: BcPriceRecord) {
  return {
    price_list_id: r.price_list_id,
    variant_id: r.variant_id,
    product_id: r.product_id,
    sku: r.sku,
    currency: r.currency,
    price: r.price,
    calculated_price: r.price,
    bulk_pricing_tiers: r.bulk_pricing_tiers,
    date_created: r.date_created,
    date_modified: r.date_modified,
  };
}

function customerView(c: BcCustomer, include: string[]) {
  return {
    id: c.id,
    email: c.email,
    first_name: c.first_name,
    last_name: c.last_name,
    customer_group_id: c.customer_group_id,
    date_created: c.date_created,
    date_modified: c.date_modified,
    address_count: c.addresses.length,
    ...(include.includes("addresses")
      ? {
          addresses: c.addresses.map((a) => ({
            ...a,
            state_or_province: "",
            customer_id: c.id,
            address_type: "residential",
          })),
        }
      : {}),
  };
}

function orderView(o: BcOrder) {
  const shipped = o.products.reduce((n, p) => n + p.quantity_shipped, 0);
  const total = o.products.reduce((n, p) => n + p.quantity, 0);
  return {
    id: o.id,
    customer_id: o.customer_id,
    date_created: new Date(o.date_created).toUTCString().replace("GMT", "+0000"),
    date_modified: new Date(o.date_modified).toUTCString().replace("GMT", "+0000"),
    status_id: o.status_id,
    status: ORDER_STATUSES[o.status_id] ?? "Unknown",
    subtotal_ex_tax: o.subtotal_ex_tax,
    subtotal_inc_tax: (Number(o.subtotal_ex_tax) + Number(o.total_tax)).toFixed(4),
    shipping_cost_ex_tax: o.shipping_cost_ex_tax,
    shipping_cost_inc_tax: o.shipping_cost_ex_tax,
    total_ex_tax: (Number(o.total_inc_tax) - Number(o.total_tax)).toFixed(4),
    total_inc_tax: o.total_inc_tax,
    total_tax: o.total_tax,
    items_total: total,
    items_shipped: shipped,
    payment_method: o.payment_method,
    payment_status: o.status_id === 5 ? "void" : "captured",
    refunded_amount: "0.0000",
    currency_code: o.currency_code,
    discount_amount: "0.0000",
    coupon_discount: "0.0000",
    is_tax_inclusive_pricing: false,
    billing_address: {
      first_name: o.first_name,
      last_name: o.last_name,
      street_1: o.address.street_1,
      city: o.address.city,
      zip: o.address.zip,
      country: o.address.country,
      country_iso2: o.address.country_iso2,
      email: o.email,
    },
    products: {
      url: `https://api.bigcommerce.com/stores/x/v2/orders/${o.id}/products`,
      resource: `/orders/${o.id}/products`,
    },
    shipping_addresses: {
      url: `https://api.bigcommerce.com/stores/x/v2/orders/${o.id}/shipping_addresses`,
      resource: `/orders/${o.id}/shipping_addresses`,
    },
  };
}

function shipmentView(o: BcOrder, s: BcShipment) {
  return {
    id: s.id,
    order_id: o.id,
    customer_id: o.customer_id,
    order_address_id: s.order_address_id,
    date_created: new Date(s.date_created).toUTCString().replace("GMT", "+0000"),
    tracking_number: s.tracking_number,
    tracking_carrier: s.tracking_carrier,
    shipping_method: s.shipping_method,
    comments: s.comments,
    items: s.items,
  };
}
type BcShipment = BcOrder["shipments"][number];

function hookView(h: BcHook) {
  return {
    id: h.id,
    client_id: "passerelle-emulator",
    store_hash: "emulator",
    scope: h.scope,
    destination: h.destination,
    is_active: h.is_active,
    headers: h.headers,
    created_at: h.created_at,
    updated_at: h.updated_at,
  };
}

const orderOf = (data: BigCommerceData, call: Call) => {
  const o = data.orders.get(Number(call.params.order_id));
  if (!o) throw new HttpError(404, "The requested resource was not found.", {}, true);
  return o;
};

const P = "products_catalog.v3.yml#";
const V = "product-variants_catalog.v3.yml#";
const PL = "price_lists.v3.yml#";
const I = "inventory.v3.yml#";
const O = "orders.v2.oas2.yml#";
const H = "webhooks.v3.yml#";

export const handlers: Record<string, Handler> = {
  // ---- catalog ----
  [`${P}getProducts`]: (data, call) => {
    const include = list(call.query, "include") ?? [];
    return {
      body: page(
        productsMatching(data, call.query).map((p) => productView(p, data, include)),
        call.query,
      ),
    };
  },
  [`${P}getProduct`]: (data, call) => {
    const p = data.products.get(Number(call.params.product_id));
    if (!p) throw notFound("product");
    return { body: { data: productView(p, data, list(call.query, "include") ?? []), meta: {} } };
  },
  [`${P}createProduct`]: (data, call) => {
    const p = createProduct(data, call.body as Body);
    return { body: { data: productView(p, data, ["variants"]), meta: {} } };
  },
  [`${P}updateProduct`]: (data, call) => {
    const p = data.products.get(Number(call.params.product_id));
    if (!p) throw notFound("product");
    const input = call.body as Body;
    checkNameSku(data, input.name as string | undefined, input.sku as string | undefined, p);
    applyProduct(data, p, input);
    return { body: { data: productView(p, data, ["variants"]), meta: {} } };
  },
  [`${P}updateProducts`]: (data, call) => {
    const items = call.body as Body[];
    if (items.length > BATCH_PRODUCTS)
      throw new HttpError(
        413,
        `A batch update takes at most ${BATCH_PRODUCTS} products, got ${items.length}`,
      );
    const targets = items.map((i) => {
      const p = data.products.get(Number(i.id));
      if (!p) throw notFound(`product ${String(i.id)}`);
      checkNameSku(data, i.name as string | undefined, i.sku as string | undefined, p);
      return p;
    });
    for (const [i, input] of items.entries()) applyProduct(data, targets[i] as BcProduct, input);
    return { body: { data: targets.map((p) => productView(p, data, [])), meta: {} } };
  },
  [`${V}getProductVariants`]: (data, call) => {
    const p = data.products.get(Number(call.params.product_id));
    if (!p) throw notFound("product");
    return {
      body: page(
        p.variants.map((v) => variantView(v, p, data)),
        call.query,
      ),
    };
  },
  [`${V}createProductVariant`]: (data, call) => {
    const p = data.products.get(Number(call.params.product_id));
    if (!p) throw notFound("product");
    const v = addVariant(data, p, call.body as Body);
    return { body: { data: variantView(v, p, data), meta: {} } };
  },
  [`${V}updateProductVariant`]: (data, call) => {
    const p = data.products.get(Number(call.params.product_id));
    const v = p?.variants.find((x) => x.id === Number(call.params.variant_id));
    if (!p || !v) throw notFound("variant");
    updateVariant(data, v, call.body as Body);
    p.date_modified = data.now();
    return { body: { data: variantView(v, p, data), meta: {} } };
  },
  [`${V}updateVariantsBatch`]: (data, call) => {
    const items = call.body as Body[];
    if (items.length > 50) throw new HttpError(413, "A batch update takes at most 50 variants");
    const found = items.map((i) => {
      for (const p of data.products.values()) {
        const v = p.variants.find((x) => x.id === Number(i.id));
        if (v) return { p, v };
      }
      throw unprocessable(`No variant ${String(i.id)}`);
    });
    found.forEach(({ p, v }, i) => {
      updateVariant(data, v, items[i] as Body);
      p.date_modified = data.now();
    });
    return { body: { data: found.map(({ p, v }) => variantView(v, p, data)), meta: {} } };
  },
  // ---- price lists ----
  [`${PL}getPriceLists`]: (data, call) => {
    let lists = [...data.priceLists.values()];
    const name = call.query.get("name");
    if (name !== null) lists = lists.filter((l) => l.name === name);
    return { body: page(lists, call.query) };
  },
  [`${PL}createPriceList`]: (data, call) => {
    const input = call.body as Body;
    if ([...data.priceLists.values()].some((l) => l.name === input.name))
      throw new HttpError(409, `A price list named ${String(input.name)} already exists`);
    const now = data.now();
    const l = {
      id: data.next("priceList"),
      name: input.name as string,
      active: (input.active as boolean | undefined) ?? true,
      date_created: now,
      date_modified: now,
    };
    data.priceLists.set(l.id, l);
    return { body: { data: l, meta: {} } };
  },
  [`${PL}getPriceListRecords`]: (data, call) => {
    const id = Number(call.params.price_list_id);
    if (!data.priceLists.has(id)) throw notFound("price list");
    let rs = [...data.priceRecords.values()].filter((r) => r.price_list_id === id);
    const skus = list(call.query, "sku:in");
    if (skus) rs = rs.filter((r) => skus.includes(r.sku));
    const variants = list(call.query, "variant_id:in");
    if (variants) rs = rs.filter((r) => variants.includes(String(r.variant_id)));
    return { body: page(rs.map(priceListRecordView), call.query, 1000) };
  },
  [`${PL}upsertPriceListRecords`]: (data, call) => {
    const id = Number(call.params.price_list_id);
    if (!data.priceLists.has(id)) throw notFound("price list");
    const items = call.body as Body[];
    if (items.length > 1000) throw new HttpError(413, "At most 1,000 price records per request");
    const errors: unknown[] = [];
    const ok: BcPriceRecord[] = [];
    for (const i of items) {
      const v =
        i.variant_id !== undefined
          ? [...data.products.values()].flatMap((p) => p.variants).find((x) => x.id === i.variant_id)
          : data.variantBySku(String(i.sku));
      const problem = !v
        ? "variant not found"
        : i.price === undefined
          ? "price is required"
          : (i.price as number) < 0
            ? "price must be 0 or greater"
            : !i.currency
              ? "currency is required"
              : null;
      if (problem || !v) {
        errors.push({
          data: {
            ...(i.variant_id !== undefined ? { variant_id: i.variant_id } : {}),
            ...(i.sku !== undefined ? { sku: i.sku } : {}),
            ...(i.currency ? { currency: i.currency } : {}),
          },
          error: { status: 422, title: problem, type: "about:blank", errors: {} },
        });
        continue;
      }
      const currency = String(i.currency).toLowerCase();
      const key = `${id}|${v.id}|${currency}`;
      const now = data.now();
      const before = data.priceRecords.get(key);
      const rec: BcPriceRecord = {
        price_list_id: id,
        variant_id: v.id,
        product_id: v.product_id,
        sku: v.sku,
        currency,
        price: i.price as number,
        bulk_pricing_tiers: (i.bulk_pricing_tiers as BcPriceRecord["bulk_pricing_tiers"] | undefined) ?? [],
        date_created: before?.date_created ?? now,
        date_modified: now,
      };
      ok.push(rec);
    }
    if (errors.length > 0) return { status: 422, body: { batch_errors: errors } };
    for (const r of ok) data.priceRecords.set(`${r.price_list_id}|${r.variant_id}|${r.currency}`, r);
    return { body: { data: {}, meta: {} } };
  },
  [`${PL}getListOfPriceListAssignments`]: (data, call) => {
    let as = [...data.assignments];
    const pl = call.query.get("price_list_id");
    if (pl !== null) as = as.filter((a) => a.price_list_id === Number(pl));
    const groups = list(call.query, "customer_group_id:in");
    if (groups) as = as.filter((a) => groups.includes(String(a.customer_group_id)));
    return { body: page(as, call.query) };
  },
  [`${PL}createPriceListAssignments`]: (data, call) => {
    for (const a of call.body as Body[]) {
      if (!data.priceLists.has(a.price_list_id as number))
        throw unprocessable(`No price list ${String(a.price_list_id)}`);
      if (a.customer_group_id !== undefined && !data.customerGroups.some((g) => g.id === a.customer_group_id))
        throw unprocessable(`No customer group ${String(a.customer_group_id)}`);
      const group = (a.customer_group_id as number | undefined) ?? 0;
      const channel = (a.channel_id as number | undefined) ?? 1;
      // One price list per customer group and channel: a new assignment replaces the old one.
      const at = data.assignments.findIndex((x) => x.customer_group_id === group && x.channel_id === channel);
      if (at >= 0) data.assignments.splice(at, 1);
      data.assignments.push({
        id: data.next("assignment"),
        price_list_id: a.price_list_id as number,
        customer_group_id: group,
        channel_id: channel,
      });
    }
    return { body: undefined };
  },
  // ---- inventory ----
  [`${I}get-inventory-items`]: (data, call) => {
    const skus = list(call.query, "sku:in");
    const vids = list(call.query, "variant_id:in");
    const items: unknown[] = [];
    for (const p of [...data.products.values()].sort((a, b) => a.id - b.id)) {
      for (const v of p.variants) {
        if (skus && !skus.includes(v.sku)) continue;
        if (vids && !vids.includes(String(v.id))) continue;
        items.push({
          identity: { sku: v.sku, variant_id: v.id, product_id: p.id },
          locations: data.locations.map((l) => {
            const onHand = data.inventory.get(`${v.id}|${l.id}`) ?? 0;
            return {
              location_id: l.id,
              location_code: l.code,
              location_name: l.name,
              available_to_sell: onHand,
              total_inventory_onhand: onHand,
              location_enabled: true,
              settings: { safety_stock: 0, is_in_stock: onHand > 0, warning_level: 0 },
            };
          }),
        });
      }
    }
    return { body: page(items, call.query, 1000) };
  },
  [`${I}put-absolute-adjustment`]: (data, call) => {
    const items = (call.body as { items: Body[] }).items;
    if (items.length > 2000) throw new HttpError(413, "At most 2,000 items per adjustment");
    const sets: [string, number][] = [];
    const errors: Record<string, string> = {};
    items.forEach((i, n) => {
      const v =
        i.variant_id !== undefined
          ? [...data.products.values()].flatMap((p) => p.variants).find((x) => x.id === i.variant_id)
          : i.sku !== undefined
            ? data.variantBySku(String(i.sku))
            : data.products.get(i.product_id as number)?.variants.find((x) => x.option_values.length === 0);
      if (!data.locations.some((l) => l.id === i.location_id)) {
        errors[`items.${n}.location_id`] = `location ${String(i.location_id)} does not exist`;
        return;
      }
      if (!v) {
        errors[`items.${n}`] = "item not found";
        return;
      }
      const p = data.products.get(v.product_id) as BcProduct;
      if (p.inventory_tracking === "none") {
        errors[`items.${n}`] = `product ${p.id} does not track inventory (inventory_tracking none)`;
        return;
      }
      if (p.inventory_tracking === "product" && v.option_values.length > 0) {
        errors[`items.${n}`] = `product ${p.id} tracks inventory by product, not by variant`;
        return;
      }
      if ((i.quantity as number) < 0) {
        errors[`items.${n}.quantity`] = "must be 0 or greater";
        return;
      }
      sets.push([`${v.id}|${String(i.location_id)}`, i.quantity as number]);
    });
    if (Object.keys(errors).length > 0) throw unprocessable("The adjustment was not applied", errors);
    for (const [k, q] of sets) data.inventory.set(k, q);
    return { body: { transaction_id: `tx-${data.next("transaction")}` } };
  },
  // ---- customers ----
  "customers.v3.yml#getCustomers": (data, call) => {
    let cs = [...data.customers.values()];
    const ids = list(call.query, "id:in");
    if (ids) cs = cs.filter((c) => ids.includes(String(c.id)));
    const min = call.query.get("date_modified:min");
    if (min !== null) cs = cs.filter((c) => Date.parse(c.date_modified) >= Date.parse(min));
    const sort = call.query.get("sort") ?? "date_created:asc";
    const [field, dir] = sort.split(":") as [string, string | undefined];
    const value = (c: BcCustomer) => (c as unknown as Record<string, string>)[field] ?? "";
    const cmp = (a: BcCustomer, b: BcCustomer) =>
      (value(a) < value(b) ? -1 : value(a) > value(b) ? 1 : a.id - b.id) * (dir === "desc" ? -1 : 1);
    cs.sort(cmp);
    const include = list(call.query, "include") ?? [];
    const limit = Math.min(Number(call.query.get("limit") ?? 50), 250);
    const after = call.query.get("after");
    // Cursor pages: the cursor is the keyset (sort value, id) of the last entry given.
    const encode = (c: BcCustomer) =>
      Buffer.from(JSON.stringify({ v: value(c), id: c.id })).toString("base64url");
    if (after !== null) {
      let at: { v: string; id: number };
      try {
        at = JSON.parse(Buffer.from(after, "base64url").toString("utf8")) as { v: string; id: number };
      } catch {
        throw unprocessable("after is not a cursor this store gave", { after });
      }
      const rest = cs.filter((c) => cmp(c, { ...c, id: at.id, [field]: at.v } as BcCustomer) > 0);
      const data = rest.slice(0, limit);
      const last = data[data.length - 1];
      return {
        body: {
          data: data.map((c) => customerView(c, include)),
          meta: {
            cursor_pagination: {
              count: data.length,
              per_page: limit,
              ...(data[0] ? { start_cursor: encode(data[0]) } : {}),
              ...(last ? { end_cursor: encode(last) } : {}),
              links: {
                ...(rest.length > limit && last ? { next: `?after=${encode(last)}&limit=${limit}` } : {}),
              },
            },
          },
        },
      };
    }
    const p = page(
      cs.map((c) => customerView(c, include)),
      call.query,
    );
    const first = cs.slice(0, limit);
    const last = first[first.length - 1];
    return {
      body: {
        ...p,
        meta: {
          ...(p.meta as object),
          ...(Number(call.query.get("page") ?? 1) === 1
            ? {
                cursor_pagination: {
                  count: first.length,
                  per_page: limit,
                  ...(first[0] ? { start_cursor: encode(first[0]) } : {}),
                  ...(last ? { end_cursor: encode(last) } : {}),
                  links: {
                    ...(cs.length > limit && last ? { next: `?after=${encode(last)}&limit=${limit}` } : {}),
                  },
                },
              }
            : {}),
        },
      },
    };
  },
  "customers.v2.yml#getCustomerGroups": (data, call) => ({
    body: v2page(
      data.customerGroups.map((g) => ({
        id: g.id,
        name: g.name,
        is_default: false,
        category_access: { type: "all" },
        is_group_for_guests: false,
      })),
      call.query,
    ),
  }),
  // ---- orders ----
  [`${O}getOrders`]: (data, call) => {
    let os = [...data.orders.values()];
    const min = call.query.get("min_date_modified");
    if (min !== null) os = os.filter((o) => Date.parse(o.date_modified) >= Date.parse(min));
    const max = call.query.get("max_date_modified");
    if (max !== null) os = os.filter((o) => Date.parse(o.date_modified) <= Date.parse(max));
    const minId = call.query.get("min_id");
    if (minId !== null) os = os.filter((o) => o.id >= Number(minId));
    const sort = call.query.get("sort") ?? "id";
    const [field, dir] = sort.split(":");
    const k = (o: BcOrder) =>
      field === "date_modified"
        ? `${o.date_modified}|${String(o.id).padStart(12, "0")}`
        : String(o.id).padStart(12, "0");
    os.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0) * (dir === "desc" ? -1 : 1));
    return { body: v2page(os, call.query).map(orderView) };
  },
  [`${O}getOrder`]: (data, call) => ({ body: orderView(orderOf(data, call)) }),
  [`${O}updateOrder`]: (data, call) => {
    const o = orderOf(data, call);
    const input = call.body as Body;
    if (input.status_id !== undefined) {
      const s = input.status_id as number;
      if (ORDER_STATUSES[s] === undefined)
        throw new HttpError(400, `status_id ${s} is not an order status`, {}, true);
      o.status_id = s;
    }
    o.date_modified = data.now();
    return { body: orderView(o) };
  },
  [`${O}getOrderProducts`]: (data, call) => ({
    body: v2page(orderOf(data, call).products, call.query).map((p) => ({ ...p, type: "physical" })),
  }),
  [`${O}getOrderShippingAddresses`]: (data, call) => {
    const o = orderOf(data, call);
    const a = o.address;
    return {
      body: [
        {
          id: a.id,
          order_id: o.id,
          first_name: a.first_name,
          last_name: a.last_name,
          street_1: a.street_1,
          city: a.city,
          zip: a.zip,
          country: a.country,
          country_iso2: a.country_iso2,
          email: o.email,
        },
      ],
    };
  },
  [`${O}getOrderShipments`]: (data, call) => {
    const o = orderOf(data, call);
    const ss = v2page(o.shipments, call.query);
    return ss.length === 0 ? { status: 204 } : { body: ss.map((s) => shipmentView(o, s)) };
  },
  [`${O}createOrderShipments`]: (data, call) => {
    const o = orderOf(data, call);
    if (o.status_id === 5) throw new HttpError(400, "A cancelled order cannot be shipped", {}, true);
    const input = call.body as {
      order_address_id: number;
      tracking_number?: string;
      tracking_carrier?: string;
      shipping_method?: string;
      comments?: string;
      items: { order_product_id: number; quantity: number }[];
    };
    if (input.order_address_id !== o.address.id)
      throw new HttpError(
        400,
        `order_address_id ${input.order_address_id} is not an address of order ${o.id}`,
        {},
        true,
      );
    const items = input.items.map((i) => {
      const line = o.products.find((p) => p.id === i.order_product_id);
      if (!line)
        throw new HttpError(
          400,
          `order_product_id ${i.order_product_id} is not a line of order ${o.id}`,
          {},
          true,
        );
      if (i.quantity > line.quantity - line.quantity_shipped)
        throw new HttpError(
          400,
          `quantity ${i.quantity} exceeds what is left to ship of line ${line.id}`,
          {},
          true,
        );
      return { line, quantity: i.quantity };
    });
    if (items.length === 0) throw new HttpError(400, "A shipment needs items", {}, true);
    for (const i of items) i.line.quantity_shipped += i.quantity;
    const s: BcShipment = {
      id: data.next("shipment"),
      order_id: o.id,
      order_address_id: input.order_address_id,
      tracking_number: input.tracking_number ?? "",
      tracking_carrier: input.tracking_carrier ?? "",
      shipping_method: input.shipping_method ?? "",
      comments: input.comments ?? "",
      date_created: data.now(),
      items: items.map((i) => ({
        order_product_id: i.line.id,
        product_id: i.line.product_id,
        quantity: i.quantity,
      })),
    };
    o.shipments.push(s);
    o.status_id = o.products.every((p) => p.quantity_shipped >= p.quantity) ? 2 : 3;
    o.date_modified = data.now();
    return { status: 201, body: shipmentView(o, s) };
  },
  [`${O}getOrderStatuses`]: () => ({
    body: Object.entries(ORDER_STATUSES).map(([id, name]) => ({
      id: Number(id),
      name,
      system_label: name,
      custom_label: name,
      system_description: name,
      order: Number(id),
    })),
  }),
  // ---- webhooks ----
  [`${H}createWebhooks`]: (data, call) => {
    const input = call.body as Body;
    const dest = String(input.destination);
    if (!/^https:\/\//.test(dest) && !/^http:\/\/127\.0\.0\.1[:/]/.test(dest))
      throw new HttpError(422, "destination must be an https URL on port 443");
    const now = Math.floor(Date.now() / 1000);
    const h: BcHook = {
      id: data.next("hook"),
      scope: String(input.scope),
      destination: dest,
      is_active: (input.is_active as boolean | undefined) ?? true,
      headers: (input.headers as Record<string, string> | null | undefined) ?? null,
      created_at: now,
      updated_at: now,
    };
    data.hooks.set(h.id, h);
    return { body: { data: hookView(h), meta: {} } };
  },
  [`${H}getWebhooks`]: (data, call) => {
    let hs = [...data.hooks.values()];
    const dest = call.query.get("destination");
    if (dest !== null) hs = hs.filter((h) => h.destination === dest);
    const p = page(hs.map(hookView), call.query);
    return { body: p };
  },
  [`${H}deleteWebhook`]: (data, call) => {
    const h = data.hooks.get(Number(call.params.webhook_id));
    if (!h) throw notFound("webhook");
    data.hooks.delete(h.id);
    return { body: { data: hookView(h), meta: {} } };
  },
};

/** Operations that change nothing (for the write counter). */
export const isRead = (id: string) => /#get/i.test(id);

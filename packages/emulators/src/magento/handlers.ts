/**
 * What each operation of the Magento emulator does, by the document's operationId. Requests reach a handler
 * only after the contract check (contract.ts); the rules here are Magento's own semantics beyond the
 * document: which values must exist, what a store view scope changes, what a shipment does to its order.
 */
import Big from "big.js";
import type { MagentoData, MCustomer, MOrder, MOrderItem, MProduct, MShipment, TierRow } from "./data.ts";
import { echo, parseSearchCriteria, type SearchCriteria, SearchError, search } from "./search.ts";

export interface Scope {
  /** Store id of the path's store code; 0 for `all` (global scope). */
  storeId: number;
  all: boolean;
  now: string;
}

export interface Call {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  scope: Scope;
  bulk: boolean;
}

/**
 * An error answer in the document's shape (`error-response`): `%1`-style placeholders are filled in the
 * message; named ones (`%fieldName`, `%fieldValue`, `%resources`) travel as the document's parameter
 * objects; a validation failure lists its reasons in `errors`.
 */
export class HttpError extends Error {
  named: { resources?: string; fieldName?: string; fieldValue?: string } | undefined;
  errors: string[] = [];
  constructor(
    readonly status: number,
    message: string,
    parameters: string[] = [],
  ) {
    super(message.replace(/%(\d+)/g, (m, i: string) => parameters[Number(i) - 1] ?? m));
  }
  get body() {
    return {
      message: this.message,
      ...(this.named ? { parameters: [this.named] } : {}),
      ...(this.errors.length > 0 ? { errors: this.errors.map((message) => ({ message })) } : {}),
    };
  }
}

const bad = (message: string, ...parameters: string[]) => new HttpError(400, message, parameters);
const notFound = (message: string, ...parameters: string[]) => new HttpError(404, message, parameters);
const namedError = (status: number, message: string, named: NonNullable<HttpError["named"]>) => {
  const e = new HttpError(status, message);
  e.named = named;
  return e;
};

type Body = Record<string, unknown>;
type Handler = (data: MagentoData, call: Call) => unknown;

function criteria(call: Call): SearchCriteria {
  try {
    return parseSearchCriteria(call.query);
  } catch (err) {
    if (err instanceof SearchError) throw bad(err.message);
    throw err;
  }
}

function searchAnswer<T>(
  records: T[],
  call: Call,
  field: (r: T, name: string) => unknown,
  view: (r: T) => unknown,
) {
  const sc = criteria(call);
  try {
    const { items, total } = search(records, sc, field);
    return { items: items.map(view), search_criteria: echo(sc), total_count: total };
  } catch (err) {
    if (err instanceof SearchError) throw bad(err.message);
    throw err;
  }
}

// ---- catalogue ---------------------------------------------------------------------------------------

function productView(data: MagentoData, p: MProduct, storeId: number) {
  const o = p.overrides.get(storeId) ?? {};
  const ext: Record<string, unknown> = { website_ids: p.website_ids };
  if (p.type_id === "configurable") {
    ext.configurable_product_options = p.configurable_options.map((c) => ({
      id: c.id,
      attribute_id: c.attribute_id,
      label: c.label,
      position: c.position,
      values: c.values.map((v) => ({ value_index: v })),
      product_id: p.id,
    }));
    ext.configurable_product_links = [...p.children];
  }
  void data;
  return {
    id: p.id,
    sku: p.sku,
    name: o.name ?? p.name,
    attribute_set_id: p.attribute_set_id,
    price: p.price,
    status: o.status ?? p.status,
    visibility: p.visibility,
    type_id: p.type_id,
    created_at: p.created_at,
    updated_at: p.updated_at,
    ...(p.weight !== undefined ? { weight: p.weight } : {}),
    extension_attributes: ext,
    custom_attributes: [...p.custom].map(([attribute_code, value]) => ({ attribute_code, value })),
  };
}

const productField = (p: MProduct, name: string): unknown =>
  name === "entity_id" || name === "id"
    ? p.id
    : name in p
      ? (p as unknown as Record<string, unknown>)[name]
      : p.custom.get(name);

function saveProduct(data: MagentoData, call: Call, sku: string): unknown {
  const input = (call.body as Body).product as Body;
  const existing = data.products.get(sku);
  const now = call.scope.now;
  const type = (input.type_id as string | undefined) ?? existing?.type_id ?? "simple";
  if (type !== "simple" && type !== "configurable")
    throw bad(`Product type "%1" is not modelled by this emulator.`, type);
  if (existing && existing.type_id !== type)
    throw bad(`The product type of "%1" cannot change from %2 to %3.`, sku, existing.type_id, type);
  if (input.price !== undefined && (input.price as number) < 0)
    throw bad('The "%1" value must be a number 0 or greater.', "price");
  if (!existing) {
    if (typeof input.name !== "string" || input.name.trim() === "")
      throw bad('The "%1" attribute value is empty. Set the attribute and try again.', "name");
    if (input.attribute_set_id === undefined)
      throw bad('The "%1" attribute value is empty. Set the attribute and try again.', "attribute_set_id");
    if (type === "simple" && input.price === undefined)
      throw bad('The "%1" attribute value is empty. Set the attribute and try again.', "price");
  }
  // Custom attributes: select attributes take one of their option ids.
  const custom = new Map(existing?.custom ?? []);
  for (const a of (input.custom_attributes as { attribute_code: string; value: string }[] | undefined) ??
    []) {
    const attribute = data.attributes.get(a.attribute_code);
    if (attribute && a.value !== "" && !attribute.options.some((o) => o.value === a.value))
      throw bad('Attribute "%1" has no option with id "%2".', a.attribute_code, a.value);
    custom.set(a.attribute_code, a.value);
  }
  const ext = (input.extension_attributes as Body | undefined) ?? {};
  let options = existing?.configurable_options ?? [];
  let children = existing?.children ?? [];
  if (type === "configurable") {
    if (ext.configurable_product_options !== undefined) {
      options = (ext.configurable_product_options as Body[]).map((c, i) => {
        const attribute = [...data.attributes.values()].find(
          (a) => String(a.attribute_id) === String(c.attribute_id),
        );
        if (!attribute)
          throw bad('The attribute with id "%1" is not a configurable attribute.', String(c.attribute_id));
        const values = ((c.values as { value_index: number }[] | undefined) ?? []).map((v) => v.value_index);
        for (const v of values)
          if (!attribute.options.some((o) => o.value === String(v)))
            throw bad('Attribute "%1" has no option with id "%2".', attribute.attribute_code, String(v));
        const same = existing?.configurable_options.find((x) => x.attribute_id === String(c.attribute_id));
        return {
          id: same?.id ?? data.next("option"),
          attribute_id: String(c.attribute_id),
          label: (c.label as string | undefined) ?? attribute.label,
          position: (c.position as number | undefined) ?? i,
          values,
        };
      });
    }
    if (ext.configurable_product_links !== undefined)
      children = [...(ext.configurable_product_links as number[])];
    checkChildren(data, sku, options, children);
  } else if (ext.configurable_product_options !== undefined || ext.configurable_product_links !== undefined) {
    throw bad("Only a configurable product takes configurable options and links.");
  }
  const websiteIds = (ext.website_ids as number[] | undefined) ?? existing?.website_ids ?? [1];
  for (const w of websiteIds)
    if (!data.websites.some((x) => x.id === w))
      throw bad('The website with id "%1" does not exist.', String(w));
  const next: MProduct = existing
    ? {
        ...existing,
        overrides: new Map([...existing.overrides].map(([k, v]) => [k, { ...v }])),
        custom,
        configurable_options: options,
        children,
        website_ids: websiteIds,
      }
    : {
        id: data.next("product"),
        sku,
        type_id: type,
        attribute_set_id: input.attribute_set_id as number,
        name: input.name as string,
        status: (input.status as number | undefined) ?? 1,
        price: (input.price as number | undefined) ?? 0,
        visibility: (input.visibility as number | undefined) ?? 4,
        overrides: new Map(),
        custom,
        website_ids: websiteIds,
        configurable_options: options,
        children,
        created_at: now,
        updated_at: now,
      };
  if (existing) {
    // Price is a global attribute (Magento's default price scope); name and status are per store view:
    // written through a store view's route they become that view's own values, through `all` the defaults.
    if (input.price !== undefined) next.price = input.price as number;
    if (input.visibility !== undefined) next.visibility = input.visibility as number;
    if (input.weight !== undefined) next.weight = input.weight as number;
    for (const field of ["name", "status"] as const) {
      if (input[field] === undefined) continue;
      if (call.scope.all) next[field] = input[field] as never;
      else {
        const o = next.overrides.get(call.scope.storeId) ?? {};
        o[field] = input[field] as never;
        next.overrides.set(call.scope.storeId, o);
      }
    }
  } else if (input.weight !== undefined) next.weight = input.weight as number;
  if (
    !existing ||
    JSON.stringify(productView(data, existing, 0)) !== JSON.stringify(productView(data, next, 0)) ||
    JSON.stringify([...existing.overrides]) !== JSON.stringify([...next.overrides])
  ) {
    next.updated_at = now;
  }
  data.products.set(sku, next);
  return productView(data, next, call.scope.storeId);
}

/** Magento's checks of a configurable's children: simples, each with a value for every option, no two alike. */
function checkChildren(
  data: MagentoData,
  sku: string,
  options: MProduct["configurable_options"],
  children: number[],
) {
  const seen = new Map<string, string>();
  for (const id of children) {
    const child = data.productById(id);
    if (!child) throw bad('The product with id "%1" does not exist.', String(id));
    if (child.type_id !== "simple")
      throw bad('The child product "%1" of "%2" must be a simple product.', child.sku, sku);
    const combo = options.map((o) => {
      const attribute = [...data.attributes.values()].find((a) => String(a.attribute_id) === o.attribute_id);
      const value = attribute ? child.custom.get(attribute.attribute_code) : undefined;
      if (value === undefined || !o.values.includes(Number(value)))
        throw bad(
          'The child product "%1" has no value of the configurable attribute "%2" among the options of "%3".',
          child.sku,
          attribute?.attribute_code ?? o.attribute_id,
          sku,
        );
      return value;
    });
    const key = combo.join("|");
    const twin = seen.get(key);
    if (twin !== undefined)
      throw bad('Products "%1" and "%2" have the same set of attribute values.', twin, child.sku);
    seen.set(key, child.sku);
  }
}

function productOr404(data: MagentoData, sku: string): MProduct {
  const p = data.products.get(sku);
  if (!p) throw notFound("The product that was requested doesn't exist. Verify the product and try again.");
  return p;
}

function attributeOr404(data: MagentoData, code: string) {
  const a = data.attributes.get(code);
  if (!a)
    throw notFound(
      'The attribute with a "%1" attributeCode doesn\'t exist. Verify the attribute and try again.',
      code,
    );
  return a;
}

const optionsView = (a: { options: { label: string; value: string }[] }) => [
  { label: " ", value: "" },
  ...a.options.map((o, i) => ({ label: o.label, value: o.value, sort_order: i, is_default: false })),
];

// ---- prices ------------------------------------------------------------------------------------------

interface TierInput {
  price: number;
  price_type: string;
  website_id: number;
  sku: string;
  customer_group: string;
  quantity: number;
}

function tierProblem(data: MagentoData, t: TierInput): { message: string; parameters: string[] } | null {
  const params = [t.sku, String(t.website_id), t.customer_group, String(t.quantity)];
  const row = "Row ID: SKU = %1, Website ID: %2, Customer Group: %3, Quantity: %4.";
  if (!data.products.has(t.sku))
    return { message: `Requested product doesn't exist. ${row}`, parameters: params };
  if (t.price_type !== "fixed" && t.price_type !== "discount")
    return { message: `Price type must be fixed or discount. ${row}`, parameters: params };
  if (t.price < 0 || (t.price_type === "discount" && t.price > 100))
    return { message: `Invalid attribute Price = %5. ${row}`, parameters: [...params, String(t.price)] };
  if (!(t.quantity > 0))
    return {
      message: `Invalid attribute Quantity = %5. ${row}`,
      parameters: [...params, String(t.quantity)],
    };
  if (!data.websites.some((w) => w.id === t.website_id))
    return {
      message: `Invalid attribute Website ID = %5. ${row}`,
      parameters: [...params, String(t.website_id)],
    };
  const group = t.customer_group.toLowerCase();
  if (group !== "all groups" && !data.customerGroups.some((g) => g.code.toLowerCase() === group))
    return {
      message: `No such entity with Customer Group = %5. ${row}`,
      parameters: [...params, t.customer_group],
    };
  return null;
}

const sameTier = (a: TierRow, b: TierInput) =>
  a.sku === b.sku &&
  a.website_id === b.website_id &&
  a.customer_group.toLowerCase() === b.customer_group.toLowerCase() &&
  a.quantity === b.quantity;

const tierView = (t: TierRow) => ({
  price: t.price,
  price_type: t.price_type,
  website_id: t.website_id,
  sku: t.sku,
  customer_group: t.customer_group,
  quantity: t.quantity,
});

function touchProduct(data: MagentoData, sku: string, now: string) {
  const p = data.products.get(sku);
  if (p) p.updated_at = now;
}

function updateTiers(data: MagentoData, call: Call, replace: boolean) {
  const prices = (call.body as { prices: TierInput[] }).prices;
  const failures: { message: string; parameters: string[] }[] = [];
  const valid: TierInput[] = [];
  for (const t of prices) {
    const problem = tierProblem(data, t);
    if (problem) failures.push(problem);
    else valid.push(t);
  }
  if (replace) {
    const skus = new Set(valid.map((t) => t.sku));
    for (let i = data.tierPrices.length - 1; i >= 0; i--)
      if (skus.has(data.tierPrices[i]!.sku)) data.tierPrices.splice(i, 1);
  }
  for (const t of valid) {
    const row: TierRow = { ...t, price_type: t.price_type as TierRow["price_type"] };
    const at = data.tierPrices.findIndex((x) => sameTier(x, t));
    if (at >= 0) data.tierPrices[at] = row;
    else data.tierPrices.push(row);
    touchProduct(data, t.sku, call.scope.now);
  }
  return failures;
}

// ---- customers, orders, shipments --------------------------------------------------------------------

function customerView(c: MCustomer) {
  const billing = c.addresses.find((a) => a.default_billing);
  const shipping = c.addresses.find((a) => a.default_shipping);
  return {
    id: c.id,
    group_id: c.group_id,
    ...(billing ? { default_billing: String(billing.id) } : {}),
    ...(shipping ? { default_shipping: String(shipping.id) } : {}),
    created_at: c.created_at,
    updated_at: c.updated_at,
    created_in: "Default Store View",
    email: c.email,
    firstname: c.firstname,
    lastname: c.lastname,
    store_id: c.store_id,
    website_id: c.website_id,
    addresses: c.addresses.map((a) => ({
      id: a.id,
      customer_id: c.id,
      region: { region_code: "", region: "", region_id: 0 },
      region_id: 0,
      country_id: a.country_id,
      street: a.street,
      ...(a.company ? { company: a.company } : {}),
      telephone: a.telephone,
      postcode: a.postcode,
      city: a.city,
      firstname: a.firstname,
      lastname: a.lastname,
      default_shipping: a.default_shipping,
      default_billing: a.default_billing,
    })),
    disable_auto_group_change: 0,
  };
}

const customerField = (c: MCustomer, name: string): unknown =>
  name === "entity_id" ? c.id : (c as unknown as Record<string, unknown>)[name];

function orderItemView(o: MOrder, i: MOrderItem) {
  return {
    item_id: i.item_id,
    order_id: o.entity_id,
    sku: i.sku,
    name: i.name,
    product_id: i.product_id,
    product_type: i.product_type,
    ...(i.parent_item_id !== undefined ? { parent_item_id: i.parent_item_id } : {}),
    qty_ordered: i.qty_ordered,
    qty_shipped: i.qty_shipped,
    qty_canceled: i.qty_canceled,
    price: i.price,
    base_price: i.price,
    row_total: i.row_total,
    base_row_total: i.row_total,
    tax_percent: i.tax_percent,
    tax_amount: i.tax_amount,
    discount_amount: i.discount_amount,
    created_at: o.created_at,
    updated_at: o.updated_at,
  };
}

function orderView(o: MOrder) {
  const address = (type: "billing" | "shipping", id: number) => ({
    address_type: type,
    entity_id: id,
    parent_id: o.entity_id,
    email: o.customer_email,
    ...o.address,
  });
  const items = o.items.map((i) => orderItemView(o, i));
  return {
    entity_id: o.entity_id,
    increment_id: o.increment_id,
    state: o.state,
    status: o.status,
    store_id: o.store_id,
    ...(o.customer_id !== undefined ? { customer_id: o.customer_id } : {}),
    customer_email: o.customer_email,
    customer_firstname: o.customer_firstname,
    customer_lastname: o.customer_lastname,
    customer_is_guest: o.customer_is_guest,
    customer_group_id: o.customer_group_id,
    order_currency_code: o.currency,
    base_currency_code: o.currency,
    subtotal: o.subtotal,
    base_subtotal: o.subtotal,
    tax_amount: o.tax_amount,
    base_tax_amount: o.tax_amount,
    shipping_amount: o.shipping_amount,
    base_shipping_amount: o.shipping_amount,
    shipping_description: o.shipping_description,
    discount_amount: o.discount_amount,
    base_discount_amount: o.discount_amount,
    grand_total: o.grand_total,
    base_grand_total: o.grand_total,
    total_paid: o.total_paid,
    total_qty_ordered: o.items
      .filter((i) => i.parent_item_id === undefined)
      .reduce((s, i) => s + i.qty_ordered, 0),
    created_at: o.created_at,
    updated_at: o.updated_at,
    items,
    billing_address: address("billing", o.entity_id * 2 - 1),
    payment: {
      account_status: "",
      additional_information: [],
      cc_last4: "",
      method: "checkmo",
      amount_ordered: o.grand_total,
      amount_paid: o.total_paid,
      parent_id: o.entity_id,
    },
    status_histories: o.comments.map((c, i) => ({
      comment: c.comment,
      created_at: c.created_at,
      entity_id: o.entity_id * 100 + i,
      entity_name: "order",
      is_customer_notified: 0,
      is_visible_on_front: 0,
      parent_id: o.entity_id,
      status: c.status,
    })),
    extension_attributes: {
      shipping_assignments: [
        {
          shipping: { address: address("shipping", o.entity_id * 2), method: "flatrate_flatrate" },
          items,
        },
      ],
    },
  };
}

const orderField = (o: MOrder, name: string): unknown => (o as unknown as Record<string, unknown>)[name];

function orderOr404(data: MagentoData, id: string): MOrder {
  const o = data.orders.get(Number(id));
  if (!o) throw notFound("The entity that was requested doesn't exist. Verify the entity and try again.");
  return o;
}

function shipmentView(s: MShipment) {
  return {
    entity_id: s.entity_id,
    increment_id: s.increment_id,
    order_id: s.order_id,
    store_id: 1,
    total_qty: s.items.reduce((n, i) => n + i.qty, 0),
    created_at: s.created_at,
    updated_at: s.updated_at,
    items: s.items.map((i, n) => ({ entity_id: s.entity_id * 100 + n, parent_id: s.entity_id, ...i })),
    tracks: s.tracks.map((t) => ({
      order_id: s.order_id,
      parent_id: s.entity_id,
      entity_id: t.entity_id,
      weight: 0,
      qty: 0,
      description: "",
      track_number: t.track_number,
      title: t.title,
      carrier_code: t.carrier_code,
      created_at: t.created_at,
      updated_at: t.created_at,
    })),
    comments: s.comments.map((c) => ({
      entity_id: c.entity_id,
      parent_id: s.entity_id,
      comment: c.comment,
      is_visible_on_front: c.is_visible_on_front,
      is_customer_notified: 0,
      created_at: c.created_at,
    })),
  };
}

const shipmentField = (s: MShipment, name: string): unknown =>
  (s as unknown as Record<string, unknown>)[name];

/** Items that carry a shipment's quantity: simples and configurable parents (their child lines follow them). */
const shippable = (o: MOrder) => o.items.filter((i) => i.parent_item_id === undefined);
const remaining = (i: MOrderItem) => i.qty_ordered - i.qty_shipped - i.qty_canceled;

function ship(data: MagentoData, call: Call): number {
  const order = orderOr404(data, call.params.orderId ?? "");
  const body = (call.body ?? {}) as {
    items?: { order_item_id: number; qty: number }[];
    tracks?: { track_number: string; title: string; carrier_code: string }[];
    comment?: { comment: string; is_visible_on_front: number };
  };
  const refuse = (why: string) => bad(`Shipment Document Validation Error(s):\n${why}`);
  if (
    order.state === "canceled" ||
    order.state === "closed" ||
    shippable(order).every((i) => remaining(i) <= 0)
  )
    throw refuse("The order does not allow a shipment to be created.");
  const lines =
    body.items && body.items.length > 0
      ? body.items.map((l) => {
          const item = shippable(order).find((i) => i.item_id === l.order_item_id);
          if (!item) throw refuse(`The order has no shippable item with id ${l.order_item_id}.`);
          if (l.qty > remaining(item))
            throw refuse("The requested qty is greater than the qty left to ship.");
          return { item, qty: l.qty };
        })
      : shippable(order)
          .filter((i) => remaining(i) > 0)
          .map((item) => ({ item, qty: remaining(item) }));
  if (lines.every((l) => l.qty <= 0)) throw refuse("You can't create a shipment without products.");
  for (const t of body.tracks ?? [])
    if (!t.track_number.trim()) throw refuse("Please enter a tracking number.");
  const now = call.scope.now;
  const id = data.next("shipment");
  for (const { item, qty } of lines) {
    item.qty_shipped += qty;
    for (const child of order.items.filter((c) => c.parent_item_id === item.item_id))
      child.qty_shipped += qty;
  }
  const done = shippable(order).every((i) => remaining(i) <= 0);
  const paid = new Big(order.total_paid).gte(order.grand_total);
  order.state = done && paid ? "complete" : "processing";
  order.status = order.state;
  order.updated_at = now;
  const shipment: MShipment = {
    entity_id: id,
    increment_id: String(100000000 + id),
    order_id: order.entity_id,
    created_at: now,
    updated_at: now,
    items: lines.map(({ item, qty }) => ({
      order_item_id: item.item_id,
      qty,
      sku: item.sku,
      name: item.name,
      product_id: item.product_id,
      price: item.price,
    })),
    tracks: (body.tracks ?? []).map((t) => ({ entity_id: data.next("track"), ...t, created_at: now })),
    comments: body.comment
      ? [
          {
            entity_id: data.next("comment"),
            comment: body.comment.comment,
            is_visible_on_front: body.comment.is_visible_on_front,
            created_at: now,
          },
        ]
      : [],
  };
  data.shipments.set(id, shipment);
  return id;
}

// ---- async bulk --------------------------------------------------------------------------------------

/**
 * `POST /rest/<store>/async/bulk/V1/...` (HTTP 202): one operation per body of the array, accepted at
 * once and run later by the consumer (`async.operations.all`); here the consumer runs when the bulk's
 * status is asked the second time (the first answer shows every operation open).
 * The answer lists each request item as accepted under the bulk's uuid.
 */
export function acceptBulk(data: MagentoData, operationId: string, call: Call) {
  const bodies = call.body as unknown[];
  const uuid = `${crypto.randomUUID()}`;
  data.bulks.set(uuid, {
    uuid,
    description: `Topic async.${operationId}`,
    start_time: call.scope.now,
    polls: 0,
    operations: bodies.map((body, id) => ({
      id,
      operationId,
      body,
      status: 4,
      result_message: "",
      error_code: 0,
    })),
  });
  return {
    bulk_uuid: uuid,
    request_items: bodies.map((_b, id) => ({ id, data_hash: null, status: "accepted" })),
    errors: false,
  };
}

/** The consumer: runs a bulk's open operations through the synchronous handlers. */
function consume(data: MagentoData, uuid: string, scope: Scope) {
  const bulk = data.bulks.get(uuid);
  if (!bulk) throw bad('Bulk "%1" does not exist.', uuid);
  // The consumer has not run by the time the first status is asked: everything is still open then.
  if (bulk.polls++ === 0) return bulk;
  for (const op of bulk.operations) {
    if (op.status !== 4) continue;
    const handler = handlers[op.operationId];
    try {
      if (!handler) throw bad("No handler for %1", op.operationId);
      handler(data, { params: {}, query: new URLSearchParams(), body: op.body, scope, bulk: false });
      op.status = 1;
      op.result_message = "Service execution success";
    } catch (err) {
      op.status = 3;
      op.result_message = err instanceof HttpError ? [err.message, ...err.errors].join(" ") : String(err);
      op.error_code = err instanceof HttpError ? err.status : 500;
    }
  }
  return bulk;
}

// ---- the table ---------------------------------------------------------------------------------------

export const handlers: Record<string, Handler> = {
  GetV1StoreStoreViews: (data) => data.storeViews,
  GetV1StoreWebsites: (data) => data.websites,
  GetV1CustomerGroupsSearch: (data, call) =>
    searchAnswer(
      data.customerGroups,
      call,
      (g, f) => (g as Record<string, unknown>)[f],
      (g) => ({ ...g, tax_class_name: "Retail Customer" }),
    ),

  GetV1Products: (data, call) =>
    searchAnswer([...data.products.values()], call, productField, (p) =>
      productView(data, p, call.scope.storeId),
    ),
  GetV1ProductsSku: (data, call) =>
    productView(data, productOr404(data, call.params.sku ?? ""), call.scope.storeId),
  PostV1Products: (data, call) =>
    saveProduct(data, call, ((call.body as Body).product as Body).sku as string),
  PutV1ProductsSku: (data, call) => saveProduct(data, call, call.params.sku ?? ""),
  GetV1ProductsAttributesAttributeCode: (data, call) => {
    const a = attributeOr404(data, call.params.attributeCode ?? "");
    return {
      attribute_id: a.attribute_id,
      attribute_code: a.attribute_code,
      frontend_input: "select",
      entity_type_id: "4",
      is_required: false,
      frontend_labels: [],
      default_frontend_label: a.label,
      scope: "global",
      options: optionsView(a),
    };
  },
  GetV1ProductsAttributesAttributeCodeOptions: (data, call) =>
    optionsView(attributeOr404(data, call.params.attributeCode ?? "")),
  PostV1ProductsAttributesAttributeCodeOptions: (data, call) => {
    const a = attributeOr404(data, call.params.attributeCode ?? "");
    const label = ((call.body as Body).option as { label: string }).label;
    if (!label.trim()) throw bad("The attribute option label is empty. Enter a value and try again.");
    if (a.options.some((o) => o.label === label))
      throw bad("Admin store attribute option label '%1' is already exists.", label);
    const value = String(data.next("option"));
    a.options.push({ label, value });
    return `id_${value}`;
  },
  GetV1ConfigurableproductsSkuChildren: (data, call) => {
    const p = productOr404(data, call.params.sku ?? "");
    return p.children
      .map((id) => data.productById(id))
      .filter((c) => c !== undefined)
      .map((c) => productView(data, c, call.scope.storeId));
  },
  PostV1ConfigurableproductsSkuChild: (data, call) => {
    const p = productOr404(data, call.params.sku ?? "");
    if (p.type_id !== "configurable") throw bad('The product "%1" is not configurable.', p.sku);
    const child = productOr404(data, (call.body as { childSku: string }).childSku);
    if (p.children.includes(child.id)) throw bad("The product is already attached.");
    checkChildren(data, p.sku, p.configurable_options, [...p.children, child.id]);
    p.children.push(child.id);
    p.updated_at = call.scope.now;
    return true;
  },

  PostV1ProductsTierprices: (data, call) => updateTiers(data, call, false),
  PutV1ProductsTierprices: (data, call) => updateTiers(data, call, true),
  PostV1ProductsTierpricesinformation: (data, call) => {
    const skus = (call.body as { skus: string[] }).skus;
    const missing = skus.filter((s) => !data.products.has(s));
    if (missing.length > 0) throw notFound("Requested product doesn't exist: %1", missing.join(", "));
    return data.tierPrices.filter((t) => skus.includes(t.sku)).map(tierView);
  },
  PostV1ProductsTierpricesdelete: (data, call) => {
    const prices = (call.body as { prices: TierInput[] }).prices;
    const failures: { message: string; parameters: string[] }[] = [];
    for (const t of prices) {
      const at = data.tierPrices.findIndex((x) => sameTier(x, t));
      if (at < 0) {
        failures.push({
          message:
            "The tier price for SKU = %1, Website ID = %2, Customer Group = %3, Quantity = %4 doesn't exist.",
          parameters: [t.sku, String(t.website_id), t.customer_group, String(t.quantity)],
        });
        continue;
      }
      data.tierPrices.splice(at, 1);
      touchProduct(data, t.sku, call.scope.now);
    }
    return failures;
  },
  PostV1ProductsBaseprices: (data, call) => {
    const failures: { message: string; parameters: string[] }[] = [];
    for (const b of (call.body as { prices: { price: number; store_id: number; sku: string }[] }).prices) {
      const p = data.products.get(b.sku);
      if (!p)
        failures.push({
          message: "Requested product doesn't exist. Row ID: SKU = %1, Store ID: %2.",
          parameters: [b.sku, String(b.store_id)],
        });
      else if (b.price < 0)
        failures.push({
          message: "Invalid attribute Price = %1. Row ID: SKU = %2.",
          parameters: [String(b.price), b.sku],
        });
      else if (p.price !== b.price) {
        p.price = b.price;
        p.updated_at = call.scope.now;
      }
    }
    return failures;
  },
  PostV1ProductsBasepricesinformation: (data, call) => {
    const skus = (call.body as { skus: string[] }).skus;
    return skus.flatMap((sku) => {
      const p = data.products.get(sku);
      return p ? [{ price: p.price, store_id: 0, sku }] : [];
    });
  },

  GetV1InventorySources: (data, call) =>
    searchAnswer(
      data.sources,
      call,
      (s, f) => (s as Record<string, unknown>)[f],
      (s) => s,
    ),
  GetV1InventorySourceitems: (data, call) =>
    searchAnswer(
      [...data.sourceItems.values()],
      call,
      (s, f) => (s as unknown as Record<string, unknown>)[f],
      (s) => ({ ...s }),
    ),
  PostV1InventorySourceitems: (data, call) => {
    const items = (
      call.body as {
        sourceItems: { sku?: string; source_code?: string; quantity?: number; status?: number }[];
      }
    ).sourceItems;
    const errors: string[] = [];
    for (const [i, s] of items.entries()) {
      if (!s.sku) errors.push(`"sku" can not be empty (item ${i}).`);
      else if (!data.products.has(s.sku)) errors.push(`Product with SKU "${s.sku}" does not exist.`);
      if (!data.sources.some((x) => x.source_code === s.source_code))
        errors.push(`Source "${s.source_code ?? ""}" does not exist.`);
      if (s.status !== 0 && s.status !== 1)
        errors.push(`"status" should be numeric and one of 0, 1 (item ${i}).`);
      if (typeof s.quantity !== "number") errors.push(`"quantity" should be numeric (item ${i}).`);
    }
    // One refused item refuses the whole request (Magento validates before it saves).
    if (errors.length > 0) {
      const e = bad("Validation Failed");
      e.errors = errors;
      throw e;
    }
    for (const s of items) {
      const key = `${s.sku}|${s.source_code}`;
      data.sourceItems.set(key, {
        sku: s.sku!,
        source_code: s.source_code!,
        quantity: s.quantity!,
        status: s.status!,
      });
    }
    return [];
  },

  GetV1CustomersSearch: (data, call) =>
    searchAnswer([...data.customers.values()], call, customerField, customerView),
  GetV1CustomersCustomerId: (data, call) => {
    const c = data.customers.get(Number(call.params.customerId));
    if (!c)
      throw namedError(404, "No such entity with %fieldName = %fieldValue", {
        fieldName: "customerId",
        fieldValue: call.params.customerId ?? "",
      });
    return customerView(c);
  },

  GetV1Orders: (data, call) => searchAnswer([...data.orders.values()], call, orderField, orderView),
  GetV1OrdersId: (data, call) => orderView(orderOr404(data, call.params.id ?? "")),
  PostV1OrdersIdCancel: (data, call) => {
    const o = orderOr404(data, call.params.id ?? "");
    if (["canceled", "complete", "closed"].includes(o.state) || o.items.some((i) => i.qty_shipped > 0))
      return false;
    for (const i of o.items) i.qty_canceled = i.qty_ordered - i.qty_shipped;
    o.state = "canceled";
    o.status = "canceled";
    o.updated_at = call.scope.now;
    return true;
  },
  PostV1OrdersIdComments: (data, call) => {
    const o = orderOr404(data, call.params.id ?? "");
    const h = (call.body as { statusHistory: { comment: string; status?: string } }).statusHistory;
    o.comments.push({ comment: h.comment, status: h.status ?? o.status, created_at: call.scope.now });
    o.updated_at = call.scope.now;
    return true;
  },
  PostV1OrderOrderIdShip: (data, call) => ship(data, call),
  GetV1BulkBulkUuidStatus: (data, call) => {
    const bulk = consume(data, call.params.bulkUuid ?? "", call.scope);
    return {
      operations_list: bulk.operations.map((o) => ({
        id: o.id,
        status: o.status,
        result_message: o.result_message,
        error_code: o.error_code,
      })),
      user_type: 2,
      bulk_id: bulk.uuid,
      description: bulk.description,
      start_time: bulk.start_time,
      user_id: 1,
      operation_count: bulk.operations.length,
    };
  },
  GetV1Shipments: (data, call) =>
    searchAnswer([...data.shipments.values()], call, shipmentField, shipmentView),
  GetV1ShipmentId: (data, call) => {
    const s = data.shipments.get(Number(call.params.id));
    if (!s) throw notFound("The entity that was requested doesn't exist. Verify the entity and try again.");
    return shipmentView(s);
  },
};

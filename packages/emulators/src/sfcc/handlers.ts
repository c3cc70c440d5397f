/**
 * The SFCC emulator's operations, by the documents' operationIds. Each gets the path parameters, the query
 * and the (already validated) body, and answers a status and a body, or throws SfccHttpError.
 */
import { invalid, notFound, type ProductRec, type SfccData, SfccHttpError } from "./data.ts";

type Json = Record<string, unknown>;

export interface Call {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

export interface Answer {
  status: number;
  body?: unknown;
}

export type Handler = (data: SfccData, call: Call) => Answer;

/** Customer search: the attributes the Customers API documents as searchable. */
const CUSTOMER_FIELDS: Record<string, "string" | "number" | "boolean"> = {
  customerNo: "string",
  firstName: "string",
  secondName: "string",
  lastName: "string",
  suffix: "string",
  salutation: "string",
  title: "string",
  fax: "string",
  phoneHome: "string",
  phoneBusiness: "string",
  phoneMobile: "string",
  email: "string",
  gender: "number",
  companyName: "string",
  "credentials.login": "string",
  "credentials.enabled": "boolean",
};

const fieldOf = (rec: Json, field: string): unknown =>
  field.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Json)[k] : undefined), rec);

function searchable(field: string): void {
  if (!(field in CUSTOMER_FIELDS) && !field.startsWith("c_"))
    throw invalid(
      `The field '${field}' is not searchable; searchable fields are ${Object.keys(CUSTOMER_FIELDS).join(", ")}.`,
    );
}

function matchQuery(q: Json, rec: Json): boolean {
  const [[kind, raw]] = Object.entries(q) as [[string, Json]];
  switch (kind) {
    case "matchAllQuery":
      return true;
    case "termQuery": {
      const fields = raw.fields as string[];
      const values = raw.values as unknown[];
      const op = String(raw.operator);
      fields.forEach(searchable);
      return fields.some((f) => {
        const v = fieldOf(rec, f);
        if (op === "is" || op === "one_of") return values.some((x) => x === v);
        if (op === "greater") return v !== undefined && (v as number) > (values[0] as number);
        if (op === "less") return v !== undefined && (v as number) < (values[0] as number);
        throw invalid(`The term query operator '${op}' is not supported here.`);
      });
    }
    case "textQuery": {
      const fields = raw.fields as string[];
      fields.forEach(searchable);
      const phrase = String(raw.searchPhrase).toLowerCase();
      return fields.some((f) =>
        String(fieldOf(rec, f) ?? "")
          .toLowerCase()
          .includes(phrase),
      );
    }
    case "boolQuery": {
      const all = (xs: unknown) => (xs as Json[] | undefined) ?? [];
      return (
        all(raw.must).every((x) => matchQuery(x, rec)) &&
        (all(raw.should).length === 0 || all(raw.should).some((x) => matchQuery(x, rec))) &&
        !all(raw.mustNot).some((x) => matchQuery(x, rec))
      );
    }
    case "filteredQuery":
      return matchQuery(raw.query as Json, rec) && matchFilter(raw.filter as Json, rec);
    default:
      throw invalid(`The query type '${kind}' is not supported by the customer search.`);
  }
}

function matchFilter(f: Json, rec: Json): boolean {
  const [[kind, raw]] = Object.entries(f) as [[string, Json]];
  if (kind === "termFilter") {
    searchable(String(raw.field));
    const v = fieldOf(rec, String(raw.field));
    return ((raw.values as unknown[]) ?? []).some((x) => x === v);
  }
  if (kind === "rangeFilter") {
    searchable(String(raw.field));
    const v = fieldOf(rec, String(raw.field)) as number | undefined;
    if (v === undefined) return false;
    const lo = raw.from as number;
    const hi = raw.to as number;
    const lowIn = raw.fromInclusive !== false;
    const highIn = raw.toInclusive !== false;
    if (raw.from !== undefined && (lowIn ? v < lo : v <= lo)) return false;
    if (raw.to !== undefined && (highIn ? v > hi : v >= hi)) return false;
    return true;
  }
  if (kind === "boolFilter") {
    const parts = (raw.filters as Json[]) ?? [];
    const op = String(raw.operator);
    if (op === "and") return parts.every((x) => matchFilter(x, rec));
    if (op === "or") return parts.some((x) => matchFilter(x, rec));
    return !parts.some((x) => matchFilter(x, rec));
  }
  throw invalid(`The filter type '${kind}' is not supported by the customer search.`);
}

const intOf = (q: URLSearchParams, name: string, dflt: number) => {
  const v = q.get(name);
  return v === null ? dflt : Number(v);
};

function product(data: SfccData, id: string): ProductRec {
  const p = data.products.get(id);
  if (!p) throw notFound(`No product with ID '${id}' was found.`);
  return p;
}

function customers(data: SfccData, listId: string) {
  const list = data.customerLists.get(listId);
  if (!list) throw notFound(`No customer list with ID '${listId}' was found.`);
  return list;
}

function order(data: SfccData, orderNo: string, q: URLSearchParams): Json {
  const o = data.orders.get(orderNo);
  const site = q.get("siteId");
  if (!o || (site !== null && o.siteId !== site))
    throw notFound(`No order with number '${orderNo}' was found.`);
  return o;
}

const localized = (x: unknown): Record<string, string> | undefined =>
  x && typeof x === "object" ? (x as Record<string, string>) : undefined;

/** PUT / PATCH of a product: the writable attributes this emulator keeps; read-only ones are refused. */
function applyProduct(data: SfccData, p: ProductRec, body: Json, patch: boolean): void {
  for (const ro of [
    "variants",
    "variationAttributes",
    "variationValues",
    "type",
    "master",
    "creationDate",
    "lastModified",
  ])
    if (ro in body) throw invalid(`The attribute '${ro}' of product '${p.id}' is read-only.`);
  if (!patch || "name" in body) p.name = localized(body.name) ?? {};
  if (!patch || "online" in body) {
    if (typeof body.online === "boolean") p.online = body.online;
    else delete p.online;
  }
  if (!patch || "ean" in body) p.ean = typeof body.ean === "string" ? body.ean : undefined;
  if (!patch || "brand" in body) p.brand = typeof body.brand === "string" ? body.brand : undefined;
  if (!patch || "longDescription" in body) p.longDescription = localized(body.longDescription);
  if (!patch) p.custom = {};
  for (const [k, v] of Object.entries(body)) if (k.startsWith("c_")) p.custom[k] = v;
  p.lastModified = data.clock.now();
}

export const handlers: Record<string, Handler> = {
  // ---- Catalogs
  getCatalog(data, { params }) {
    const cats = data.catalogs.get(params.catalogId ?? "");
    if (!cats) throw notFound(`No catalog with ID '${params.catalogId}' was found.`);
    return {
      status: 200,
      body: {
        id: params.catalogId,
        online: true,
        categoryCount: cats.size,
        ownedProductCount: data.products.size,
        rootCategory: "root",
      },
    };
  },
  getCategoryFromCatalog(data, { params }) {
    const c = data.catalogs.get(params.catalogId ?? "")?.get(params.categoryId ?? "");
    if (!c) throw notFound(`No category with ID '${params.categoryId}' in catalog '${params.catalogId}'.`);
    return { status: 200, body: c };
  },
  createCategoryInCatalog(data, { params, body }) {
    const cats = data.catalogs.get(params.catalogId ?? "");
    if (!cats) throw notFound(`No catalog with ID '${params.catalogId}' was found.`);
    const b = body as Json;
    if (b.id !== params.categoryId)
      throw invalid(`The body's id '${String(b.id)}' is not the path's '${params.categoryId}'.`);
    const parent = typeof b.parentCategoryId === "string" ? b.parentCategoryId : "root";
    if (!cats.has(parent)) throw invalid(`The parent category '${parent}' does not exist.`);
    const existed = cats.get(params.categoryId ?? "");
    const now = data.clock.now();
    const c = {
      ...b,
      catalogId: params.catalogId,
      parentCategoryId: parent,
      creationDate: (existed?.creationDate as string) ?? now,
      lastModified: now,
    };
    cats.set(params.categoryId ?? "", c);
    return { status: existed ? 200 : 201, body: c };
  },
  assignProductToCategory(data, { params, body }) {
    const { catalogId = "", categoryId = "", productId = "" } = params;
    const b = body as Json;
    if (b.catalogId !== catalogId || b.categoryId !== categoryId || b.productId !== productId)
      throw invalid("The assignment's catalogId, categoryId and productId must be those of the path.");
    if (!data.catalogs.get(catalogId)?.has(categoryId))
      throw notFound(`No category with ID '${categoryId}' in catalog '${catalogId}'.`);
    const p = product(data, productId);
    const key = `${catalogId}|${categoryId}|${productId}`;
    const existed = data.assignments.get(key);
    const now = data.clock.now();
    // productName is left out: the document declares it an object allowing no property at all, while its
    // example is a localized name ({ "default": … }); no answer could both carry it and match the document.
    void p;
    const a = {
      catalogId,
      categoryId,
      productId,
      ...(typeof b.position === "number" ? { position: b.position } : {}),
      creationDate: (existed?.creationDate as string) ?? now,
      lastModified: now,
    };
    data.assignments.set(key, a);
    return { status: existed ? 200 : 201, body: a };
  },
  getAssignedProductFromCategory(data, { params }) {
    const a = data.assignments.get(`${params.catalogId}|${params.categoryId}|${params.productId}`);
    if (!a)
      throw notFound(`Product '${params.productId}' is not assigned to category '${params.categoryId}'.`);
    return { status: 200, body: a };
  },

  // ---- Products
  getProduct(data, { params }) {
    return { status: 200, body: data.productView(product(data, params.productId ?? "")) };
  },
  createProduct(data, { params, body }) {
    const id = params.productId ?? "";
    const b = body as Json;
    if (b.id !== id) throw invalid(`The body's id '${String(b.id)}' is not the path's '${id}'.`);
    const existed = data.products.get(id);
    const now = data.clock.now();
    const p: ProductRec = existed ?? {
      id,
      name: {},
      custom: {},
      creationDate: now,
      lastModified: now,
      attrs: [],
      variants: [],
    };
    applyProduct(data, p, b, false);
    data.products.set(id, p);
    return { status: existed ? 200 : 201, body: data.productView(p) };
  },
  updateProduct(data, { params, body }) {
    const p = product(data, params.productId ?? "");
    const b = body as Json;
    if (b.id !== undefined && b.id !== p.id) throw invalid("A product's id cannot be changed.");
    applyProduct(data, p, b, true);
    return { status: 200, body: data.productView(p) };
  },
  getVariationAttributes(data, { params, query }) {
    const p = product(data, params.productId ?? "");
    const offset = intOf(query, "offset", 0);
    const limit = intOf(query, "limit", 25);
    return {
      status: 200,
      body: {
        data: p.attrs.slice(offset, offset + limit).map((a) => data.attrView(a)),
        limit,
        offset,
        total: p.attrs.length,
      },
    };
  },
  createVariationAttribute(data, { params, body }) {
    const p = product(data, params.productId ?? "");
    if (p.masterId !== undefined)
      throw invalid(`Product '${p.id}' is a variant; only a master has variation attributes.`);
    const b = body as Json;
    const id = params.id ?? "";
    const existing = p.attrs.find((a) => a.id === id);
    const values = ((b.values as Json[] | undefined) ?? []).map((v) => ({
      value: String(v.value),
      ...(v.name ? { name: v.name as Record<string, string> } : {}),
    }));
    if (existing) {
      if (values.length > 0) existing.values = values;
      p.lastModified = data.clock.now();
      return { status: 200, body: data.attrView(existing) };
    }
    const a = { id, attributeDefinitionId: String(b.attributeDefinitionId), values };
    p.attrs.push(a);
    p.lastModified = data.clock.now();
    return { status: 201, body: data.attrView(a) };
  },
  createVariationAttributeValue(data, { params, body }) {
    const p = product(data, params.productId ?? "");
    const a = p.attrs.find((x) => x.id === params.attributeId);
    if (!a) throw notFound(`Product '${p.id}' has no variation attribute '${params.attributeId}'.`);
    const b = body as Json;
    if (b.value !== params.id)
      throw invalid(`The body's value '${String(b.value)}' is not the path's '${params.id}'.`);
    const existed = a.values.find((v) => v.value === params.id);
    const v = { value: String(b.value), ...(b.name ? { name: b.name as Record<string, string> } : {}) };
    if (existed) Object.assign(existed, v);
    else a.values.push(v);
    p.lastModified = data.clock.now();
    return { status: existed ? 200 : 201, body: v };
  },
  getVariationsForMasterProduct(data, { params, query }) {
    const p = product(data, params.masterProductId ?? "");
    const offset = intOf(query, "offset", 0);
    const limit = intOf(query, "limit", 25);
    const all = p.variants.map((v) => ({
      productId: v,
      variationValues: data.products.get(v)?.variationValues ?? {},
    }));
    return {
      status: 200,
      body: { data: all.slice(offset, offset + limit), limit, offset, total: all.length },
    };
  },
  assignVariationForMasterProduct(data, { params, body }) {
    const master = product(data, params.masterProductId ?? "");
    const variant = product(data, params.id ?? "");
    const b = body as Json;
    if (b.productId !== variant.id)
      throw invalid(`The body's productId '${String(b.productId)}' is not the path's '${variant.id}'.`);
    if (master.attrs.length === 0)
      throw invalid(`Product '${master.id}' has no variation attributes: it is not a master.`);
    if (variant.attrs.length > 0 || variant.variants.length > 0)
      throw invalid(`Product '${variant.id}' is a master and cannot be a variant.`);
    if (variant.masterId !== undefined && variant.masterId !== master.id)
      throw invalid(`Product '${variant.id}' is already a variant of '${variant.masterId}'.`);
    const values = (b.variationValues as Record<string, string> | undefined) ?? {};
    for (const a of master.attrs) {
      const v = values[a.id];
      if (v === undefined)
        throw invalid(`The variant '${variant.id}' has no value for variation attribute '${a.id}'.`);
      if (!a.values.some((x) => x.value === v))
        throw invalid(`'${v}' is not a value of variation attribute '${a.id}' of '${master.id}'.`);
    }
    for (const k of Object.keys(values))
      if (!master.attrs.some((a) => a.id === k))
        throw invalid(`'${k}' is not a variation attribute of '${master.id}'.`);
    const clash = master.variants.find(
      (id) =>
        id !== variant.id &&
        master.attrs.every((a) => data.products.get(id)?.variationValues?.[a.id] === values[a.id]),
    );
    if (clash)
      throw new SfccHttpError(
        400,
        "Bad Request",
        `Variant '${clash}' of '${master.id}' already has these variation values.`,
      );
    variant.masterId = master.id;
    variant.variationValues = { ...values };
    variant.lastModified = data.clock.now();
    if (!master.variants.includes(variant.id)) master.variants.push(variant.id);
    master.lastModified = data.clock.now();
    return {
      status: 200,
      body: {
        productId: variant.id,
        variationValues: variant.variationValues,
        ...(typeof b.online === "boolean" ? { online: b.online } : {}),
      },
    };
  },

  // ---- Customers
  searchCustomerInCustomerList(data, { params, body }) {
    const list = customers(data, params.customerListId ?? "");
    const b = body as Json;
    const limit = typeof b.limit === "number" ? b.limit : 25;
    const offset = typeof b.offset === "number" ? b.offset : 0;
    const sorts = (b.sorts as { field: string; sortOrder?: string }[] | undefined) ?? [];
    for (const s of sorts) searchable(s.field);
    const hits = [...list.values()].filter((c) => matchQuery(b.query as Json, c));
    const cmp = (x: unknown, y: unknown) =>
      x === y ? 0 : x === undefined ? -1 : y === undefined ? 1 : (x as string) < (y as string) ? -1 : 1;
    hits.sort((a, c) => {
      for (const s of sorts) {
        const d = cmp(fieldOf(a, s.field), fieldOf(c, s.field));
        if (d !== 0) return s.sortOrder === "desc" ? -d : d;
      }
      return cmp(a.customerNo, c.customerNo);
    });
    return {
      status: 200,
      body: {
        hits: hits.slice(offset, offset + limit).map((c) => ({ data: c, relevance: 1 })),
        limit,
        offset,
        total: hits.length,
        query: b.query,
        ...(sorts.length > 0 ? { sorts } : {}),
      },
    };
  },
  getCustomerFromCustomerList(data, { params }) {
    const c = customers(data, params.customerListId ?? "").get(params.customerNo ?? "");
    if (!c) throw notFound(`No customer with number '${params.customerNo}' was found.`);
    return { status: 200, body: c };
  },
  getAddressesForCustomerFromCustomerList(data, { params, query }) {
    const c = customers(data, params.customerListId ?? "").get(params.customerNo ?? "");
    if (!c) throw notFound(`No customer with number '${params.customerNo}' was found.`);
    const all = data.addresses.get(c.customerNo) ?? [];
    const offset = intOf(query, "offset", 0);
    const limit = intOf(query, "limit", 25);
    return {
      status: 200,
      body: { data: all.slice(offset, offset + limit), limit, offset, total: all.length },
    };
  },

  // ---- Orders
  getOrders(data, { query }) {
    const site = query.get("siteId");
    const from = (n: string) => (query.get(n) ? Date.parse(query.get(n) ?? "") : undefined);
    const range = [
      ["lastModified", from("lastModifiedDateFrom"), from("lastModifiedDateTo")],
      ["creationDate", from("creationDateFrom"), from("creationDateTo")],
    ] as const;
    const status = query.get("status");
    const byField = query.get("sortBy") === "last_modified_date" ? "lastModified" : "creationDate";
    const desc = (query.get("sortOrder") ?? "desc") === "desc";
    const rows = [...data.orders.values()]
      .filter((o) => o.siteId === site)
      .filter((o) => status === null || o.status === status)
      .filter((o) =>
        range.every(([f, lo, hi]) => {
          const t = Date.parse(String(o[f]));
          return (lo === undefined || t >= lo) && (hi === undefined || t <= hi);
        }),
      )
      .sort((a, b) => {
        const d = Date.parse(String(a[byField])) - Date.parse(String(b[byField]));
        const r = d !== 0 ? d : String(a.orderNo) < String(b.orderNo) ? -1 : 1;
        return desc ? -r : r;
      });
    const offset = intOf(query, "offset", 0);
    const limit = intOf(query, "limit", 100);
    return { status: 200, body: { data: rows.slice(offset, offset + limit) } };
  },
  getOrder(data, { params, query }) {
    return { status: 200, body: order(data, params.orderNo ?? "", query) };
  },
  updateOrderStatus(data, { params, query, body }) {
    order(data, params.orderNo ?? "", query);
    data.setOrderStatus(params.orderNo ?? "", String((body as Json).status));
    return { status: 204 };
  },
  updateOrderShippingStatus(data, { params, query, body }) {
    const o = order(data, params.orderNo ?? "", query);
    const status = String((body as Json).status);
    if (o.status === "cancelled" && status !== "not_shipped")
      throw invalid(`The order '${o.orderNo}' is cancelled and cannot be shipped.`);
    o.shippingStatus = status;
    for (const s of (o.shipments as Json[] | undefined) ?? []) s.shippingStatus = status;
    o.lastModified = data.clock.now();
    return { status: 204 };
  },
  updateOrder(data, { params, query, body }) {
    const o = order(data, params.orderNo ?? "", query);
    const b = body as Json;
    for (const k of Object.keys(b))
      if (!data.orderAttributes.has(k))
        throw invalid(
          `The order attribute '${k}' is not defined (custom attributes must be defined on Basket and Order in Business Manager).`,
        );
    Object.assign(o, b);
    o.lastModified = data.clock.now();
    return { status: 204 };
  },
};

/** Operations that change nothing. */
export const READ_ONLY = new Set([
  "getCatalog",
  "getCategoryFromCatalog",
  "getAssignedProductFromCategory",
  "getProduct",
  "getVariationAttributes",
  "getVariationsForMasterProduct",
  "searchCustomerInCustomerList",
  "getCustomerFromCustomerList",
  "getAddressesForCustomerFromCustomerList",
  "getOrders",
  "getOrder",
]);

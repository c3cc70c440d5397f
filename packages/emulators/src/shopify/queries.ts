/** Root query fields the emulator answers. */
import { GraphQLError } from "graphql";
import { connection, type PageArgs } from "./connection.ts";
import { type FieldGetter, invalidDate, matches, parseSearch } from "./search.ts";
import type { CustomerRec, OrderRec, ProductRec, ShopData, VariantRec } from "./store.ts";
import type { Src, Views } from "./views.ts";

type ListArgs = PageArgs & { query?: string | null; sortKey?: string | null };

function search<T>(
  items: Iterable<T>,
  q: string | null | undefined,
  get: FieldGetter<T>,
  indexed?: { field: string; lookup: (value: string) => Iterable<T> },
): T[] {
  const parsed = parseSearch(q);
  const bad = invalidDate(parsed);
  if (bad !== null)
    throw new GraphQLError(`Invalid search filter: ${bad}`, { extensions: { code: "BAD_REQUEST" } });
  // When every OR group pins the indexed field to a value, only the records holding one of those values
  // can match: test those instead of every record.
  const pinned = indexed
    ? parsed.map((g) => g.find((t) => t.field === indexed.field && t.op === ":")?.value)
    : [];
  if (indexed && parsed.length > 0 && pinned.every((v) => v !== undefined)) {
    const seen = new Set<T>();
    for (const v of pinned) for (const x of indexed.lookup(v as string)) seen.add(x);
    return [...seen].filter((x) => matches(x, parsed, get));
  }
  return [...items].filter((x) => matches(x, parsed, get));
}

function sortBy<T extends { id: string; updatedAt: string; createdAt: string }>(
  key: string | null | undefined,
  extra: Record<string, (x: T) => string | number> = {},
): (x: T) => string | number {
  if (key === "UPDATED_AT") return (x) => x.updatedAt;
  if (key === "CREATED_AT") return (x) => x.createdAt;
  const f = key ? extra[key] : undefined;
  return f ?? ((x) => Number(x.id.slice(x.id.lastIndexOf("/") + 1)));
}

const common = (x: { id: string; updatedAt: string; createdAt: string }, f: string) =>
  f === "updated_at"
    ? x.updatedAt
    : f === "created_at"
      ? x.createdAt
      : f === "id"
        ? x.id.slice(x.id.lastIndexOf("/") + 1)
        : undefined;

export function queryRoot(d: ShopData, v: Views): Src {
  const productField: FieldGetter<ProductRec> = (p, f) =>
    f === "sku"
      ? p.variantIds.map((id) => d.variants.get(id)?.sku ?? "")
      : f === "title"
        ? p.title
        : f === "handle"
          ? p.handle
          : f === "status"
            ? p.status
            : common(p, f);
  const variantField: FieldGetter<VariantRec> = (x, f) =>
    f === "sku" ? x.sku : f === "product_id" ? x.productId.split("/").pop() : common(x, f);
  const customerField: FieldGetter<CustomerRec> = (c, f) =>
    f === "email" ? c.email : f === "tag" ? c.tags : f === "phone" ? c.phone : common(c, f);
  const orderField: FieldGetter<OrderRec> = (o, f) =>
    f === "name" ? [o.name, o.name.replace(/^#/, "")] : f === "email" ? o.email : common(o, f);

  return {
    shop: { id: "gid://shopify/Shop/1", name: d.shopName, currencyCode: d.currency },
    locations: (a: ListArgs) => connection(search(d.locations.values(), a.query, common), a, v.location),
    location: (a: { id?: string }) => {
      const l = a.id ? d.locations.get(a.id) : d.locations.values().next().value;
      return l ? v.location(l) : null;
    },
    products: (a: ListArgs) =>
      connection(
        search(d.products.values(), a.query, productField),
        a,
        v.product,
        sortBy(a.sortKey, { TITLE: (p) => p.title }),
      ),
    product: (a: { id: string }) => {
      const p = d.products.get(a.id);
      return p ? v.product(p) : null;
    },
    productVariants: (a: ListArgs) =>
      connection(
        search(d.variants.values(), a.query, variantField, {
          field: "sku",
          lookup: (sku) => d.variants.withKey(sku),
        }),
        a,
        v.variant,
        sortBy(a.sortKey),
      ),
    productVariant: (a: { id: string }) => {
      const x = d.variants.get(a.id);
      return x ? v.variant(x) : null;
    },
    inventoryItems: (a: ListArgs) =>
      connection(
        search(d.inventoryItems.values(), a.query, (i, f) =>
          f === "sku" ? (d.variants.get(i.variantId)?.sku ?? null) : common(i, f),
        ),
        a,
        v.inventoryItem,
      ),
    inventoryItem: (a: { id: string }) => {
      const i = d.inventoryItems.get(a.id);
      return i ? v.inventoryItem(i) : null;
    },
    customers: (a: ListArgs) =>
      connection(
        search(d.customers.values(), a.query, customerField),
        a,
        v.customer,
        sortBy(a.sortKey, { NAME: (c) => `${c.lastName ?? ""} ${c.firstName ?? ""}` }),
      ),
    customer: (a: { id: string }) => {
      const c = d.customers.get(a.id);
      return c ? v.customer(c) : null;
    },
    orders: (a: ListArgs) =>
      connection(
        search(d.orders.values(), a.query, orderField),
        a,
        v.order,
        sortBy(a.sortKey, { ORDER_NUMBER: (o) => o.number, PROCESSED_AT: (o) => o.createdAt }),
      ),
    order: (a: { id: string }) => {
      const o = d.orders.get(a.id);
      return o ? v.order(o) : null;
    },
    refund: (a: { id: string }) => {
      for (const o of d.orders.values()) {
        const r = o.refunds.find((x) => x.id === a.id);
        if (r) return v.refund(o, r);
      }
      return null;
    },
    collections: (a: ListArgs) =>
      connection(
        search(d.collections.values(), a.query, (c, f) =>
          f === "title" ? c.title : f === "handle" ? c.handle : common(c, f),
        ),
        a,
        v.collection,
        sortBy(a.sortKey, { TITLE: (c) => c.title }),
      ),
    collection: (a: { id: string }) => {
      const c = d.collections.get(a.id);
      return c ? v.collection(c) : null;
    },
    menus: (a: ListArgs) =>
      connection(
        search(d.menus.values(), a.query, (m, f) =>
          f === "title" ? m.title : f === "handle" ? m.handle : common(m, f),
        ),
        a,
        v.menu,
      ),
    menu: (a: { id: string }) => {
      const m = d.menus.get(a.id);
      return m ? v.menu(m) : null;
    },
    priceLists: (a: PageArgs) => connection(d.priceLists.values(), a, v.priceList),
    priceList: (a: { id: string }) => {
      const p = d.priceLists.get(a.id);
      return p ? v.priceList(p) : null;
    },
  };
}

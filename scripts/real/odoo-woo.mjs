/**
 * The Odoo 17 ⇄ WooCommerce pair as a merchant runs it, shared by test/real/odoo-woocommerce.test.ts and
 * `npm run demo:real`: the passerelle.yaml for both systems (secrets as ${env:…}), the shop's REST API as
 * its admin, the shop's 15 % tax (what the Odoo kit's generic chart charges), a registered customer and
 * orders placed for them in the shop.
 */
import { ODOO_CURRENCY } from "./odoo.mjs";
import { CATALOG_FLOWS, envRef, ORDER_FLOWS, pairYaml } from "./pair-config.mjs";

/** Environment variables passerelle.yaml names for the secrets: the files never hold them. */
export const SECRET_ENV = { odoo: "ODOO_PASSWORD", woo: "WOO_APPLICATION_PASSWORD" };

/**
 * passerelle.yaml for the pair: Odoo is the ERP (catalogue, prices, stock, deliveries and invoices out;
 * customers and orders in), WooCommerce the shop. Both Odoo warehouses sell online: WooCommerce keeps one
 * stock figure per product, so the Odoo connection sums them into the location `online`. The Odoo
 * pricelist named `priceList` ("Shop" → code `shop`) sets WooCommerce's regular prices; the other
 * pricelists serve customer groups, which WooCommerce core has not (their prices are skipped with that
 * reason).
 */
export function pairConfig(dir, erp, shop, { priceList = "shop" } = {}) {
  return pairYaml({
    dir,
    erp: [
      "type: odoo",
      `url: ${erp.url}`,
      `db: ${erp.db}`,
      `username: ${erp.user}`,
      `password: ${envRef(SECRET_ENV.odoo)}`,
      `currency: ${ODOO_CURRENCY}`,
      "# WooCommerce keeps one stock figure per product: both warehouses sell online.",
      "stockLocations: { online: [WH, WH2] }",
    ],
    shop: [
      "type: woocommerce",
      `url: ${shop.url}`,
      `username: ${shop.username}`,
      `applicationPassword: ${envRef(SECRET_ENV.woo)}`,
      `currency: ${ODOO_CURRENCY}`,
      "location: online",
      `priceList: ${priceList} # this Odoo pricelist sets regular_price`,
      "productPrices: on-create # products are priced when created; the prices flow owns prices after that",
      "shipsOnMeta: ships_on # the expected date of an item out of stock, for the theme to show",
    ],
    flows: [
      ...CATALOG_FLOWS.map((f) =>
        f[2] === "inventory"
          ? [...f, ["backorders: allow # out of stock with a vendor lead time: sold meanwhile"]]
          : f,
      ),
      ...ORDER_FLOWS,
      ["invoices", "erp", "invoice"],
    ],
  });
}

/** The environment a passerelle command of the pair runs with: the config and both secrets. */
export function pairEnv(config, erp, shop, base = process.env) {
  return {
    ...base,
    PASSERELLE_CONFIG: config,
    [SECRET_ENV.odoo]: erp.password,
    [SECRET_ENV.woo]: shop.applicationPassword,
  };
}

/** `api(method, path, body?)` on the shop's REST API (wc/v3) as its admin. */
export function wooApi(shop) {
  return async (method, path, body) => {
    const res = await fetch(`${shop.url}/wp-json/wc/v3${path}`, {
      method,
      headers: { authorization: shop.basicAuth, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`WooCommerce ${method} ${path}: HTTP ${res.status} ${text.slice(0, 400)}`);
    return JSON.parse(text);
  };
}

/** Taxes on, one 15 % rate for every country, shipping taxed: what the Odoo kit's sales tax charges. */
export async function shopTax(api) {
  await api("PUT", "/settings/general/woocommerce_calc_taxes", { value: "yes" });
  await api("POST", "/taxes", { rate: "15.0000", name: "Sales tax", shipping: true });
}

/** Every product and variation of the shop by SKU; variations carry `parent_id`. */
export async function shopItems(api) {
  const out = new Map();
  const products = await api("GET", "/products?per_page=100&status=any&context=edit");
  for (const p of products) {
    if (p.sku) out.set(p.sku, p);
    if (p.type === "variable") {
      const variations = await api("GET", `/products/${p.id}/variations?per_page=100&context=edit`);
      for (const v of variations) out.set(v.sku, { ...v, parent_id: p.id });
    }
  }
  return out;
}

const ADDRESS = {
  first_name: "Grace",
  last_name: "Hopper",
  address_1: "1 Mission St",
  city: "San Francisco",
  state: "CA",
  postcode: "94105",
  country: "US",
};

/** A customer who registers in the shop (an account with billing and shipping addresses). */
export async function registerCustomer(api, email) {
  return api("POST", "/customers", {
    email,
    first_name: ADDRESS.first_name,
    last_name: ADDRESS.last_name,
    billing: { ...ADDRESS, email, phone: "+1 415 555 0100" },
    shipping: ADDRESS,
  });
}

/**
 * An order as the shop's checkout makes one for a registered customer, paid by bank transfer with
 * flat-rate shipping (5.00): created over REST as the shop's admin with the customer's id and addresses
 * (WooCommerce computes the taxes and totals). `lines` are [SKU, quantity].
 */
export async function placeOrder(api, customer, lines) {
  const items = await shopItems(api);
  return api("POST", "/orders", {
    status: "processing",
    set_paid: true,
    customer_id: customer.id,
    payment_method: "bacs",
    payment_method_title: "Bank transfer",
    billing: { ...customer.billing, email: customer.email },
    shipping: customer.shipping,
    line_items: lines.map(([sku, quantity]) => {
      const item = items.get(sku);
      if (!item) throw new Error(`the shop has no product or variation with SKU ${sku}`);
      return item.parent_id
        ? { product_id: item.parent_id, variation_id: item.id, quantity }
        : { product_id: item.id, quantity };
    }),
    shipping_lines: [{ method_id: "flat_rate", method_title: "Flat rate", total: "5.00" }],
  });
}

/**
 * A real Medusa as its users drive it, for the tests: the merchant's Admin API (secret key) and a shopper's
 * Store API (publishable key): registering an account and checking out a cart, step by step as a storefront
 * does (cart, lines, e-mail and addresses, shipping method, payment session, complete).
 */
import assert from "node:assert/strict";
import type { StartedMedusa } from "../../scripts/real/medusa.mjs";

// biome-ignore lint/suspicious/noExplicitAny: the tests read Medusa answers loosely, as a merchant reads JSON
export type Json = Record<string, any>;

export interface ShopAddress {
  first_name: string;
  last_name: string;
  address_1: string;
  city: string;
  postal_code: string;
  country_code: string;
  province?: string;
  phone?: string;
}

export const berlin = (n: number): ShopAddress => ({
  first_name: "Erika",
  last_name: `Muster${n}`,
  address_1: `Teststrasse ${n}`,
  city: "Berlin",
  postal_code: "10115",
  country_code: "de",
  phone: "+49301234567",
});

export const newYork = (n: number): ShopAddress => ({
  first_name: "Sam",
  last_name: `Shopper${n}`,
  address_1: `${n} Broadway`,
  city: "New York",
  postal_code: "10001",
  province: "NY",
  country_code: "us",
  phone: "+12125550100",
});

export function medusaShop(shop: StartedMedusa, run: string) {
  let seq = 0;
  async function call(method: string, path: string, body?: unknown, headers: Json = {}): Promise<Json> {
    const res = await fetch(`${shop.url}${path}`, {
      method,
      headers: { "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 500)}`);
    return text ? (JSON.parse(text) as Json) : {};
  }
  const admin = (method: string, path: string, body?: unknown) =>
    call(method, path, body, {
      authorization: `Basic ${Buffer.from(`${shop.secretKey}:`).toString("base64")}`,
    });
  const store = (method: string, path: string, body?: unknown, token?: string) =>
    call(method, path, body, {
      "x-publishable-api-key": shop.publishableKey,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    });

  /** A shopper registers an account (Store API); returns the customer id and a logged-in token. */
  async function register(
    first = "Ada",
    last?: string,
  ): Promise<{ id: string; email: string; token: string }> {
    const n = ++seq;
    const email = `buyer-${run.toLowerCase()}-${n}@example.com`;
    const reg = await call("POST", "/auth/customer/emailpass/register", { email, password: "secret123" });
    const { customer } = await store(
      "POST",
      "/store/customers",
      { email, first_name: first, last_name: last ?? `Buyer${n}` },
      reg.token,
    );
    const login = await call("POST", "/auth/customer/emailpass", { email, password: "secret123" });
    return { id: customer.id, email, token: login.token };
  }

  /** A checkout through the Store API, as the storefront does it; returns the order and the cart. */
  async function checkout(
    lines: { variantId: string; quantity: number }[],
    who: { email?: string; token?: string; regionId?: string; address?: (n: number) => ShopAddress } = {},
  ): Promise<{ order: Json; cart: Json }> {
    const n = ++seq;
    const t = who.token;
    const address = (who.address ?? berlin)(n);
    let { cart } = await store(
      "POST",
      "/store/carts",
      { region_id: who.regionId ?? shop.seed.region_eur_id },
      t,
    );
    for (const l of lines)
      ({ cart } = await store(
        "POST",
        `/store/carts/${cart.id}/line-items`,
        { variant_id: l.variantId, quantity: l.quantity },
        t,
      ));
    ({ cart } = await store(
      "POST",
      `/store/carts/${cart.id}`,
      {
        email: who.email ?? `guest-${run.toLowerCase()}-${n}@example.com`,
        shipping_address: address,
        billing_address: address,
      },
      t,
    ));
    const { shipping_options } = await store(
      "GET",
      `/store/shipping-options?cart_id=${cart.id}`,
      undefined,
      t,
    );
    const so = shipping_options.find((o: Json) => o.name === "Standard Shipping");
    assert.ok(so, "Standard Shipping is offered");
    ({ cart } = await store("POST", `/store/carts/${cart.id}/shipping-methods`, { option_id: so.id }, t));
    const { payment_collection } = await store("POST", "/store/payment-collections", { cart_id: cart.id }, t);
    await store(
      "POST",
      `/store/payment-collections/${payment_collection.id}/payment-sessions`,
      { provider_id: "pp_system_default" },
      t,
    );
    const done = await store("POST", `/store/carts/${cart.id}/complete`, undefined, t);
    assert.equal(done.type, "order", JSON.stringify(done).slice(0, 400));
    return { order: done.order, cart };
  }

  return { call, admin, store, register, checkout };
}

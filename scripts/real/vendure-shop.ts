/**
 * Talking to a real Vendure the way its users do, for the real suites and `npm run demo:real`: an administrator on the Admin API
 * (to look at what Passerelle wrote) and a shopper on the Shop API (to place orders through checkout).
 */
import type { RunningVendure } from "./vendure.mjs";

type Json = Record<string, unknown>;

export interface GraphQLAnswer {
  data: Json;
  token: string | null;
}

async function post(
  url: string,
  query: string,
  variables: Json,
  token: string | null,
  channelToken?: string,
): Promise<GraphQLAnswer> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (channelToken) headers["vendure-token"] = channelToken;
  const res = await fetch(url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: Json; errors?: unknown[] };
  if (body.errors) throw new Error(`Vendure ${url}: ${JSON.stringify(body.errors)}`);
  return { data: body.data ?? {}, token: res.headers.get("vendure-auth-token") };
}

/** An Admin API session as the superadmin. */
export async function vendureAdmin(v: RunningVendure) {
  const login = await post(
    v.adminApi,
    "mutation($u:String!,$p:String!){login(username:$u,password:$p){...on CurrentUser{id}}}",
    { u: v.adminUser, p: v.adminPassword },
    null,
  );
  const token = login.token;
  return async <T = Json>(query: string, variables: Json = {}, channelToken?: string): Promise<T> =>
    (await post(v.adminApi, query, variables, token, channelToken)).data as T;
}
export type VendureAdmin = Awaited<ReturnType<typeof vendureAdmin>>;

export interface ShopOrderInput {
  email: string;
  firstName: string;
  lastName: string;
  lines: { variantId: string; quantity: number }[];
  couponCode?: string;
  shippingMethodCode?: string;
  address?: { streetLine1: string; city: string; postalCode: string; countryCode: string };
  /** Shop in this channel (the `vendure-token` a storefront sends), e.g. a price-list channel. */
  channelToken?: string;
  /** Log in as `email` with this password (a registered customer) instead of checking out as a guest. */
  password?: string;
}

function ok<T extends Json>(field: string, data: Json): T {
  const r = data[field] as Json & { errorCode?: string; message?: string };
  if (r && typeof r.errorCode === "string")
    throw new Error(`Vendure shop ${field}: ${r.errorCode} ${r.message}`);
  return r as T;
}

/**
 * Checkout as a guest shopper (or, with a password, a registered customer who logs in first): cart,
 * coupon, customer, addresses, shipping method, payment with the test handler (settles at once). Returns
 * the placed order's code and id.
 */
export async function placeShopOrder(
  v: RunningVendure,
  o: ShopOrderInput,
): Promise<{ code: string; id: string; totalWithTax: number }> {
  let token: string | null = null;
  const shop = async (query: string, variables: Json = {}) => {
    const a = await post(v.shopApi, query, variables, token, o.channelToken);
    token = a.token ?? token;
    return a.data;
  };
  if (o.password !== undefined) {
    ok(
      "login",
      await shop(
        "mutation($u:String!,$p:String!){login(username:$u,password:$p){__typename ...on CurrentUser{id} ...on ErrorResult{errorCode message}}}",
        { u: o.email, p: o.password },
      ),
    );
  }
  for (const l of o.lines) {
    ok(
      "addItemToOrder",
      await shop(
        "mutation($id:ID!,$q:Int!){addItemToOrder(productVariantId:$id,quantity:$q){__typename ...on Order{id} ...on ErrorResult{errorCode message}}}",
        { id: l.variantId, q: l.quantity },
      ),
    );
  }
  if (o.couponCode) {
    ok(
      "applyCouponCode",
      await shop(
        "mutation($c:String!){applyCouponCode(couponCode:$c){__typename ...on Order{id} ...on ErrorResult{errorCode message}}}",
        {
          c: o.couponCode,
        },
      ),
    );
  }
  if (o.password === undefined) {
    ok(
      "setCustomerForOrder",
      await shop(
        "mutation($i:CreateCustomerInput!){setCustomerForOrder(input:$i){__typename ...on Order{id} ...on ErrorResult{errorCode message}}}",
        { i: { emailAddress: o.email, firstName: o.firstName, lastName: o.lastName } },
      ),
    );
  }
  const address = {
    fullName: `${o.firstName} ${o.lastName}`,
    ...(o.address ?? {
      streetLine1: "Hauptstraße 1",
      city: "Berlin",
      postalCode: "10115",
      countryCode: "DE",
    }),
  };
  ok(
    "setOrderShippingAddress",
    await shop(
      "mutation($i:CreateAddressInput!){setOrderShippingAddress(input:$i){__typename ...on Order{id} ...on ErrorResult{errorCode message}}}",
      { i: address },
    ),
  );
  ok(
    "setOrderBillingAddress",
    await shop(
      "mutation($i:CreateAddressInput!){setOrderBillingAddress(input:$i){__typename ...on Order{id} ...on ErrorResult{errorCode message}}}",
      { i: address },
    ),
  );
  const methods = (await shop("{eligibleShippingMethods{id code}}")).eligibleShippingMethods as {
    id: string;
    code: string;
  }[];
  const method = methods.find((m) => m.code === (o.shippingMethodCode ?? "standard-shipping")) ?? methods[0];
  if (!method) throw new Error("Vendure offers no shipping method");
  ok(
    "setOrderShippingMethod",
    await shop(
      "mutation($id:[ID!]!){setOrderShippingMethod(shippingMethodId:$id){__typename ...on Order{id} ...on ErrorResult{errorCode message}}}",
      { id: [method.id] },
    ),
  );
  ok(
    "transitionOrderToState",
    await shop(
      'mutation{transitionOrderToState(state:"ArrangingPayment"){__typename ...on Order{id} ...on ErrorResult{errorCode message}}}',
    ),
  );
  const paid = ok<{ id: string; code: string; state: string; totalWithTax: number }>(
    "addPaymentToOrder",
    await shop(
      'mutation{addPaymentToOrder(input:{method:"standard-payment",metadata:{}}){__typename ...on Order{id code state totalWithTax} ...on ErrorResult{errorCode message}}}',
    ),
  );
  if (paid.state !== "PaymentSettled") throw new Error(`order ${paid.code} is ${paid.state} after payment`);
  return { code: paid.code, id: paid.id, totalWithTax: paid.totalWithTax };
}

/** A shopper registers an account in the storefront (the test Vendure verifies it at once). */
export async function registerShopCustomer(
  v: RunningVendure,
  c: { email: string; firstName: string; lastName: string; password: string },
): Promise<void> {
  const data = (
    await post(
      v.shopApi,
      "mutation($i:RegisterCustomerInput!){registerCustomerAccount(input:$i){__typename ...on ErrorResult{errorCode message}}}",
      { i: { emailAddress: c.email, firstName: c.firstName, lastName: c.lastName, password: c.password } },
      null,
    )
  ).data;
  ok("registerCustomerAccount", data);
}

/** A promotion with a coupon code giving `percent` % off the order. */
export async function createCoupon(admin: VendureAdmin, couponCode: string, percent: number): Promise<void> {
  await admin(
    `mutation($i:CreatePromotionInput!){createPromotion(input:$i){__typename ...on Promotion{id} ...on ErrorResult{errorCode message}}}`,
    {
      i: {
        enabled: true,
        couponCode,
        translations: [{ languageCode: "en", name: `${percent}% off (${couponCode})` }],
        conditions: [],
        actions: [
          { code: "order_percentage_discount", arguments: [{ name: "discount", value: String(percent) }] },
        ],
      },
    },
  );
}

/** Variant ids by SKU, as the Admin API sees them. */
export async function variantIds(admin: VendureAdmin, skus: string[]): Promise<Map<string, string>> {
  const data = await admin<{ productVariants: { items: { id: string; sku: string }[] } }>(
    "query($o:ProductVariantListOptions){productVariants(options:$o){items{id sku}}}",
    { o: { take: 1000, filter: { sku: { in: skus } } } },
  );
  return new Map(data.productVariants.items.map((v) => [v.sku, v.id]));
}

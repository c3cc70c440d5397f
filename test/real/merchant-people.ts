/**
 * What the people around a merchant's systems do, for the merchant scenarios in test/real: an ERP user in
 * Tryton (archives a product, adds a price list, withdraws a sale the way Tryton 6.0 users do) and a shopper
 * or shop operator in Vendure (registers, edits an address, abandons a cart, cancels an order, refunds). Written
 * against the systems' own APIs, never with Passerelle's connector code, so a test cannot agree with the
 * connector by construction.
 */
import type { TrytonSession } from "../../scripts/real/tryton.mjs";
import type { RunningVendure } from "../../scripts/real/vendure.mjs";
import type { VendureAdmin } from "../../scripts/real/vendure-shop.ts";

type Json = Record<string, unknown>;

// ---- Tryton ------------------------------------------------------------------------------------------

/** Archives a product as a Tryton user must: its variants first (the template's domain requires it). */
export async function archiveProduct(erp: TrytonSession, code: string): Promise<void> {
  const [template] = await erp.find("product.template", [["code", "=", code]], ["products"]);
  if (!template) throw new Error(`no Tryton template ${code}`);
  await erp.model("product.product", "write", template.products, { active: false });
  await erp.model("product.template", "write", [template.id], { active: false });
}

/** A sale price list computing `formula` (e.g. "unit_price * 0.925"), named after its customer group. */
export async function addPriceList(erp: TrytonSession, name: string, formula: string): Promise<number> {
  const [id] = await erp.create("product.price_list", [
    { name, company: erp.context.company, lines: [["create", [{ formula }]]] },
  ]);
  return id as number;
}

/** The Tryton sale carrying a shop order key in its reference. */
export async function saleOf(
  erp: TrytonSession,
  orderKey: string,
): Promise<
  (Json & { id: number; state: string; shipments: number[]; invoices: number[]; moves: number[] }) | undefined
> {
  const [sale] = await erp.find(
    "sale.sale",
    [["reference", "=", orderKey]],
    ["state", "shipments", "invoices", "moves", "comment", "party"],
  );
  return sale as never;
}

/**
 * Withdraws a processing sale in Tryton 6.0 as its users do: cancel its shipments and draft invoices, then
 * answer both exceptions by ignoring what was cancelled. The sale ends done with nothing sent.
 */
export async function withdrawSale(erp: TrytonSession, saleId: number): Promise<void> {
  const [sale] = (await erp.model("sale.sale", "read", [saleId], ["shipments", "invoices", "moves"])) as {
    shipments: number[];
    invoices: number[];
    moves: number[];
  }[];
  if (!sale) throw new Error(`no sale ${saleId}`);
  if (sale.shipments.length > 0) await erp.model("stock.shipment.out", "cancel", sale.shipments);
  if (sale.invoices.length > 0) await erp.model("account.invoice", "cancel", sale.invoices);
  const ctx = { active_id: saleId, active_ids: [saleId], active_model: "sale.sale" };
  const wizard = async (name: string, data: Json) => {
    const [sid] = (await erp.callWith(ctx, `wizard.${name}.create`)) as [number];
    await erp.callWith(ctx, `wizard.${name}.execute`, sid, data, "handle");
    await erp.callWith(ctx, `wizard.${name}.delete`, sid);
  };
  await wizard("sale.handle.shipment.exception", {
    ask: { recreate_moves: [], domain_moves: sale.moves },
  });
  if (sale.invoices.length > 0) {
    await wizard("sale.handle.invoice.exception", {
      ask: { recreate_invoices: [], domain_invoices: sale.invoices },
    });
  }
}

/** A phone order entered in Tryton alone (no shop reference): quoted and confirmed. Returns its number. */
export async function phoneSale(erp: TrytonSession, partyId: number, sku: string): Promise<string> {
  const [party] = (await erp.model("party.party", "read", [partyId], ["addresses"])) as {
    addresses: number[];
  }[];
  const product = await erp.one("product.product", [["code", "=", sku]], ["default_uom", "list_price"]);
  const warehouse = await erp.one("stock.location", [["code", "=", "WH"]]);
  const [sale] = await erp.create("sale.sale", [
    {
      party: partyId,
      invoice_address: party?.addresses[0],
      shipment_address: party?.addresses[0],
      warehouse: warehouse.id,
      company: erp.context.company,
      lines: [
        [
          "create",
          [
            {
              type: "line",
              product: product.id,
              quantity: 1,
              unit: product.default_uom,
              unit_price: product.list_price,
            },
          ],
        ],
      ],
    },
  ]);
  await erp.model("sale.sale", "quote", [sale]);
  await erp.model("sale.sale", "confirm", [sale]);
  const [read] = (await erp.model("sale.sale", "read", [sale], ["number"])) as { number: string }[];
  return String(read?.number);
}

/** What Tryton says is available to sell of each SKU in each warehouse: min(on hand, forecast). */
export async function erpAvailable(erp: TrytonSession, skus: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const warehouses = await erp.find("stock.location", [["type", "=", "warehouse"]], ["code"]);
  for (const wh of warehouses) {
    const rows = await erp.find(
      "product.product",
      [["code", "in", skus]],
      ["code", "quantity", "forecast_quantity"],
      {
        locations: [wh.id],
      },
    );
    for (const r of rows) {
      out.set(
        `${String(r.code)}@${String(wh.code)}`,
        Math.max(0, Math.min(Number(r.quantity), Number(r.forecast_quantity))),
      );
    }
  }
  return out;
}

// ---- Vendure -----------------------------------------------------------------------------------------

async function shopCall(
  v: RunningVendure,
  session: { token: string | null },
  query: string,
  variables: Json = {},
): Promise<Json> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  const res = await fetch(v.shopApi, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  session.token = res.headers.get("vendure-auth-token") ?? session.token;
  const body = (await res.json()) as { data?: Json; errors?: unknown[] };
  if (body.errors) throw new Error(`Vendure shop: ${JSON.stringify(body.errors)}`);
  const data = body.data ?? {};
  for (const value of Object.values(data)) {
    const r = value as { errorCode?: string; message?: string } | null;
    if (r && typeof r.errorCode === "string") throw new Error(`Vendure shop: ${r.errorCode} ${r.message}`);
  }
  return data;
}

/** A shopper who registers an account with an address, and can then edit it. */
export async function registeredShopper(
  v: RunningVendure,
  who: { email: string; firstName: string; lastName: string; phone: string; street: string },
) {
  const session = { token: null as string | null };
  const call = (q: string, vars: Json = {}) => shopCall(v, session, q, vars);
  const password = "shopper-password-1";
  await call(
    "mutation($i:RegisterCustomerInput!){registerCustomerAccount(input:$i){__typename ...on ErrorResult{errorCode message}}}",
    {
      i: {
        emailAddress: who.email,
        firstName: who.firstName,
        lastName: who.lastName,
        phoneNumber: who.phone,
        password,
      },
    },
  );
  await call(
    "mutation($u:String!,$p:String!){login(username:$u,password:$p){__typename ...on ErrorResult{errorCode message}}}",
    { u: who.email, p: password },
  );
  const created = await call("mutation($i:CreateAddressInput!){createCustomerAddress(input:$i){id}}", {
    i: {
      fullName: `${who.firstName} ${who.lastName}`,
      streetLine1: who.street,
      city: "Berlin",
      postalCode: "10115",
      countryCode: "DE",
      defaultShippingAddress: true,
      defaultBillingAddress: true,
    },
  });
  const addressId = (created.createCustomerAddress as { id: string }).id;
  return {
    /** As the shopper: a new phone number. */
    setPhone: (phone: string) =>
      call("mutation($i:UpdateCustomerInput!){updateCustomer(input:$i){id}}", { i: { phoneNumber: phone } }),
    /** As the shopper: corrects the street of the address. */
    setStreet: (street: string) =>
      call("mutation($i:UpdateAddressInput!){updateCustomerAddress(input:$i){id}}", {
        i: { id: addressId, streetLine1: street },
      }),
  };
}

/** A guest who fills a cart and gives an e-mail, then leaves without paying. */
export async function abandonCart(v: RunningVendure, variantId: string, email: string): Promise<void> {
  const session = { token: null as string | null };
  await shopCall(
    v,
    session,
    "mutation($id:ID!){addItemToOrder(productVariantId:$id,quantity:1){__typename ...on ErrorResult{errorCode message}}}",
    { id: variantId },
  );
  await shopCall(
    v,
    session,
    "mutation($i:CreateCustomerInput!){setCustomerForOrder(input:$i){__typename ...on ErrorResult{errorCode message}}}",
    { i: { emailAddress: email, firstName: "Gone", lastName: "Guest" } },
  );
}

/** As the shop operator: cancels a whole order (with shipping) in Vendure's admin. */
export async function cancelShopOrder(admin: VendureAdmin, orderId: string): Promise<void> {
  const data = await admin<{ cancelOrder: { errorCode?: string; message?: string; state?: string } }>(
    'mutation($id:ID!){cancelOrder(input:{orderId:$id,cancelShipping:true,reason:"customer asked"}){__typename ...on Order{state} ...on ErrorResult{errorCode message}}}',
    { id: orderId },
  );
  if (data.cancelOrder.errorCode) throw new Error(`cancelOrder: ${data.cancelOrder.message}`);
}

/** As the shop operator: refunds an order's settled payment in full. */
export async function refundShopOrder(admin: VendureAdmin, orderId: string, reason: string): Promise<number> {
  const data = await admin<{ order: { payments: { id: string; amount: number; state: string }[] } }>(
    "query($id:ID!){order(id:$id){payments{id amount state}}}",
    { id: orderId },
  );
  const payment = data.order.payments.find((p) => p.state === "Settled");
  if (!payment) throw new Error(`order ${orderId} has no settled payment`);
  const r = await admin<{ refundOrder: { errorCode?: string; message?: string; state?: string } }>(
    "mutation($i:RefundOrderInput!){refundOrder(input:$i){__typename ...on Refund{state} ...on ErrorResult{errorCode message}}}",
    { i: { paymentId: payment.id, amount: payment.amount, shipping: 0, adjustment: 0, reason } },
  );
  if (r.refundOrder.errorCode) throw new Error(`refundOrder: ${r.refundOrder.message}`);
  if (r.refundOrder.state !== "Settled") {
    // The test payment handler settles refunds only when asked.
    const refunds = await admin<{ order: { payments: { refunds: { id: string; state: string }[] }[] } }>(
      "query($id:ID!){order(id:$id){payments{refunds{id state}}}}",
      { id: orderId },
    );
    for (const ref of refunds.order.payments.flatMap((p) => p.refunds)) {
      if (ref.state === "Pending") {
        await admin(
          'mutation($id:ID!){settleRefund(input:{id:$id,transactionId:"refund-test"}){__typename}}',
          { id: ref.id },
        );
      }
    }
  }
  return payment.amount;
}

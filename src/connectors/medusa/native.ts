/** The Medusa 2 Admin API records Passerelle reads, as far as it reads them (amounts are major units). */
import Big from "big.js";
import { z } from "zod";
import { round } from "../../core/money.ts";

const str = z
  .string()
  .nullish()
  .transform((v) => v ?? "");
/** Medusa answers amounts as JSON numbers in major units (20 = 20.00 EUR). */
const num = z.union([z.number(), z.string()]).transform((v) => new Big(v).toFixed());

export const MedusaAddress = z.object({
  first_name: str,
  last_name: str,
  company: str,
  address_1: str,
  address_2: str,
  city: str,
  province: str,
  postal_code: str,
  country_code: str,
  phone: str,
});
export type MedusaAddress = z.infer<typeof MedusaAddress>;

export const MedusaCustomer = z.object({
  id: z.string(),
  email: z.string(),
  first_name: str,
  last_name: str,
  company_name: str,
  phone: str,
  has_account: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
  groups: z.array(z.object({ id: z.string(), name: z.string() })).nullish(),
  addresses: z
    .array(
      MedusaAddress.extend({
        is_default_billing: z.boolean().nullish(),
        is_default_shipping: z.boolean().nullish(),
      }),
    )
    .nullish(),
});
export type MedusaCustomer = z.infer<typeof MedusaCustomer>;
export const CUSTOMER_FIELDS =
  "id,email,first_name,last_name,company_name,phone,has_account,created_at,updated_at,*groups,*addresses";

const TaxLine = z.object({ code: str, description: str, rate: num, total: num.nullish() });

export const MedusaOrderItem = z.object({
  id: z.string(),
  title: str,
  variant_sku: str,
  variant_id: str,
  quantity: num,
  unit_price: num,
  subtotal: num,
  total: num,
  discount_total: num.nullish(),
  is_tax_inclusive: z.boolean().nullish(),
  tax_lines: z.array(TaxLine).nullish(),
  detail: z.object({ fulfilled_quantity: num, shipped_quantity: num }).nullish(),
});
export type MedusaOrderItem = z.infer<typeof MedusaOrderItem>;

export const MedusaOrder = z.object({
  id: z.string(),
  display_id: z.number().int(),
  status: z.string(),
  email: str,
  currency_code: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  total: num,
  tax_total: num,
  shipping_total: num,
  discount_total: num,
  payment_status: z.string().nullish(),
  fulfillment_status: z.string().nullish(),
  customer: z.object({ id: z.string(), email: str, first_name: str, last_name: str }).nullish(),
  items: z.array(MedusaOrderItem),
  shipping_address: MedusaAddress.nullish(),
  billing_address: MedusaAddress.nullish(),
  shipping_methods: z
    .array(z.object({ name: str, amount: num, tax_lines: z.array(TaxLine).nullish() }))
    .nullish(),
  payment_collections: z
    .array(
      z.object({
        status: z.string(),
        amount: num,
        payments: z
          .array(
            z.object({ id: z.string(), provider_id: str, amount: num, captured_at: z.string().nullish() }),
          )
          .nullish(),
      }),
    )
    .nullish(),
  fulfillments: z
    .array(
      z.object({
        id: z.string(),
        location_id: str,
        shipped_at: z.string().nullish(),
        canceled_at: z.string().nullish(),
        metadata: z.record(z.string(), z.unknown()).nullish(),
        labels: z.array(z.object({ tracking_number: str })).nullish(),
      }),
    )
    .nullish(),
});
export type MedusaOrder = z.infer<typeof MedusaOrder>;
/**
 * `*items` must be in the list: Medusa computes fulfillment_status from the fields asked for (with the
 * fulfilments alone, a partial shipment reads "shipped").
 */
export const ORDER_FIELDS = [
  "id,display_id,status,email,currency_code,created_at,updated_at",
  "total,tax_total,shipping_total,discount_total,payment_status,fulfillment_status",
  "*customer,*items,*items.tax_lines,*items.detail,*shipping_address,*billing_address",
  "*shipping_methods,*shipping_methods.tax_lines,*payment_collections,*payment_collections.payments",
  "*fulfillments,*fulfillments.labels",
].join(",");

/** An amount Medusa answered, as a decimal string in the currency's minor unit. */
export const money = (amount: string, currency: string): string => round(amount, currency.toUpperCase());

export const Variant = z.object({
  id: z.string(),
  sku: z.string().nullable(),
  title: str,
  product_id: z.string(),
  prices: z
    .array(
      z.object({ id: z.string(), amount: num, currency_code: z.string(), rules: z.unknown().optional() }),
    )
    .nullish(),
});
export type Variant = z.infer<typeof Variant>;

/** The BigCommerce records Passerelle reads, as far as it reads them (v3 amounts are numbers, v2 ones strings). */
import { z } from "zod";

const str = z
  .string()
  .nullish()
  .transform((v) => v ?? "");
const money = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => (v === null || v === undefined || v === "" ? "0" : String(v)));

export const BcOptionValue = z.object({ option_display_name: z.string(), label: z.string() }).loose();

export const BcVariant = z
  .object({
    id: z.number().int(),
    product_id: z.number().int(),
    sku: z.string(),
    price: z.number().nullish(),
    option_values: z.array(BcOptionValue).nullish(),
  })
  .loose();
export type BcVariant = z.infer<typeof BcVariant>;

export const BcProduct = z
  .object({
    id: z.number().int(),
    name: z.string(),
    sku: str,
    price: z.number(),
    is_visible: z.boolean().nullish(),
    inventory_tracking: z.enum(["none", "product", "variant"]).nullish(),
    date_modified: str,
    variants: z.array(BcVariant).nullish(),
  })
  .loose();
export type BcProduct = z.infer<typeof BcProduct>;

export const BcAddress = z
  .object({
    first_name: str,
    last_name: str,
    company: str,
    address1: str,
    address2: str,
    city: str,
    postal_code: str,
    state_or_province: str,
    country_code: str,
    phone: str,
  })
  .loose();

export const BcCustomer = z
  .object({
    id: z.number().int(),
    email: z.string(),
    first_name: str,
    last_name: str,
    customer_group_id: z.number().int().nullish(),
    date_modified: z.string(),
    addresses: z.array(BcAddress).nullish(),
  })
  .loose();
export type BcCustomer = z.infer<typeof BcCustomer>;

export const BcOrderAddress = z
  .object({
    id: z.number().int().nullish(),
    first_name: str,
    last_name: str,
    company: str,
    street_1: str,
    street_2: str,
    city: str,
    zip: str,
    state: str,
    country_iso2: str,
    phone: str,
    email: str,
  })
  .loose();

export const BcOrderProduct = z
  .object({
    id: z.number().int(),
    order_address_id: z.number().int().nullish(),
    product_id: z.number().int().nullish(),
    variant_id: z.number().int().nullish(),
    name: str,
    sku: str,
    quantity: z.number(),
    quantity_shipped: z.number().nullish(),
    price_ex_tax: money,
    total_tax: money,
    total_ex_tax: money,
  })
  .loose();
export type BcOrderProduct = z.infer<typeof BcOrderProduct>;

export const BcOrderHead = z
  .object({
    id: z.number().int(),
    customer_id: z.number().nullish(),
    status_id: z.number().int(),
    date_created: z.string(),
    date_modified: z.string(),
    currency_code: z.string(),
    subtotal_ex_tax: money,
    total_tax: money,
    shipping_cost_ex_tax: money,
    total_inc_tax: money,
    refunded_amount: money,
    discount_amount: money,
    payment_method: str,
    payment_status: str,
    is_tax_inclusive_pricing: z.boolean().nullish(),
    billing_address: BcOrderAddress.nullish(),
  })
  .loose();
export type BcOrderHead = z.infer<typeof BcOrderHead>;

/** An order with its products and shipping addresses (read from their sub-resources). */
export interface BcOrder extends BcOrderHead {
  lines: BcOrderProduct[];
  shippingAddresses: z.infer<typeof BcOrderAddress>[];
}

export const BcShipment = z
  .object({ id: z.number().int(), order_id: z.number().int(), tracking_number: str, comments: str })
  .loose();

export const BcGroup = z.object({ id: z.number().int(), name: z.string() }).loose();

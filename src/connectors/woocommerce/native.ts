/** The WooCommerce REST (wc/v3) records Passerelle reads, as far as it reads them. */
import { z } from "zod";

const str = z
  .string()
  .nullish()
  .transform((v) => v ?? "");

export const WooAddress = z.object({
  first_name: str,
  last_name: str,
  company: str,
  address_1: str,
  address_2: str,
  city: str,
  state: str,
  postcode: str,
  country: str,
  email: str.optional(),
  phone: str.optional(),
});
export type WooAddress = z.infer<typeof WooAddress>;

export const WooCustomer = z.object({
  id: z.number().int(),
  email: z.string(),
  first_name: str,
  last_name: str,
  username: str,
  date_created_gmt: z.string().nullable(),
  date_modified_gmt: z.string().nullable(),
  billing: WooAddress,
  shipping: WooAddress,
});
export type WooCustomer = z.infer<typeof WooCustomer>;

const Tax = z.object({ id: z.number().int(), total: z.string(), subtotal: z.string().optional() });

export const WooOrder = z.object({
  id: z.number().int(),
  number: z.string(),
  status: z.string(),
  currency: z.string(),
  prices_include_tax: z.boolean(),
  date_created_gmt: z.string(),
  date_modified_gmt: z.string(),
  customer_id: z.number().int(),
  billing: WooAddress,
  shipping: WooAddress,
  payment_method: str,
  payment_method_title: str,
  transaction_id: str,
  shipping_total: z.string(),
  shipping_tax: z.string(),
  total: z.string(),
  total_tax: z.string(),
  line_items: z.array(
    z.object({
      id: z.number().int(),
      name: z.string(),
      product_id: z.number().int(),
      variation_id: z.number().int(),
      quantity: z.number().int(),
      sku: str,
      subtotal: z.string(),
      total: z.string(),
      taxes: z.array(Tax),
    }),
  ),
  tax_lines: z.array(
    z.object({
      rate_id: z.number().int(),
      label: z.string(),
      rate_percent: z.number().optional(),
    }),
  ),
  shipping_lines: z.array(z.object({ method_title: z.string(), total: z.string(), taxes: z.array(Tax) })),
  fee_lines: z.array(z.object({ name: z.string(), total: z.string() })),
  coupon_lines: z.array(z.object({ code: z.string(), discount: z.string() })),
  refunds: z.array(z.object({ id: z.number().int(), reason: str, total: z.string() })),
});
export type WooOrder = z.infer<typeof WooOrder>;

const Attribute = z.object({ id: z.number().int(), name: z.string(), options: z.array(z.string()) });

export const WooProduct = z.object({
  id: z.number().int(),
  name: z.string(),
  type: z.string(),
  status: z.string(),
  sku: str,
  parent_id: z.number().int().optional(),
  description: str,
  regular_price: str,
  sale_price: str,
  manage_stock: z.union([z.boolean(), z.literal("parent")]),
  stock_quantity: z.number().int().nullable(),
  date_modified_gmt: z.string().nullable(),
  attributes: z.array(Attribute.partial({ options: true })),
  /** The product categories it is in (WooCommerce puts a product in none in its default category). */
  categories: z.array(z.object({ id: z.number().int() })).default([]),
});
export type WooProduct = z.infer<typeof WooProduct>;

export const WooVariation = z.object({
  id: z.number().int(),
  sku: str,
  status: z.string(),
  regular_price: str,
  sale_price: str,
  manage_stock: z.union([z.boolean(), z.literal("parent")]),
  stock_quantity: z.number().int().nullable(),
  attributes: z.array(z.object({ id: z.number().int(), name: z.string(), option: z.string() })),
});
export type WooVariation = z.infer<typeof WooVariation>;

export const WooNote = z.object({ id: z.number().int(), note: z.string(), customer_note: z.boolean() });

/** WooCommerce writes GMT times without a zone ("2026-12-03T07:46:48"). */
export const gmt = (t: string): string => (/[zZ]|[+-]\d\d:\d\d$/.test(t) ? t : `${t}Z`);

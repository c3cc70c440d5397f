/** The Magento admin REST records Passerelle reads, as far as it reads them (amounts are major units). */
import { z } from "zod";

const str = z
  .string()
  .nullish()
  .transform((v) => v ?? "");
const num = z
  .number()
  .nullish()
  .transform((v) => v ?? 0);

export const SearchResult = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), total_count: z.number().int() });

export const CustomAttribute = z.object({ attribute_code: z.string(), value: z.unknown() });

export const MagentoProduct = z.object({
  id: z.number().int(),
  sku: z.string(),
  name: str,
  type_id: str,
  price: num,
  status: num,
  visibility: num,
  updated_at: str,
  custom_attributes: z.array(CustomAttribute).nullish(),
  extension_attributes: z
    .object({
      website_ids: z.array(z.number()).nullish(),
      configurable_product_options: z
        .array(
          z.object({
            attribute_id: z.union([z.string(), z.number()]).transform(String),
            label: str,
            values: z.array(z.object({ value_index: z.number() })).nullish(),
          }),
        )
        .nullish(),
      configurable_product_links: z.array(z.number()).nullish(),
    })
    .loose()
    .nullish(),
});
export type MagentoProduct = z.infer<typeof MagentoProduct>;

export const MagentoAddress = z.object({
  id: z.number().nullish(),
  firstname: str,
  lastname: str,
  company: str,
  street: z.array(z.string()).nullish(),
  city: str,
  postcode: str,
  country_id: str,
  telephone: str,
  region: z.union([z.string(), z.object({ region: str }).loose()]).nullish(),
  default_billing: z.boolean().nullish(),
  default_shipping: z.boolean().nullish(),
});
export type MagentoAddress = z.infer<typeof MagentoAddress>;

export const MagentoCustomer = z.object({
  id: z.number().int(),
  email: z.string(),
  firstname: str,
  lastname: str,
  group_id: z.number().int().nullish(),
  updated_at: z.string(),
  addresses: z.array(MagentoAddress).nullish(),
});
export type MagentoCustomer = z.infer<typeof MagentoCustomer>;

export const MagentoOrderItem = z.object({
  item_id: z.number().int(),
  sku: z.string(),
  name: str,
  product_type: str,
  parent_item_id: z.number().int().nullish(),
  qty_ordered: num,
  qty_shipped: num,
  qty_canceled: num,
  price: num,
  tax_percent: num,
  tax_amount: num,
  discount_amount: num,
});
export type MagentoOrderItem = z.infer<typeof MagentoOrderItem>;

export const MagentoOrder = z.object({
  entity_id: z.number().int(),
  increment_id: z.string(),
  state: str,
  status: str,
  customer_email: z.string(),
  customer_firstname: str,
  customer_lastname: str,
  order_currency_code: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  grand_total: z.number(),
  tax_amount: num,
  shipping_amount: num,
  shipping_tax_amount: num,
  shipping_description: str,
  total_paid: num,
  total_refunded: num,
  items: z.array(MagentoOrderItem),
  billing_address: MagentoAddress.nullish(),
  payment: z.object({ method: str, amount_paid: num }).loose().nullish(),
  extension_attributes: z
    .object({
      shipping_assignments: z
        .array(z.object({ shipping: z.object({ address: MagentoAddress.nullish() }).loose() }).loose())
        .nullish(),
    })
    .loose()
    .nullish(),
});
export type MagentoOrder = z.infer<typeof MagentoOrder>;

export const MagentoShipment = z.object({
  entity_id: z.number().int(),
  order_id: z.number().int(),
  comments: z.array(z.object({ comment: str })).nullish(),
  tracks: z.array(z.object({ track_number: str, carrier_code: str, title: str })).nullish(),
});
export type MagentoShipment = z.infer<typeof MagentoShipment>;

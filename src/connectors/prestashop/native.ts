/** The PrestaShop records Passerelle reads (`output_format=JSON`), as far as it reads them. */
import { z } from "zod";
import { LangField } from "./client.ts";

const str = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => (v === null || v === undefined ? "" : String(v)));
const id = z.union([z.string(), z.number()]).transform((v) => Number(v));

export const PsProduct = z
  .object({
    id,
    reference: str,
    price: str,
    active: str,
    date_upd: str,
    name: LangField.nullish(),
    associations: z
      .object({
        combinations: z.array(z.object({ id }).loose()).nullish(),
        stock_availables: z.array(z.object({ id, id_product_attribute: id }).loose()).nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();
export type PsProduct = z.infer<typeof PsProduct>;

export const PsCombination = z
  .object({
    id,
    id_product: id,
    reference: str,
    price: str,
    associations: z
      .object({ product_option_values: z.array(z.object({ id }).loose()).nullish() })
      .loose()
      .nullish(),
  })
  .loose();
export type PsCombination = z.infer<typeof PsCombination>;

export const PsOption = z.object({ id, name: LangField.nullish(), public_name: LangField.nullish() }).loose();
export const PsOptionValue = z.object({ id, id_attribute_group: id, name: LangField.nullish() }).loose();

export const PsStock = z
  .object({
    id,
    id_product: id,
    id_product_attribute: id,
    id_shop: str,
    quantity: str,
    depends_on_stock: str,
    out_of_stock: str,
  })
  .loose();
export type PsStock = z.infer<typeof PsStock>;

export const PsSpecificPrice = z
  .object({
    id,
    id_shop: str,
    id_product: id,
    id_product_attribute: id,
    id_currency: id,
    id_group: id,
    id_customer: id,
    id_country: id,
    id_cart: id,
    price: str,
    from_quantity: str,
    reduction: str,
    reduction_type: str,
    from: str,
    to: str,
  })
  .loose();
export type PsSpecificPrice = z.infer<typeof PsSpecificPrice>;

export const PsNamed = z.object({ id, name: LangField.nullish() }).loose();
export const PsCurrency = z.object({ id, iso_code: z.string() }).loose();
export const PsCountry = z.object({ id, iso_code: z.string() }).loose();
export const PsOrderState = z
  .object({ id, name: LangField.nullish(), paid: str, shipped: str, delivery: str })
  .loose();
export type PsOrderState = z.infer<typeof PsOrderState>;

export const PsCustomer = z
  .object({
    id,
    email: z.string(),
    firstname: str,
    lastname: str,
    company: str,
    id_default_group: str,
    deleted: str,
    date_upd: z.string(),
  })
  .loose();
export type PsCustomer = z.infer<typeof PsCustomer>;

export const PsAddress = z
  .object({
    id,
    id_customer: str,
    id_country: str,
    company: str,
    firstname: str,
    lastname: str,
    address1: str,
    address2: str,
    postcode: str,
    city: str,
    phone: str,
    deleted: str,
  })
  .loose();
export type PsAddress = z.infer<typeof PsAddress>;

export const PsOrderRow = z
  .object({
    id: str,
    product_id: str,
    product_attribute_id: str,
    product_quantity: str,
    product_name: str,
    product_reference: str,
    unit_price_tax_incl: str,
    unit_price_tax_excl: str,
  })
  .loose();

export const PsOrderHead = z
  .object({
    id,
    reference: str,
    id_customer: str,
    id_currency: str,
    id_address_delivery: str,
    id_address_invoice: str,
    current_state: str,
    payment: str,
    module: str,
    date_add: z.string(),
    date_upd: z.string(),
    total_paid_tax_incl: str,
    total_paid_tax_excl: str,
    total_paid_real: str,
    total_shipping_tax_incl: str,
    total_shipping_tax_excl: str,
    total_discounts_tax_incl: str,
    total_discounts_tax_excl: str,
    associations: z
      .object({ order_rows: z.array(PsOrderRow).nullish() })
      .loose()
      .nullish(),
  })
  .loose();
export type PsOrderHead = z.infer<typeof PsOrderHead>;

/** An order with what its canonical form needs from other resources. */
export interface PsOrder extends PsOrderHead {
  email: string;
  customerName: string;
  currency: string;
  state: PsOrderState | null;
  delivery: (PsAddress & { country: string }) | null;
  invoice: (PsAddress & { country: string }) | null;
}

/** A customer with its addresses and group name. */
export interface PsCustomerFull extends PsCustomer {
  addresses: (PsAddress & { country: string })[];
  group: string | null;
}

export const PsOrderCarrier = z
  .object({ id, id_order: id, id_carrier: str, tracking_number: str, id_order_invoice: str })
  .loose();

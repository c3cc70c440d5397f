/** The Admin API shapes the connector reads, as zod schemas beside the GraphQL selections that fetch them. */
import { z } from "zod";

export const ORDER_ADDRESS =
  "fullName company streetLine1 streetLine2 city province postalCode countryCode phoneNumber";
export const OrderAddress = z.object({
  fullName: z.string().nullish(),
  company: z.string().nullish(),
  streetLine1: z.string().nullish(),
  streetLine2: z.string().nullish(),
  city: z.string().nullish(),
  province: z.string().nullish(),
  postalCode: z.string().nullish(),
  countryCode: z.string().nullish(),
  phoneNumber: z.string().nullish(),
});
export type OrderAddress = z.infer<typeof OrderAddress>;

export const ORDER_FIELDS = `id code state active updatedAt orderPlacedAt currencyCode
  customer { id firstName lastName emailAddress }
  shippingAddress { ${ORDER_ADDRESS} } billingAddress { ${ORDER_ADDRESS} }
  lines { id quantity unitPrice linePrice proratedLinePrice proratedLinePriceWithTax
    productVariant { id sku name } taxLines { description taxRate } }
  shippingLines { shippingMethod { code name } discountedPrice discountedPriceWithTax }
  surcharges { id description price priceWithTax }
  couponCodes
  payments { method amount state transactionId refunds { total state reason } }
  fulfillments { id state method trackingCode lines { orderLineId quantity } }
  taxSummary { taxRate }
  subTotal subTotalWithTax shipping shippingWithTax total totalWithTax`;

export const VendureOrder = z.object({
  id: z.string(),
  code: z.string(),
  state: z.string(),
  active: z.boolean(),
  updatedAt: z.string(),
  orderPlacedAt: z.string().nullable(),
  currencyCode: z.string(),
  customer: z
    .object({ id: z.string(), firstName: z.string(), lastName: z.string(), emailAddress: z.string() })
    .nullable(),
  shippingAddress: OrderAddress.nullable(),
  billingAddress: OrderAddress.nullable(),
  lines: z.array(
    z.object({
      id: z.string(),
      quantity: z.number().int(),
      unitPrice: z.number().int(),
      linePrice: z.number().int(),
      proratedLinePrice: z.number().int(),
      proratedLinePriceWithTax: z.number().int(),
      productVariant: z.object({ id: z.string(), sku: z.string(), name: z.string() }),
      taxLines: z.array(z.object({ description: z.string(), taxRate: z.number() })),
    }),
  ),
  shippingLines: z.array(
    z.object({
      shippingMethod: z.object({ code: z.string(), name: z.string() }),
      discountedPrice: z.number().int(),
      discountedPriceWithTax: z.number().int(),
    }),
  ),
  surcharges: z.array(
    z.object({ id: z.string(), description: z.string(), price: z.number(), priceWithTax: z.number() }),
  ),
  couponCodes: z.array(z.string()),
  payments: z
    .array(
      z.object({
        method: z.string(),
        amount: z.number().int(),
        state: z.string(),
        transactionId: z.string().nullable(),
        refunds: z.array(
          z.object({ total: z.number().int(), state: z.string(), reason: z.string().nullable() }),
        ),
      }),
    )
    .nullable(),
  fulfillments: z
    .array(
      z.object({
        id: z.string(),
        state: z.string(),
        method: z.string(),
        trackingCode: z.string().nullable(),
        lines: z.array(z.object({ orderLineId: z.string(), quantity: z.number().int() })),
      }),
    )
    .nullable(),
  taxSummary: z.array(z.object({ taxRate: z.number() })),
  subTotal: z.number().int(),
  subTotalWithTax: z.number().int(),
  shipping: z.number().int(),
  shippingWithTax: z.number().int(),
  total: z.number().int(),
  totalWithTax: z.number().int(),
});
export type VendureOrder = z.infer<typeof VendureOrder>;

export const CUSTOMER_FIELDS = `id createdAt updatedAt firstName lastName emailAddress phoneNumber
  user { id }
  groups { id name }
  addresses { updatedAt fullName company streetLine1 streetLine2 city province postalCode phoneNumber
    country { code } defaultShippingAddress defaultBillingAddress }`;

export const VendureCustomer = z.object({
  id: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Null for a guest: Vendure creates a customer for every cart given an e-mail, placed or not. */
  user: z.object({ id: z.string() }).nullable(),
  firstName: z.string(),
  lastName: z.string(),
  emailAddress: z.string(),
  phoneNumber: z.string().nullable(),
  groups: z.array(z.object({ id: z.string(), name: z.string() })),
  addresses: z
    .array(
      z.object({
        updatedAt: z.string(),
        fullName: z.string().nullable(),
        company: z.string().nullable(),
        streetLine1: z.string(),
        streetLine2: z.string().nullable(),
        city: z.string().nullable(),
        province: z.string().nullable(),
        postalCode: z.string().nullable(),
        phoneNumber: z.string().nullable(),
        country: z.object({ code: z.string() }),
        defaultShippingAddress: z.boolean().nullable(),
        defaultBillingAddress: z.boolean().nullable(),
      }),
    )
    .nullable(),
});
export type VendureCustomer = z.infer<typeof VendureCustomer>;

export function listOf<T extends z.ZodType>(field: string, item: T) {
  return z.object({ [field]: z.object({ items: z.array(item), totalItems: z.number().int() }) });
}

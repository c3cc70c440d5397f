/** Shapes of the Admin API answers the connector reads (what operations.ts asks for), parsed with zod. */
import { z } from "zod";

const MoneyBag = z.object({ shopMoney: z.object({ amount: z.string(), currencyCode: z.string() }) });
const TaxLine = z.object({ title: z.string(), rate: z.number().nullable(), priceSet: MoneyBag });
const PageInfo = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() });

export const Address = z.object({
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  company: z.string().nullable(),
  address1: z.string().nullable(),
  address2: z.string().nullable(),
  city: z.string().nullable(),
  zip: z.string().nullable(),
  province: z.string().nullable(),
  countryCodeV2: z.string().nullable(),
  phone: z.string().nullable(),
});
export type Address = z.infer<typeof Address>;

export const ShopifyCustomer = z.object({
  id: z.string(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  tags: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  defaultEmailAddress: z.object({ emailAddress: z.string() }).nullable(),
  defaultPhoneNumber: z.object({ phoneNumber: z.string() }).nullable(),
  addressesV2: z.object({ nodes: z.array(Address) }),
});
export type ShopifyCustomer = z.infer<typeof ShopifyCustomer>;

export const LineItem = z.object({
  id: z.string(),
  sku: z.string().nullable(),
  title: z.string(),
  quantity: z.number().int(),
  originalUnitPriceSet: MoneyBag,
  totalDiscountSet: MoneyBag,
  taxLines: z.array(TaxLine),
});
export type LineItem = z.infer<typeof LineItem>;

export const LineItemPage = z.object({ pageInfo: PageInfo, nodes: z.array(LineItem) });

export const ShopifyOrder = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  processedAt: z.string(),
  cancelledAt: z.string().nullable(),
  currencyCode: z.string(),
  email: z.string().nullable(),
  taxesIncluded: z.boolean(),
  displayFinancialStatus: z.string().nullable(),
  displayFulfillmentStatus: z.string(),
  discountCodes: z.array(z.string()),
  paymentGatewayNames: z.array(z.string()),
  customer: z
    .object({
      id: z.string(),
      firstName: z.string().nullable(),
      lastName: z.string().nullable(),
      defaultEmailAddress: z.object({ emailAddress: z.string() }).nullable(),
    })
    .nullable(),
  billingAddress: Address.nullable(),
  shippingAddress: Address.nullable(),
  subtotalPriceSet: MoneyBag.nullable(),
  totalDiscountsSet: MoneyBag.nullable(),
  totalShippingPriceSet: MoneyBag,
  totalTaxSet: MoneyBag.nullable(),
  totalPriceSet: MoneyBag,
  currentTotalPriceSet: MoneyBag,
  totalReceivedSet: MoneyBag,
  shippingLines: z.object({
    nodes: z.array(z.object({ title: z.string(), originalPriceSet: MoneyBag, taxLines: z.array(TaxLine) })),
  }),
  lineItems: LineItemPage,
});
export type ShopifyOrder = z.infer<typeof ShopifyOrder>;

export const ShopifyProduct = z.object({
  id: z.string(),
  title: z.string(),
  handle: z.string(),
  descriptionHtml: z.string(),
  vendor: z.string(),
  status: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  options: z.array(z.object({ name: z.string(), values: z.array(z.string()) })),
  variants: z.object({
    nodes: z.array(
      z.object({
        id: z.string(),
        sku: z.string().nullable(),
        title: z.string(),
        barcode: z.string().nullable(),
        price: z.string(),
        compareAtPrice: z.string().nullable(),
        selectedOptions: z.array(z.object({ name: z.string(), value: z.string() })),
      }),
    ),
  }),
});
export type ShopifyProduct = z.infer<typeof ShopifyProduct>;

export const connectionOf = <T extends z.ZodType>(node: T) =>
  z.object({ pageInfo: PageInfo, nodes: z.array(node) });

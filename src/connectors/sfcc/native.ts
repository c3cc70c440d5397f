/** The SCAPI records the connector reads, as far as it uses them (other fields pass through). */
import { z } from "zod";

const Localized = z.record(z.string(), z.string());

export const SfccAddress = z.looseObject({
  addressId: z.string().optional(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  fullName: z.string().optional(),
  companyName: z.string().optional(),
  address1: z.string().optional(),
  address2: z.string().optional(),
  city: z.string().optional(),
  postalCode: z.string().optional(),
  stateCode: z.string().optional(),
  countryCode: z.string().optional(),
  phone: z.string().optional(),
});
export type SfccAddress = z.infer<typeof SfccAddress>;

export const SfccCustomer = z.looseObject({
  customerNo: z.string(),
  email: z.string().optional(),
  firstName: z.string().optional(),
  lastName: z.string(),
  companyName: z.string().optional(),
  phoneHome: z.string().optional(),
  phoneMobile: z.string().optional(),
  phoneBusiness: z.string().optional(),
  creationDate: z.string().optional(),
  lastModified: z.string(),
});
export type SfccCustomer = z.infer<typeof SfccCustomer>;

export const CustomerSearchResult = z.object({
  hits: z.array(z.object({ data: SfccCustomer })),
  limit: z.number().int(),
  offset: z.number().int(),
  total: z.number().int(),
});

export const AddressResult = z.object({
  data: z.array(SfccAddress).default([]),
  limit: z.number().int(),
  offset: z.number().int(),
  total: z.number().int(),
});

const Money = z.number();

export const SfccOrder = z.looseObject({
  orderNo: z.string(),
  siteId: z.string().optional(),
  currency: z.string(),
  creationDate: z.string(),
  lastModified: z.string(),
  status: z.string(),
  shippingStatus: z.string().optional(),
  paymentStatus: z.string().optional(),
  taxation: z.enum(["gross", "net"]).optional(),
  customerInfo: z
    .looseObject({
      email: z.string().optional(),
      customerName: z.string().optional(),
      customerNo: z.string().optional(),
    })
    .optional(),
  billingAddress: SfccAddress.optional(),
  productItems: z
    .array(
      z.looseObject({
        productId: z.string(),
        productName: z.string().optional(),
        quantity: z.number().optional(),
        basePrice: Money.optional(),
        netPrice: Money.optional(),
        grossPrice: Money.optional(),
        priceAfterItemDiscount: Money.optional(),
        tax: Money.optional(),
        taxRate: z.number(),
      }),
    )
    .default([]),
  shipments: z
    .array(
      z.looseObject({
        shipmentId: z.string(),
        shippingAddress: SfccAddress.optional(),
        shippingMethod: z.looseObject({ id: z.string().optional() }).optional(),
        shippingStatus: z.string().optional(),
        trackingNumber: z.string().optional(),
      }),
    )
    .default([]),
  shippingItems: z
    .array(
      z.looseObject({
        netPrice: Money.optional(),
        grossPrice: Money.optional(),
        tax: Money.optional(),
        taxRate: z.number(),
      }),
    )
    .default([]),
  shippingTotal: Money.optional(),
  shippingTotalTax: Money.optional(),
  taxTotal: Money.optional(),
  orderTotal: Money.optional(),
  paymentInstruments: z
    .array(
      z.looseObject({
        paymentMethodId: z.string().optional(),
        paymentTransaction: z
          .looseObject({ amount: Money.optional(), transactionId: z.string().optional() })
          .optional(),
      }),
    )
    .default([]),
});
export type SfccOrder = z.infer<typeof SfccOrder>;

export const OrdersResponse = z.object({ data: z.array(SfccOrder) });

export const SfccProduct = z.looseObject({
  id: z.string(),
  name: Localized.optional(),
  lastModified: z.string().optional(),
  type: z.looseObject({ master: z.boolean().optional(), variant: z.boolean().optional() }).optional(),
  master: z.looseObject({ masterId: z.string() }).optional(),
  variationAttributes: z
    .array(
      z.looseObject({
        id: z.string().optional(),
        attributeDefinitionId: z.string(),
        values: z.array(z.looseObject({ value: z.string() })).optional(),
      }),
    )
    .optional(),
  variationValues: z.record(z.string(), z.string()).optional(),
  variants: z
    .array(
      z.looseObject({ productId: z.string(), variationValues: z.record(z.string(), z.string()).optional() }),
    )
    .optional(),
});
export type SfccProduct = z.infer<typeof SfccProduct>;

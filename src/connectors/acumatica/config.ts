import { z } from "zod";

/** One customer price class whose sales prices are read as one customer group's price list. */
export const AcumaticaPriceClass = z.object({
  /** The customer price class (Sales Prices' Price Code when the price type is Customer Price Class). */
  priceClass: z.string().min(1),
  /** The canonical customer group whose prices it holds. */
  customerGroup: z.string().min(1),
  /** The canonical price list code (default: the price class). */
  code: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
});

/** Settings of an Acumatica ERP connection (contract-based REST API, cookie session). */
export const AcumaticaConfig = z.object({
  /** The site's URL, e.g. https://erp.example.com/AcumaticaERP (without /entity). */
  baseUrl: z.url().transform((u) => u.replace(/\/+$/, "").replace(/\/entity$/, "")),
  /** The web-service endpoint and its version (System › Integration › Web Service Endpoints). */
  endpoint: z
    .string()
    .regex(/^[A-Za-z0-9_]+$/, { message: "must be an endpoint name such as Default" })
    .default("Default"),
  endpointVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, { message: "must be a version such as 24.200.001" })
    .default("24.200.001"),
  /** The tenant (company) logged in to; optional on a single-tenant site. */
  tenant: z.string().min(1).optional(),
  username: z.string().min(1),
  /** Sent only in the login call's body, never logged. */
  password: z.string().min(1),
  /** The branch the session works in (login's `branch`); default: the user's default branch. */
  branch: z.string().min(1).optional(),
  /** Warehouses whose stock is read (default: every warehouse of each item). */
  warehouses: z.array(z.string().min(1)).optional(),
  /** Warehouse of order lines (default: the one Acumatica picks for the item and customer). */
  orderWarehouse: z.string().min(1).optional(),
  /** The base currency, for prices (StockItem.DefaultPrice is in it). */
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, { message: "must be an ISO 4217 code such as EUR" })
    .default("EUR"),
  /** Customer price classes read as customer-group prices (SalesPricesInquiry); none: no price stream rows. */
  priceClasses: z
    .array(AcumaticaPriceClass)
    .default([])
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((c, i) => {
        if (seen.has(c.priceClass))
          ctx.addIssue({
            code: "custom",
            path: [i, "priceClass"],
            message: `price class ${c.priceClass} is listed twice`,
          });
        seen.add(c.priceClass);
      });
    }),
  /** Canonical customer group → Acumatica customer class (CustomerClass), both ways. */
  customerClasses: z.record(z.string().min(1), z.string().min(1)).default({}),
  /** The class of customers written without a group (default: the site's default class, left unset). */
  defaultCustomerClass: z.string().min(1).optional(),
  /** Prefix of the CustomerID of customers Passerelle creates (the rest is derived from the e-mail). */
  customerIdPrefix: z
    .string()
    .regex(/^[A-Z0-9]{1,4}$/, { message: "must be 1 to 4 upper-case letters or digits" })
    .default("W"),
  /** Order type of the sales orders written (SO: a regular sales order). */
  orderType: z
    .string()
    .regex(/^[A-Z0-9]{2}$/)
    .default("SO"),
  /** Records per request ($top). */
  pageSize: z.number().int().positive().max(1000).default(100),
  timeoutMs: z.number().int().positive().default(60_000),
  concurrency: z.number().int().positive().max(16).default(4),
});
export type AcumaticaConfig = z.infer<typeof AcumaticaConfig>;

/** Connection settings for a Vendure server (Admin API). */
import { z } from "zod";

export const VendureConfig = z.object({
  /** The server's base URL, e.g. https://shop.example.com (the Admin API is at `<url>/<adminApiPath>`). */
  url: z.url(),
  adminApiPath: z.string().min(1).default("admin-api"),
  /** An administrator with the permissions listed in docs/connectors/vendure.md. */
  username: z.string().min(1),
  /** Use ${env:X} or ${file:/path} in passerelle.yaml. */
  password: z.string().min(1),
  /** Token of the channel to work in; the default channel when absent. */
  channelToken: z.string().min(1).optional(),
  /** Records per page (each order page carries its lines, so pages stay small); Vendure's admin limit is 1000. */
  pageSize: z.number().int().min(1).max(1000).default(100),
  /** Canonical location code → Vendure stock location name. Unmapped codes are used as names as they are. */
  locationMap: z.record(z.string(), z.string()).optional(),
  /**
   * Price list code → code of the Vendure channel that carries that list's prices. Unmapped lists use a
   * channel whose code is the list's code, created on first use.
   */
  priceListChannels: z.record(z.string(), z.string()).optional(),
  /** Order custom fields (declared in the Vendure config) that receive the ERP invoice. */
  invoiceFields: z
    .object({ number: z.string().min(1), document: z.string().min(1) })
    .default({ number: "invoiceNumber", document: "invoiceDocument" }),
  /**
   * An Order custom field (declared in the Vendure config, type string with `list: true`) that receives the
   * document ref of each shipment's delivery note, fetched from the ERP with `passerelle document`. Absent:
   * delivery notes are not written (Vendure has no document field of its own).
   */
  deliveryNoteField: z.string().min(1).optional(),
  /**
   * A ProductVariant custom field (declared in the Vendure config, type string) that receives the day an
   * item out of stock is expected back (ISO date), and is emptied once it is in stock. Absent: no date is
   * written (Vendure has no field of its own for it).
   */
  shipsOnField: z.string().min(1).optional(),
  /**
   * How many units of a backordered variant Vendure may sell below zero (its out-of-stock threshold is set to
   * minus this while the inventory flow's `backorders: allow` applies; the global threshold otherwise).
   */
  backorderLimit: z.number().int().positive().default(100),
  /**
   * When the ERP withdraws an order: refund its settled payments in Vendure as well as cancelling it.
   * Off by default: the trace then says the payment is still held, and a person refunds it.
   */
  refundOnCancel: z.boolean().default(false),
  /** Fulfilment handler code used for shipments. */
  fulfillmentHandler: z.string().min(1).default("manual-fulfillment"),
  /** Per-request timeout. */
  timeoutMs: z.number().int().positive().default(30_000),
});
export type VendureConfig = z.infer<typeof VendureConfig>;

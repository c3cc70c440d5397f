/**
 * A storefront for trying the orders flow by hand while `passerelle emulate shopify` runs (not part of
 * Shopify's API): `POST /emulator/orders` checks an order out as a shopper would (priced, taxed and paid
 * by checkout.ts) and `GET /emulator/variants` lists what can be ordered. The order is placed through the
 * same path as the tests' orders, so it raises the webhooks a real order raises (orders/create,
 * orders/paid) and the orders flow reads it from the Admin API like any other.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { formatPath, show } from "../util.ts";
import type { PlaceOrderInput } from "./checkout.ts";
import type { OrderRec, ShopData } from "./store.ts";

export const ORDERS_PATH = "/emulator/orders";
export const VARIANTS_PATH = "/emulator/variants";

/** Far above any hand-written order; a larger body is refused before it is read whole. */
const BODY_LIMIT = 64 * 1024;

const OrderRequest = z
  .object({
    email: z.email(),
    lines: z
      .array(z.object({ sku: z.string().min(1), quantity: z.number().int().min(1).max(10_000) }).strict())
      .min(1)
      .max(250),
    shipping: z.boolean().optional(),
    discountCode: z.string().min(1).max(255).optional(),
    /** The discount code's amount; 10 % of the lines when omitted. */
    discountAmount: z
      .string()
      .regex(/^\d+(\.\d{1,2})?$/, { message: 'must be an amount like "5.00"' })
      .optional(),
  })
  .strict();

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > BODY_LIMIT) throw new Refusal(413, `body larger than ${BODY_LIMIT} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    const chunk = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
    size += chunk.length;
    if (size > BODY_LIMIT) throw new Refusal(413, `body larger than ${BODY_LIMIT} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new Refusal(400, "body is not valid JSON");
  }
}

/** Every problem of the request, each with its field and the value given. */
function problems(error: z.ZodError, input: unknown): string {
  return error.issues
    .map((i) => {
      // An issue of the whole body (an unknown key) names what is wrong itself; the body is not repeated.
      if (i.path.length === 0) return `body: ${i.message}`;
      const value = i.path.reduce<unknown>(
        (v, p) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined),
        input,
      );
      return `${formatPath(i.path)}: ${i.message}${value === undefined ? "" : `, got ${show(value, 60)}`}`;
    })
    .join("; ");
}

/** The variants a shopper can order (those with a SKU), with their stock over every location. */
export function orderableVariants(
  d: ShopData,
): { sku: string; title: string; price: string; available: number }[] {
  const out: { sku: string; title: string; price: string; available: number }[] = [];
  for (const v of d.variants.values()) {
    if (!v.sku) continue;
    const levels = d.inventoryItems.get(v.inventoryItemId)?.levels.values() ?? [];
    const available = [...levels].reduce((n, l) => n + l.available, 0);
    const product = d.products.get(v.productId);
    // A product without options has one "Default Title" variant; its title is the product's alone.
    const options = v.optionValues
      .map((o) => o.name)
      .filter((n) => n !== "Default Title")
      .join(" / ");
    const title = [product?.title ?? v.sku, options].filter((s) => s !== "").join(" — ");
    out.push({ sku: v.sku, title, price: v.price, available });
  }
  return out.sort((a, b) => a.sku.localeCompare(b.sku));
}

/** The unknown SKUs of an order, refused together, with what can be ordered instead. */
function unknownSkus(d: ShopData, lines: PlaceOrderInput["lines"]): Refusal | null {
  const unknown = lines.flatMap((l, i) =>
    d.variantBySku(l.sku) ? [] : [`lines[${i}].sku ${show(l.sku, 60)}`],
  );
  if (unknown.length === 0) return null;
  const known = orderableVariants(d).filter((v) => v.available > 0);
  const hint =
    known.length === 0
      ? "the shop has no variant in stock yet: sync products and stock to it first (passerelle sync products stock)"
      : `in stock, e.g. ${known
          .slice(0, 3)
          .map((v) => v.sku)
          .join(", ")} (GET ${VARIANTS_PATH} lists them)`;
  return new Refusal(422, `${unknown.join(", ")}: no variant of the shop has this SKU; ${hint}`);
}

export interface Storefront {
  /** Answers the request and returns true when it is one of the storefront's routes. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
}

export function storefront(
  d: ShopData,
  place: (input: PlaceOrderInput) => OrderRec,
  totalOf: (order: OrderRec) => string,
): Storefront {
  const order = async (req: IncomingMessage): Promise<unknown> => {
    const body = await readJson(req);
    const parsed = OrderRequest.safeParse(body);
    if (!parsed.success) throw new Refusal(400, problems(parsed.error, body));
    const input: PlaceOrderInput = parsed.data;
    const unknown = unknownSkus(d, input.lines);
    if (unknown) throw unknown;
    let placed: OrderRec;
    try {
      placed = place(input);
    } catch (e) {
      // checkout.ts refuses what a real checkout would (a discount above the subtotal): the shopper's error.
      throw new Refusal(422, (e instanceof Error ? e.message : String(e)).replace(/^placeOrder: /, ""));
    }
    return {
      name: placed.name,
      id: placed.id,
      email: placed.email,
      customer: placed.customerId,
      total: totalOf(placed),
      currency: placed.currency,
      lines: placed.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPrice: l.unitPrice })),
    };
  };
  return {
    handle(req, res, url) {
      if (url.pathname === VARIANTS_PATH && req.method === "GET") {
        reply(res, 200, orderableVariants(d));
        return true;
      }
      if (url.pathname !== ORDERS_PATH) return false;
      if (req.method !== "POST") {
        res.setHeader("allow", "POST");
        reply(res, 405, { error: `${ORDERS_PATH} takes POST with a JSON order` });
        return true;
      }
      order(req).then(
        (placed) => reply(res, 201, placed),
        (e: unknown) =>
          e instanceof Refusal
            ? reply(res, e.status, { error: e.message })
            : reply(res, 500, { error: e instanceof Error ? e.message : String(e) }),
      );
      return true;
    },
  };
}

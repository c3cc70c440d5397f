/**
 * The Shopify Admin GraphQL emulator: `POST /admin/api/2026-10/graphql.json` on a node:http server, with the
 * real schema, cost-based throttling, and a seeded shop; `POST /emulator/orders` and `GET /emulator/variants`
 * stand in for the storefront (storefront.ts). The ShopifyEmulator interface lists the test-only controls.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { z } from "zod";
import { rng } from "../util.ts";
import { DEFAULT_RATE_LIMIT, LeakyBucket, type RateLimitOptions } from "./bucket.ts";
import { BulkOperations } from "./bulk.ts";
import { type PlaceOrderInput, placeOrder } from "./checkout.ts";
import { dropConnection, FaultInjector, type FaultOptions, shopifyFaultBefore, sleep } from "./faults.ts";
import { runGraphQL } from "./graphql.ts";
import { mutationRoot } from "./mutations.ts";
import { queryRoot } from "./queries.ts";
import { createRefund, type RefundSpec, refundInputFor, refundMutations } from "./refunds.ts";
import { API_VERSION } from "./schema.ts";
import { type OrderRec, type RefundRec, ShopData, seedShop } from "./store.ts";
import { storefront } from "./storefront.ts";
import { orderTotals, Views } from "./views.ts";
import { WebhookHub } from "./webhooks.ts";

export interface ShopifyEmulatorOptions {
  port?: number;
  host?: string;
  seed?: number;
  /** Customers to seed (default 50). */
  customers?: number;
  accessToken?: string;
  rateLimit?: Partial<RateLimitOptions>;
  /** Milliseconds since the epoch; drives the bucket and every timestamp. */
  clock?: () => number;
  /** Random faults (5xx, 429, timeouts, slow answers, writes applied then dropped); see faults.ts. */
  faults?: FaultOptions;
  /** The app's client secret that signs webhook deliveries. */
  webhookSecret?: string;
  /**
   * The access scopes the token holds (currentAppInstallation.accessScopes); default: every scope the
   * emulator's data needs (DEFAULT_SCOPES).
   */
  scopes?: readonly string[];
}

/** Scopes an app syncing products, prices, stock, customers, orders and fulfilments holds. */
export const DEFAULT_SCOPES = [
  "read_products",
  "write_products",
  "read_inventory",
  "write_inventory",
  "read_locations",
  "read_customers",
  "read_orders",
  "read_fulfillments",
  "write_fulfillments",
  "read_merchant_managed_fulfillment_orders",
  "write_merchant_managed_fulfillment_orders",
  "read_publications",
  "read_markets",
  "write_markets",
  "read_price_rules",
] as const;

export interface EmulatorStats {
  calls: number;
  /** Mutations that changed state. */
  writes: number;
  throttled: number;
  costSpent: number;
}

export interface ShopifyEmulator {
  url: string;
  shop: string;
  accessToken: string;
  data: ShopData;
  stats: EmulatorStats;
  /** Bulk mutations: staged uploads, operations and their result files. */
  bulk: BulkOperations;
  resetStats(): void;
  placeOrder(input: PlaceOrderInput): OrderRec;
  /**
   * The merchant refunds an order by name (refundCreate's rules, through the order's gateway): lines by
   * SKU, the shipping left, and the amount they come to unless `amount` is given. Throws with the
   * refusal's messages when Shopify would refuse it.
   */
  refundOrder(orderName: string, spec: RefundSpec): RefundRec;
  /** The next `count` authorised requests fail with `status` (5xx fault injection). */
  failNext(status: number, count?: number): void;
  /** Random fault injection; `faults.configure({ rates })` changes it while running. */
  faults: FaultInjector;
  /** Webhook subscriptions and deliveries (duplicate / reorder / drop faults). */
  webhooks: WebhookHub;
  close(): Promise<void>;
}

const Body = z.object({
  query: z.string(),
  variables: z.record(z.string(), z.unknown()).nullish(),
  operationName: z.string().nullish(),
});

const INVALID_TOKEN = JSON.stringify({
  errors: "[API] Invalid API key or access token (unrecognized login or wrong password)",
});

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  // Shopify names the version that served every Admin API answer.
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "x-shopify-api-version": API_VERSION,
    ...headers,
  });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString("utf8");
}

function sameToken(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The environment variables the repository's passerelle.yaml reads to reach this emulator. */
export function shopifyEmulatorEnv(
  emu: Pick<ShopifyEmulator, "shop" | "accessToken" | "url" | "webhooks">,
): Record<string, string> {
  return {
    SHOPIFY_SHOP: emu.shop,
    SHOPIFY_ACCESS_TOKEN: emu.accessToken,
    SHOPIFY_ENDPOINT: emu.url,
    SHOPIFY_WEBHOOK_SECRET: emu.webhooks.secret,
  };
}

/** The emulated shop's permanent domain: its connection's `shop`, and the X-Shopify-Shop-Domain it sends. */
export const EMULATOR_SHOP = "passerelle-demo.myshopify.com";

export async function startShopifyEmulator(opts: ShopifyEmulatorOptions = {}): Promise<ShopifyEmulator> {
  const clock = opts.clock ?? Date.now;
  const accessToken = opts.accessToken ?? "shpat_emulator_token";
  const data = new ShopData(() => new Date(clock()).toISOString());
  seedShop(data, rng(opts.seed ?? 1), opts.customers ?? 50);
  const views = new Views(data);
  const hub = new WebhookHub(data, opts.webhookSecret ?? "shpss_emulator_webhook_secret", EMULATOR_SHOP);
  let origin = "";
  const bulk: BulkOperations = new BulkOperations(
    () => origin,
    (): unknown => roots.mutation,
    () => new Date(clock()).toISOString(),
  );
  // Products a bulk mutation creates or updates raise their webhooks like any other write.
  bulk.onWrite = () => hub.scan();
  const roots: { query: unknown; mutation: unknown } = {
    query: {
      ...queryRoot(data, views),
      ...bulk.queries(),
      ...hub.queries(),
      currentAppInstallation: {
        id: "gid://shopify/AppInstallation/1",
        accessScopes: (opts.scopes ?? DEFAULT_SCOPES).map((handle) => ({ handle, description: handle })),
      },
    },
    mutation: {
      ...mutationRoot(data, views),
      ...refundMutations(data, views),
      ...bulk.mutations(),
      ...hub.mutations(),
    },
  };
  // Every order, a test's or one placed over HTTP, raises its webhooks as it is placed.
  const place = (input: PlaceOrderInput): OrderRec => {
    const order = placeOrder(data, input);
    hub.scan();
    return order;
  };
  const refundOrder = (orderName: string, spec: RefundSpec): RefundRec => {
    const out = createRefund(data, refundInputFor(data, orderName, spec));
    if (!out.ok)
      throw new Error(`refund of ${orderName}: ${out.userErrors.map((e) => e.message).join("; ")}`);
    hub.scan();
    return out.refund;
  };
  const shopFront = storefront(data, place, (o) => orderTotals(o).total.toFixed(2));
  const bucket = new LeakyBucket({ ...DEFAULT_RATE_LIMIT, ...opts.rateLimit }, clock);
  const stats: EmulatorStats = { calls: 0, writes: 0, throttled: 0, costSpent: 0 };
  const path = `/admin/api/${API_VERSION}/graphql.json`;
  let faults: { status: number; count: number } = { status: 500, count: 0 };
  const injector = new FaultInjector(opts.faults);

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://emulator");
      if (bulk.handle(req, res, url) || shopFront.handle(req, res, url)) return;
      if (req.method !== "POST" || url.pathname !== path) {
        send(res, 404, JSON.stringify({ errors: "Not Found" }));
        return;
      }
      const token = req.headers["x-shopify-access-token"];
      if (!sameToken(typeof token === "string" ? token : undefined, accessToken)) {
        send(res, 401, INVALID_TOKEN);
        return;
      }
      stats.calls += 1;
      if (faults.count > 0) {
        faults.count -= 1;
        send(res, faults.status, JSON.stringify({ errors: "Internal Server Error" }));
        return;
      }
      let parsed: z.infer<typeof Body>;
      try {
        parsed = Body.parse(JSON.parse(await readBody(req)));
      } catch {
        send(res, 400, JSON.stringify({ errors: { query: "Required parameter missing or invalid" } }));
        return;
      }
      const fault = injector.roll(/^\s*mutation\b/.test(parsed.query));
      if (shopifyFaultBefore(fault, injector, res, bucket.opts)) return;
      if (fault === "slow") await sleep(injector.slowMs);
      const answer = runGraphQL(parsed, roots, bucket);
      if (answer.wrote) hub.scan();
      if (fault === "drop" && answer.wrote) {
        dropConnection(req, res);
        return;
      }
      if (answer.throttled) stats.throttled += 1;
      if (answer.wrote) stats.writes += 1;
      stats.costSpent += answer.cost;
      // Since 2025-04 Shopify lists the deprecated schema members a call used in this header.
      const deprecated = [...new Set(answer.deprecated ?? [])];
      send(
        res,
        200,
        JSON.stringify(answer.body),
        deprecated.length > 0 ? { "x-shopify-api-deprecated-reason": deprecated.join(", ") } : {},
      );
    })().catch((err: unknown) => {
      send(
        res,
        500,
        JSON.stringify({ errors: [{ message: err instanceof Error ? err.message : String(err) }] }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === "string")
    throw new Error("the Shopify emulator did not bind a TCP port");
  origin = `http://${opts.host ?? "127.0.0.1"}:${addr.port}`;
  const url = `${origin}${path}`;
  return {
    url,
    shop: EMULATOR_SHOP,
    accessToken,
    data,
    stats,
    bulk,
    resetStats: () => {
      stats.calls = 0;
      stats.writes = 0;
      stats.throttled = 0;
      stats.costSpent = 0;
    },
    placeOrder: place,
    refundOrder,
    webhooks: hub,
    failNext: (status, count = 1) => {
      faults = { status, count };
    },
    faults: injector,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

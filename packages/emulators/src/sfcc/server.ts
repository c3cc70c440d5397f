/**
 * A Salesforce B2C Commerce (SCAPI admin APIs) from memory, behind Salesforce's own OpenAPI documents
 * (contract.ts): every request is checked against them before a handler runs (a violation is a 400) and
 * every answer before it is sent (a violation is recorded in `violations`, which the tests require to stay
 * empty); `checked` counts the distinct operations exercised.
 *
 * Routes are those of the documents' servers on one host (`/product/products/v1/organizations/{org}/…`,
 * `/customer/customers/v1/…`, `/checkout/orders/v1/…`, `/product/catalogs/v1/…`). Auth is Account Manager's
 * OAuth2 client credentials: `POST /dwsso/oauth2/access_token` (grant_type=client_credentials, the client
 * id and secret as HTTP Basic, scope `SALESFORCE_COMMERCE_API:<tenant> …`) answers a bearer token that
 * expires after `tokenTtlS`. That endpoint and the gateway's own answers (401 for a missing or expired
 * token, 429 over the rate limit, 503) are not operations of the documents and are not validated.
 *
 * Rate limit: with `rateLimit`, more than `requests` API calls within `windowMs` get a 429 with
 * Retry-After, as SCAPI's per-client quota answers; faults (odoo/faults.ts) add 429s and 5xx at random.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FaultInjector, type FaultOptions } from "../odoo/faults.ts";
import { type Operation, type SfccContract, sfccContract } from "./contract.ts";
import { SfccData, SfccHttpError } from "./data.ts";
import { handlers, READ_ONLY } from "./handlers.ts";

export interface SfccEmulatorOptions {
  port?: number;
  shortCode?: string;
  organizationId?: string;
  siteId?: string;
  customerListId?: string;
  catalogId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Lifetime of a token (default 1,800 s, as Account Manager's). */
  tokenTtlS?: number;
  customers?: number;
  seed?: number;
  /** At most `requests` API calls per `windowMs`; beyond, a 429 with Retry-After. */
  rateLimit?: { requests: number; windowMs: number };
  faults?: FaultOptions;
  /** Order custom attributes defined in Business Manager. */
  orderAttributes?: string[];
}

export interface SfccEmulator {
  url: string;
  organizationId: string;
  siteId: string;
  customerListId: string;
  catalogId: string;
  clientId: string;
  clientSecret: string;
  data: SfccData;
  contract: SfccContract;
  faults: FaultInjector;
  stats: { requests: number; writes: number; tokens: number; rateLimited: number };
  /** Operations answered, by operationId, with how many times. */
  checked: Map<string, number>;
  violations: string[];
  /** Replaces the rate limit (null: none). */
  setRateLimit(limit: { requests: number; windowMs: number } | null): void;
  /** Makes every issued token expire now. */
  expireTokens(): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export function sfccEmulatorEnv(emu: SfccEmulator): Record<string, string> {
  return {
    SFCC_BASE_URL: emu.url,
    SFCC_TOKEN_URL: `${emu.url}/dwsso/oauth2/access_token`,
    SFCC_ORGANIZATION_ID: emu.organizationId,
    SFCC_SITE_ID: emu.siteId,
    SFCC_CATALOG_ID: emu.catalogId,
    SFCC_CLIENT_ID: emu.clientId,
    SFCC_CLIENT_SECRET: emu.clientSecret,
  };
}

export async function startSfccEmulator(opts: SfccEmulatorOptions = {}): Promise<SfccEmulator> {
  const contract = sfccContract();
  const organizationId = opts.organizationId ?? "f_ecom_zzte_001";
  const tenant = organizationId.replace(/^f_ecom_/, "");
  const siteId = opts.siteId ?? "RefArch";
  const customerListId = opts.customerListId ?? siteId;
  const catalogId = opts.catalogId ?? "storefront-catalog";
  const clientId = opts.clientId ?? "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
  const clientSecret = opts.clientSecret ?? "emulator-client-secret-0123456789";
  const ttl = opts.tokenTtlS ?? 1_800;
  const data = new SfccData(siteId, customerListId, catalogId);
  for (const a of opts.orderAttributes ?? []) data.orderAttributes.add(a);
  data.seedCustomers(opts.customers ?? 0, opts.seed ?? 1);
  const faults = new FaultInjector(opts.faults ?? {});
  const checked = new Map<string, number>();
  const violations: string[] = [];
  const stats = { requests: 0, writes: 0, tokens: 0, rateLimited: 0 };
  const tokens = new Map<string, number>();
  let rateLimit = opts.rateLimit ?? null;
  let window: number[] = [];
  let tokenSeq = 0;

  const raw = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(body === undefined ? "" : JSON.stringify(body));
  };
  const send = (res: ServerResponse, op: Operation, status: number, body: unknown) => {
    for (const p of contract.checkResponse(op, status, body)) violations.push(`answer: ${p}`);
    if (status === 204) {
      res.writeHead(204);
      res.end();
      return;
    }
    raw(res, status, body);
  };

  const token = (res: ServerResponse, req: IncomingMessage, text: string) => {
    const form = new URLSearchParams(text);
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const [id, secret] = basic
      ? Buffer.from(basic, "base64").toString("utf8").split(/:(.*)/s)
      : [form.get("client_id"), form.get("client_secret")];
    if (form.get("grant_type") !== "client_credentials")
      return raw(res, 400, {
        error: "unsupported_grant_type",
        error_description: "grant_type must be client_credentials",
      });
    if (id !== clientId || secret !== clientSecret)
      return raw(res, 401, { error: "invalid_client", error_description: "Client authentication failed" });
    const scope = form.get("scope") ?? "";
    if (!scope.split(/\s+/).includes(`SALESFORCE_COMMERCE_API:${tenant}`))
      return raw(res, 400, {
        error: "invalid_scope",
        error_description: `the scope must name the tenant: SALESFORCE_COMMERCE_API:${tenant}`,
      });
    tokenSeq += 1;
    stats.tokens += 1;
    const t = `emu-am-token-${tokenSeq}-${Math.random().toString(36).slice(2)}`;
    tokens.set(t, Date.now() + ttl * 1000);
    raw(res, 200, { access_token: t, scope, token_type: "Bearer", expires_in: ttl });
  };

  const server = createServer(async (req, res) => {
    stats.requests++;
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = (req.method ?? "GET").toUpperCase();
    const text = await readBody(req);
    if (url.pathname === "/dwsso/oauth2/access_token" && method === "POST") return token(res, req, text);
    if (rateLimit) {
      const now = Date.now();
      window = window.filter((t) => t > now - rateLimit!.windowMs);
      if (window.length >= rateLimit.requests) {
        stats.rateLimited++;
        const wait = Math.max(1, Math.ceil(((window[0] ?? now) + rateLimit.windowMs - now) / 1000));
        return raw(
          res,
          429,
          { title: "Too Many Requests", detail: "The client's request quota is exceeded." },
          { "retry-after": String(wait) },
        );
      }
      window.push(now);
    }
    const fault = faults.roll(method !== "GET");
    if (fault === "429") {
      stats.rateLimited++;
      return raw(
        res,
        429,
        { title: "Too Many Requests", detail: "Rate limit exceeded." },
        { "retry-after": String(faults.retryAfterS) },
      );
    }
    if (fault === "5xx")
      return raw(
        res,
        503,
        { title: "Service Unavailable", detail: "Try again later." },
        { "retry-after": "1" },
      );
    let body: unknown;
    if (text.trim() !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        return raw(res, 400, { title: "Malformed JSON", detail: "The request body is not valid JSON." });
      }
    }
    const verdict = contract.checkRequest({ method, path: url.pathname, query: url.searchParams, body });
    const op = verdict.operation;
    if (!op) {
      violations.push(`request: ${verdict.violations.join("; ")}`);
      return raw(res, 404, { title: "Not Found", detail: "No such resource." });
    }
    checked.set(op.id, (checked.get(op.id) ?? 0) + 1);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const expires = bearer ? tokens.get(bearer) : undefined;
    if (expires === undefined || expires <= Date.now())
      return raw(res, 401, {
        title: "Unauthorized",
        detail: "The access token is missing, invalid or expired.",
      });
    if (verdict.violations.length > 0) {
      // The refusal itself is the documents' rule, not one of the operation's answers: it is not checked.
      for (const v of verdict.violations) violations.push(`request: ${v}`);
      return raw(res, 400, { title: "Bad Request", detail: verdict.violations[0] });
    }
    if (op.params.organizationId !== organizationId)
      return send(res, op, 404, {
        title: "Not Found",
        detail: `No organization '${op.params.organizationId}'.`,
      });
    const handler = handlers[op.id];
    if (!handler)
      return send(res, op, 400, {
        title: "Bad Request",
        detail: `${op.id} is in the documents but this emulator does not serve it`,
      });
    try {
      const answer = handler(data, { params: op.params, query: url.searchParams, body });
      if (!READ_ONLY.has(op.id)) stats.writes++;
      send(res, op, answer.status, answer.body);
    } catch (err) {
      if (err instanceof SfccHttpError) send(res, op, err.status, err.body);
      else
        raw(res, 500, {
          title: "Internal Server Error",
          detail: err instanceof Error ? err.message : String(err),
        });
    }
  });
  await new Promise<void>((ok) => server.listen(opts.port ?? 0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    organizationId,
    siteId,
    customerListId,
    catalogId,
    clientId,
    clientSecret,
    data,
    contract,
    faults,
    stats,
    checked,
    violations,
    setRateLimit(limit) {
      rateLimit = limit;
      window = [];
    },
    expireTokens() {
      for (const k of tokens.keys()) tokens.set(k, 0);
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/**
 * A BigCommerce REST management API (v2 and v3) from memory, behind BigCommerce's own OpenAPI documents
 * (contract.ts): every request is checked against them before a handler runs (a violation is a 400, named)
 * and every answer is checked before it is sent (a violation is recorded in `violations`, which the tests
 * require to stay empty). `checked` counts the operations exercised.
 *
 * Routes are `/stores/<store hash>/v2|v3/...`; auth is the store API token in `X-Auth-Token`. The store's
 * rate quota is modelled as BigCommerce publishes it: `quota` requests per `windowMs` window, each answer
 * carrying X-Rate-Limit-Requests-Quota, -Requests-Left, -Time-Window-Ms and -Time-Reset-Ms; a request over
 * the quota gets a 429 with the same headers (and no Retry-After: the reset header says when).
 *
 * Webhooks: `deliver(scope, data)` posts the thin payload BigCommerce sends to every active subscription of
 * that scope, signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature over
 * `id.timestamp.body` with the app's client secret) by the `standardwebhooks` library.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { FaultInjector, type FaultOptions } from "../odoo/faults.ts";
import { type BigCommerceContract, bigcommerceContract, type Operation } from "./contract.ts";
import { BigCommerceData } from "./data.ts";
import { HttpError, handlers, isRead } from "./handlers.ts";

export interface BigCommerceEmulatorOptions {
  port?: number;
  storeHash?: string;
  token?: string;
  /** The app's client secret webhook deliveries are signed with. */
  clientSecret?: string;
  customers?: number;
  seed?: number;
  /** Requests per window (default 150, the Standard plan's; Plus 150, Pro 450). */
  quota?: number;
  windowMs?: number;
  faults?: FaultOptions;
}

export interface BigCommerceEmulator {
  url: string;
  /** The API base a connection is configured with: `<url>/stores/<hash>/`. */
  apiBase: string;
  storeHash: string;
  token: string;
  clientSecret: string;
  data: BigCommerceData;
  contract: BigCommerceContract;
  faults: FaultInjector;
  stats: { requests: number; writes: number; throttled: number };
  checked: Map<string, number>;
  violations: string[];
  /** Changes the quota (and restarts the window). */
  setQuota(quota: number, windowMs?: number): void;
  /** Posts a signed delivery of `scope` to every active subscription; returns the HTTP statuses. */
  deliver(scope: string, data: Record<string, unknown>): Promise<number[]>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export function bigcommerceEmulatorEnv(
  emu: Pick<BigCommerceEmulator, "apiBase" | "token" | "clientSecret">,
): Record<string, string> {
  return {
    BIGCOMMERCE_API_URL: emu.apiBase,
    BIGCOMMERCE_TOKEN: emu.token,
    BIGCOMMERCE_CLIENT_SECRET: emu.clientSecret,
  };
}

export async function startBigCommerceEmulator(
  opts: BigCommerceEmulatorOptions = {},
): Promise<BigCommerceEmulator> {
  const contract = bigcommerceContract();
  const data = new BigCommerceData();
  data.seedCustomers(opts.customers ?? 0, opts.seed ?? 1);
  const storeHash = opts.storeHash ?? "emu1abc2";
  const token = opts.token ?? "bc-store-api-token-0123456789";
  const clientSecret = opts.clientSecret ?? "bc-app-client-secret-0123456789";
  const faults = new FaultInjector(opts.faults ?? {});
  const checked = new Map<string, number>();
  const violations: string[] = [];
  const stats = { requests: 0, writes: 0, throttled: 0 };
  let quota = opts.quota ?? 150;
  let windowMs = opts.windowMs ?? 30_000;
  let windowStart = Date.now();
  let used = 0;

  const limits = (): Record<string, string> => {
    const now = Date.now();
    if (now - windowStart >= windowMs) {
      windowStart = now;
      used = 0;
    }
    return {
      "x-rate-limit-requests-quota": String(quota),
      "x-rate-limit-requests-left": String(Math.max(0, quota - used)),
      "x-rate-limit-time-window-ms": String(windowMs),
      "x-rate-limit-time-reset-ms": String(Math.max(0, windowMs - (now - windowStart))),
    };
  };

  const send = (
    res: ServerResponse,
    op: Operation | null,
    status: number,
    body: unknown,
    headers: Record<string, string>,
  ) => {
    if (op) for (const p of contract.checkResponse(op, status, body)) violations.push(`answer: ${p}`);
    const text = body === undefined || status === 204 ? "" : JSON.stringify(body);
    res.writeHead(status, { ...headers, ...(text ? { "content-type": "application/json" } : {}) });
    res.end(text);
  };

  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      violations.push(`emulator: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: 500, title: "emulator failure", type: "about:blank" }));
    });
  });
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = (req.method ?? "GET").toUpperCase();
    const raw = await readBody(req);
    if (req.headers["x-auth-token"] !== token) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: 401, title: "Unauthorized", type: "about:blank" }));
      return;
    }
    let headers = limits();
    used++;
    if (used > quota) {
      stats.throttled++;
      headers = { ...headers, "x-rate-limit-requests-left": "0" };
      res.writeHead(429, { ...headers, "content-type": "application/json" });
      res.end(JSON.stringify({ status: 429, title: "Too many requests", type: "about:blank" }));
      return;
    }
    headers["x-rate-limit-requests-left"] = String(Math.max(0, quota - used));
    const fault = faults.roll(method !== "GET");
    if (fault === "429") {
      stats.throttled++;
      res.writeHead(429, {
        ...headers,
        "x-rate-limit-requests-left": "0",
        "x-rate-limit-time-reset-ms": String(faults.retryAfterS * 1000),
        "content-type": "application/json",
      });
      res.end(JSON.stringify({ status: 429, title: "Too many requests", type: "about:blank" }));
      return;
    }
    if (fault === "5xx") {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: 503, title: "Service Unavailable", type: "about:blank" }));
      return;
    }
    let body: unknown;
    if (raw.trim() !== "") {
      try {
        body = JSON.parse(raw);
      } catch {
        send(
          res,
          null,
          400,
          { status: 400, title: "The request body is not valid JSON", type: "about:blank" },
          headers,
        );
        return;
      }
    }
    const verdict = contract.checkRequest({
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
    });
    const op = verdict.operation;
    if (!op) {
      violations.push(`request: ${verdict.violations.join("; ")}`);
      send(res, null, 404, { status: 404, title: "Not found", type: "about:blank" }, headers);
      return;
    }
    if (verdict.storeHash !== storeHash) {
      send(
        res,
        op,
        404,
        { status: 404, title: `No store ${verdict.storeHash ?? ""}`, type: "about:blank" },
        headers,
      );
      return;
    }
    checked.set(op.id, (checked.get(op.id) ?? 0) + 1);
    if (verdict.violations.length > 0) {
      for (const v of verdict.violations) violations.push(`request: ${v}`);
      res.writeHead(400, { ...headers, "content-type": "application/json" });
      res.end(
        JSON.stringify({
          status: 400,
          title: verdict.violations[0] ?? "invalid request",
          type: "about:blank",
          errors: Object.fromEntries(verdict.violations.map((v, i) => [String(i), v])),
        }),
      );
      return;
    }
    const handler = handlers[op.id];
    if (!handler) {
      send(
        res,
        op,
        501,
        {
          status: 501,
          title: `${op.id} is in the documents but this emulator does not serve it`,
          type: "about:blank",
        },
        headers,
      );
      return;
    }
    try {
      const answer = handler(data, { params: op.params, query: url.searchParams, body });
      if (!isRead(op.id)) stats.writes++;
      send(res, op, answer.status ?? 200, answer.body, headers);
    } catch (err) {
      if (err instanceof HttpError) send(res, op, err.status, err.body, headers);
      else
        send(
          res,
          op,
          500,
          { status: 500, title: err instanceof Error ? err.message : String(err), type: "about:blank" },
          headers,
        );
    }
  };
  await new Promise<void>((ok) => server.listen(opts.port ?? 0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const signer = new Webhook(Buffer.from(clientSecret, "utf8").toString("base64"));
  let delivery = 0;
  return {
    url,
    apiBase: `${url}/stores/${storeHash}/`,
    storeHash,
    token,
    clientSecret,
    data,
    contract,
    faults,
    stats,
    checked,
    violations,
    setQuota(q, w) {
      quota = q;
      if (w !== undefined) windowMs = w;
      windowStart = Date.now();
      used = 0;
    },
    async deliver(scope, payloadData) {
      const out: number[] = [];
      for (const h of data.hooks.values()) {
        if (
          !h.is_active ||
          (h.scope !== scope && !(h.scope.endsWith("/*") && scope.startsWith(h.scope.slice(0, -1))))
        )
          continue;
        const createdAt = Math.floor(Date.now() / 1000);
        const body = JSON.stringify({
          created_at: createdAt,
          store_id: "1025646",
          producer: `stores/${storeHash}`,
          scope,
          hash: createHash("sha1")
            .update(`${scope}:${JSON.stringify(payloadData)}`)
            .digest("hex"),
          data: payloadData,
        });
        const id = `msg_${++delivery}`;
        const at = new Date();
        const signature = signer.sign(id, at, body);
        const res = await fetch(h.destination, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "webhook-id": id,
            "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
            "webhook-signature": signature,
            ...(h.headers ?? {}),
          },
          body,
        });
        out.push(res.status);
      }
      return out;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/**
 * An in-process Odoo (17.0) speaking the legacy JSON-RPC external API at POST /jsonrpc, the web session
 * login at POST /web/session/authenticate, and the invoice PDF at GET /report/pdf/account.report_invoice/<id>.
 *
 * The PDF route, like real Odoo, wants a web session cookie (obtained from /web/session/authenticate);
 * the emulator also accepts HTTP basic auth with the same login and password, which real Odoo does not.
 *
 * Timestamps have Odoo's second precision, so many records share one write_date: readers must page on
 * (write_date, id). `data.freeze(ts)` pins the clock so tests can make that happen on purpose.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import type { OdooDb } from "./db.ts";
import { accessDenied, OdooException, rpcErrorBody } from "./errors.ts";
import {
  dropConnection,
  FaultInjector,
  type FaultOptions,
  odooCallIsWrite,
  odooFaultBefore,
  sleep,
} from "./faults.ts";
import { RequestLimiter, type RequestLimitOptions } from "./limit.ts";
import { buildModels, invoiceOrder, payInvoice, refundOrder } from "./models.ts";
import { buildPdf } from "./pdf.ts";
import { type AccessOp, type Credentials, checkLogin, dispatch, type RpcStats } from "./rpc.ts";
import { type SeedRefs, seed, seedFresh } from "./seed.ts";

export interface OdooEmulatorOptions {
  port?: number;
  host?: string;
  seed?: number;
  /** Product templates to seed (default 500; use ~20 for fast tests). */
  products?: number;
  customers?: number;
  /** Historical confirmed sales to seed (some shipped, some invoiced). */
  orders?: number;
  db?: string;
  login?: string;
  password?: string;
  /**
   * Per model, the access rights (read, write, create, unlink) the user's groups lack, as on a real Odoo
   * whose user is no administrator: check_access_rights answers false (or raises AccessError), and every call
   * needing the right raises AccessError. Default: none (an administrator).
   */
  denied?: Record<string, readonly AccessOp[]>;
  /**
   * Start as a fresh Odoo 17 database (the real kit's template: USD, one 15 % tax, warehouse WH) instead of
   * a seeded shop; products, customers and orders are then ignored.
   */
  fresh?: boolean;
  /** Random faults (5xx, 429, timeouts, slow answers, writes applied then dropped); see faults.ts. */
  faults?: FaultOptions;
  /** A request budget (429 beyond it) and added latency; see limit.ts. */
  requestLimit?: RequestLimitOptions;
}

export interface OdooEmulator {
  url: string;
  db: string;
  login: string;
  password: string;
  /** The in-memory database: `data.search/read/create/write`, `data.freeze(ts)` to pin the clock. */
  data: OdooDb;
  refs: SeedRefs;
  stats: RpcStats;
  resetStats(): void;
  /** Writes through the same path as an RPC `write`, so write_date moves. */
  touch(model: string, id: number, vals?: Record<string, unknown>): void;
  invoiceOrder(saleOrderId: number): number;
  /** Registers a full payment of a posted invoice: payment_state "paid" (or "in_payment", not yet reconciled). */
  payInvoice(invoiceId: number, state?: "paid" | "in_payment"): void;
  /** Posts a credit note of `amount` against a sale. */
  refundOrder(saleOrderId: number, amount: number): number;
  /** Rotates the user's password, as an admin would; clients holding the old one get AccessDenied. */
  changePassword(password: string): void;
  /** The next `count` HTTP requests fail with `status` (default 502), before reaching Odoo. */
  failNext(count: number, status?: number): void;
  /** The next `count` HTTP requests are never answered (until close), to exercise client timeouts. */
  hangNext(count: number): void;
  /** Random fault injection; `faults.configure({ rates })` changes it while running. */
  faults: FaultInjector;
  /** The request budget and latency; `limiter.configure({ perSecond, delayMs })`, `limiter.stats`. */
  limiter: RequestLimiter;
  close(): Promise<void>;
}

const RpcRequest = z.object({
  jsonrpc: z.literal("2.0").optional(),
  method: z.string(),
  params: z.record(z.string(), z.unknown()).default({}),
  id: z.union([z.string(), z.number(), z.null()]).optional(),
});

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function rpcReply(id: unknown, run: () => unknown): unknown {
  try {
    const result = run();
    // Odoo leaves `result` out of the answer when the method returned None.
    return result === undefined || result === null ? { jsonrpc: "2.0", id } : { jsonrpc: "2.0", id, result };
  } catch (err) {
    const e = err instanceof OdooException ? err : new OdooException("builtins.Exception", String(err));
    return { jsonrpc: "2.0", id, error: rpcErrorBody(e) };
  }
}

/** The environment variables the repository's passerelle.yaml reads to reach this emulator. */
export function odooEmulatorEnv(
  emu: Pick<OdooEmulator, "url" | "db" | "login" | "password">,
): Record<string, string> {
  return { ODOO_URL: emu.url, ODOO_DB: emu.db, ODOO_USER: emu.login, ODOO_PASSWORD: emu.password };
}

export async function startOdooEmulator(opts: OdooEmulatorOptions = {}): Promise<OdooEmulator> {
  const orm = buildModels();
  const creds: Credentials = {
    db: opts.db ?? "odoo",
    login: opts.login ?? "admin",
    password: opts.password ?? "admin",
    uid: 2,
    ...(opts.denied ? { denied: opts.denied } : {}),
  };
  orm.create("res.users", { name: "Administrator", login: creds.login });
  const refs = opts.fresh
    ? seedFresh(orm)
    : seed(orm, {
        seed: opts.seed ?? 1,
        products: opts.products ?? 500,
        customers: opts.customers ?? 50,
        orders: opts.orders ?? 24,
      });
  const stats: RpcStats = { calls: 0, writes: 0, byMethod: {} };
  const sessions = new Set<string>();
  let failing = { count: 0, status: 502 };
  let hanging = 0;
  const faults = new FaultInjector(opts.faults);
  const limiter = new RequestLimiter(opts.requestLimit);

  const authorisedForReport = (req: IncomingMessage): boolean => {
    const cookie = /(?:^|;\s*)session_id=([0-9a-f]+)/.exec(req.headers.cookie ?? "");
    if (cookie?.[1] && sessions.has(cookie[1])) return true;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
    if (!basic?.[1]) return false;
    const decoded = Buffer.from(basic[1], "base64").toString("utf8");
    const sep = decoded.indexOf(":");
    return checkLogin(creds, creds.db, decoded.slice(0, sep), decoded.slice(sep + 1)) !== false;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (hanging > 0) {
      hanging--;
      return;
    }
    if (failing.count > 0) {
      failing.count--;
      res.writeHead(failing.status, { "content-type": "text/html" });
      res.end(`<html><body><h1>${failing.status}</h1>upstream unavailable</body></html>`);
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    if (
      req.method === "POST" &&
      (url.pathname === "/jsonrpc" || url.pathname === "/web/session/authenticate")
    ) {
      const text = await readBody(req);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        sendJson(res, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
        return;
      }
      const parsed = RpcRequest.safeParse(json);
      if (!parsed.success) {
        sendJson(res, { jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid Request" } });
        return;
      }
      const { params, id } = parsed.data;
      if (!limiter.admit()) {
        res.writeHead(429, { "content-type": "text/html", "retry-after": "1" });
        res.end("<html><body><h1>429 Too Many Requests</h1></body></html>");
        return;
      }
      if (limiter.delayMs > 0) await sleep(limiter.delayMs);
      const fault = faults.roll(odooCallIsWrite(params));
      if (odooFaultBefore(fault, faults, res)) return;
      if (fault === "slow") await sleep(faults.slowMs);
      if (url.pathname === "/web/session/authenticate") {
        const uid = checkLogin(creds, params.db, params.login, params.password);
        if (uid === false) {
          sendJson(
            res,
            rpcReply(id ?? null, () => {
              throw accessDenied();
            }),
          );
          return;
        }
        const sid = randomBytes(20).toString("hex");
        sessions.add(sid);
        sendJson(
          res,
          { jsonrpc: "2.0", id: id ?? null, result: { uid, db: creds.db, username: creds.login } },
          {
            "set-cookie": `session_id=${sid}; HttpOnly; Path=/; SameSite=Lax`,
          },
        );
        return;
      }
      const service = typeof params.service === "string" ? params.service : "";
      const method = typeof params.method === "string" ? params.method : "";
      const args = Array.isArray(params.args) ? params.args : [];
      const reply = rpcReply(id ?? null, () => dispatch(orm, creds, stats, service, method, args));
      if (fault === "drop") dropConnection(req, res);
      else sendJson(res, reply);
      return;
    }
    const report = /^\/report\/pdf\/account\.report_invoice\/(\d+)$/.exec(url.pathname);
    if (req.method === "GET" && report) {
      if (!authorisedForReport(req)) {
        res.writeHead(303, { location: `/web/login?redirect=${encodeURIComponent(url.pathname)}` });
        res.end();
        return;
      }
      stats.calls++;
      stats.byMethod["report.account.report_invoice"] =
        (stats.byMethod["report.account.report_invoice"] ?? 0) + 1;
      const move = orm.row("account.move", Number(report[1]));
      if (move?.move_type !== "out_invoice") {
        res.writeHead(404, { "content-type": "text/html" });
        res.end("<html><body>Record not found</body></html>");
        return;
      }
      const currency =
        typeof move.currency_id === "number" ? orm.displayName("res.currency", move.currency_id) : "";
      const partner =
        typeof move.partner_id === "number" ? orm.displayName("res.partner", move.partner_id) : "";
      const total = typeof move.amount_total === "number" ? move.amount_total.toFixed(2) : "0.00";
      const pdf = buildPdf([
        `Invoice ${String(move.name)}`,
        `Date: ${String(move.invoice_date)}`,
        `Customer: ${partner}`,
        `Source: ${String(move.invoice_origin || "")}`,
        `Total: ${total} ${currency}`,
      ]);
      res.writeHead(200, {
        "content-type": "application/pdf",
        "content-length": pdf.length,
        "content-disposition": `inline; filename="${String(move.name).replace(/\//g, "_")}.pdf"`,
      });
      res.end(pdf);
      return;
    }
    res.writeHead(404, { "content-type": "text/html" });
    res.end("<html><body>404: Not Found</body></html>");
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;

  const emulator: OdooEmulator = {
    url: `http://${host}:${addr.port}`,
    db: creds.db,
    login: creds.login,
    password: creds.password,
    data: orm,
    refs,
    stats,
    resetStats() {
      stats.calls = 0;
      stats.writes = 0;
      stats.byMethod = {};
    },
    touch(model, id, vals) {
      const row = orm.row(model, id);
      if (!row) throw new Error(`touch: ${model}(${id}) does not exist`);
      orm.transaction(() => orm.write(model, [id], vals ?? {}));
    },
    invoiceOrder: (id) => invoiceOrder(orm, id),
    payInvoice: (id, state) => payInvoice(orm, id, state),
    refundOrder: (id, amount) => refundOrder(orm, id, amount),
    changePassword(password) {
      creds.password = password;
      emulator.password = password;
    },
    failNext(count, status = 502) {
      failing = { count, status };
    },
    hangNext(count) {
      hanging = count;
    },
    faults,
    limiter,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return emulator;
}

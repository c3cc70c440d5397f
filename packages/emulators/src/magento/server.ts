/**
 * A Magento 2.4 / Adobe Commerce admin REST API from memory, behind Adobe's own OpenAPI document
 * (contract.ts): every request is checked against the document before a handler runs (a violation is a
 * 400, as Magento's input processor answers) and every answer is checked before it is sent (a violation is
 * recorded in `violations`, which the tests require to stay empty). `checked` counts the operations
 * exercised. Routes are `/rest/<store code>/V1/...`; `all` is the global scope, a store view's code its own
 * scope, none the default store view. Auth is an integration token sent as `Authorization: Bearer`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FaultInjector, type FaultOptions } from "../odoo/faults.ts";
import { type MagentoContract, magentoContract, type Operation } from "./contract.ts";
import { MagentoData, magentoTime } from "./data.ts";
import { acceptBulk, HttpError, handlers, type Scope } from "./handlers.ts";

export interface MagentoEmulatorOptions {
  port?: number;
  /** The integration's access token (default: a fixed test token). */
  token?: string;
  customers?: number;
  seed?: number;
  faults?: FaultOptions;
}

export interface MagentoEmulator {
  url: string;
  token: string;
  data: MagentoData;
  contract: MagentoContract;
  faults: FaultInjector;
  stats: { requests: number; writes: number };
  /** Operations answered, by operationId, with how many times. */
  checked: Map<string, number>;
  /** Every request or answer that broke the document, with the operation and what broke. */
  violations: string[];
  close(): Promise<void>;
}

const READ_OPS = /^Get|information$/;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The emulator's test credentials, as environment variables for a passerelle.yaml. */
export function magentoEmulatorEnv(emu: Pick<MagentoEmulator, "url" | "token">): Record<string, string> {
  return { MAGENTO_URL: emu.url, MAGENTO_TOKEN: emu.token };
}

export async function startMagentoEmulator(opts: MagentoEmulatorOptions = {}): Promise<MagentoEmulator> {
  const contract = magentoContract();
  const data = new MagentoData();
  data.seedCustomers(opts.customers ?? 0, opts.seed ?? 1);
  const token = opts.token ?? "magento-integration-token-0123456789";
  const faults = new FaultInjector(opts.faults ?? {});
  const checked = new Map<string, number>();
  const violations: string[] = [];
  const stats = { requests: 0, writes: 0 };

  const send = (res: ServerResponse, op: Operation | null, status: number, body: unknown) => {
    if (op) {
      const problems = contract.checkResponse(op, status, body);
      for (const p of problems) violations.push(`answer: ${p}`);
    }
    const text = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
    res.end(text);
  };

  const server = createServer(async (req, res) => {
    stats.requests++;
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = (req.method ?? "GET").toUpperCase();
    const fault = faults.roll(method !== "GET");
    if (fault === "429") {
      res.writeHead(429, { "content-type": "application/json", "retry-after": String(faults.retryAfterS) });
      res.end(JSON.stringify({ message: "Too many requests" }));
      return;
    }
    if (fault === "5xx") {
      res.writeHead(503, { "content-type": "application/json", "retry-after": "1" });
      res.end(JSON.stringify({ message: "Service temporarily unavailable" }));
      return;
    }
    const raw = await readBody(req);
    let body: unknown;
    if (raw.trim() !== "") {
      try {
        body = JSON.parse(raw);
      } catch {
        send(res, null, 400, { message: "Decoding error: the request body is not valid JSON" });
        return;
      }
    }
    const verdict = contract.checkRequest({ method, path: url.pathname, query: url.searchParams, body });
    const op = verdict.operation;
    if (!op) {
      send(res, null, 404, { message: "Request does not match any route." });
      violations.push(`request: ${verdict.violations.join("; ")}`);
      return;
    }
    checked.set(op.id, (checked.get(op.id) ?? 0) + 1);
    if (verdict.violations.length > 0) {
      for (const v of verdict.violations) violations.push(`request: ${v}`);
      send(res, op, 400, { message: verdict.violations[0] ?? "invalid request" });
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      send(res, op, 401, {
        message: "The consumer isn't authorized to access %resources.",
        parameters: [{ resources: "Magento_Backend::admin" }],
      });
      return;
    }
    const store = verdict.store ?? "default";
    const view = store === "all" ? data.storeViews[0] : data.storeViews.find((s) => s.code === store);
    if (!view) {
      send(res, op, 400, {
        message: `The store that was requested wasn't found. Verify the store and try again.`,
      });
      return;
    }
    const handler = handlers[op.id];
    if (!handler) {
      send(res, op, 400, { message: `${op.id} is in the document but this emulator does not serve it` });
      return;
    }
    const scope: Scope = { storeId: view.id, all: store === "all", now: magentoTime() };
    try {
      const isWrite = !READ_OPS.test(op.id);
      const call = { params: op.params, query: url.searchParams, body, scope, bulk: op.bulk };
      const answer = op.bulk ? acceptBulk(data, op.id, call) : handler(data, call);
      if (isWrite) stats.writes++;
      send(res, op, op.bulk ? 202 : 200, answer);
    } catch (err) {
      if (err instanceof HttpError) send(res, op, err.status, err.body);
      else send(res, op, 500, { message: err instanceof Error ? err.message : String(err) });
    }
  });
  await new Promise<void>((ok) => server.listen(opts.port ?? 0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    data,
    contract,
    faults,
    stats,
    checked,
    violations,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

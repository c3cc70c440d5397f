/**
 * An HTTP proxy in front of an emulator for tests that need one particular JSON-RPC call to fail, hang or
 * wait: the emulator's own fault injection rolls a die per request and cannot pick a call.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface ProxiedCall {
  /** 1 for the first request the proxy received. */
  seq: number;
  path: string;
  /** For Odoo's `execute_kw`: the model, the method and its positional arguments. */
  model?: string;
  method?: string;
  args?: unknown[];
  /** Settles when the client closes the connection before the proxy answered (it gave up). */
  abandoned: Promise<void>;
}

/** What the proxy answers instead of forwarding. */
export interface ProxyAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export type ProxyHook = (
  call: ProxiedCall,
) => ProxyAnswer | undefined | Promise<ProxyAnswer | undefined | "hang">;

export interface RpcProxy {
  url: string;
  calls: ProxiedCall[];
  /** Requests received and not yet answered. */
  inFlight: number;
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function describe(path: string, raw: Buffer): Pick<ProxiedCall, "model" | "method" | "args"> {
  try {
    const args = (JSON.parse(raw.toString("utf8")) as { params?: { args?: unknown[] } }).params?.args;
    if (path !== "/jsonrpc" || !Array.isArray(args) || typeof args[3] !== "string") return {};
    return { model: args[3], method: String(args[4]), args: Array.isArray(args[5]) ? args[5] : [] };
  } catch {
    return {};
  }
}

/** Forwards every request to `target` unless `hook` answers it (or returns "hang": no answer at all). */
export async function startRpcProxy(target: string, hook: ProxyHook = () => undefined): Promise<RpcProxy> {
  const calls: ProxiedCall[] = [];
  const proxy: RpcProxy = { url: "", calls, inFlight: 0, close: async () => undefined };
  const server = createServer((req, res) => {
    proxy.inFlight++;
    let answered = false;
    // Out of flight once answered (the client cannot send its next request before that) or abandoned.
    const answer = (): void => {
      if (answered) return;
      answered = true;
      proxy.inFlight--;
    };
    const abandoned = new Promise<void>((resolve) =>
      res.on("close", () => {
        if (!answered) resolve();
        answer();
      }),
    );
    void (async () => {
      const raw = await body(req);
      const path = new URL(req.url ?? "/", "http://proxy").pathname;
      const call: ProxiedCall = { seq: calls.length + 1, path, ...describe(path, raw), abandoned };
      calls.push(call);
      const reply = await hook(call);
      if (reply === "hang") return;
      if (reply) {
        answer();
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? "");
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      delete headers.host;
      delete headers["content-length"];
      const forwarded = await fetch(`${target}${req.url ?? "/"}`, {
        method: req.method ?? "GET",
        headers,
        ...(req.method === "POST" ? { body: new Uint8Array(raw) } : {}),
        redirect: "manual",
      });
      const out = Buffer.from(await forwarded.arrayBuffer());
      answer();
      const back: Record<string, string> = {};
      forwarded.headers.forEach((v, k) => {
        if (k !== "content-length" && k !== "content-encoding" && k !== "transfer-encoding") back[k] = v;
      });
      res.writeHead(forwarded.status, back);
      res.end(out);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

/** Resolves once `cond` holds, checking at every turn of the event loop; fails after `limitMs` saying what. */
export async function until(what: string, cond: () => boolean, limitMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > limitMs) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * An HTTP proxy in front of a real Vendure, for the crash tests: Passerelle talks to the proxy, the proxy
 * forwards every request to Vendure. Armed with a cut, it stops at the Nth answer to one Admin API field
 * (`createProduct`, `createChannel`…): it runs the cut's action (the test SIGKILLs the CLI there) and never
 * delivers that answer. Vendure has done the write; Passerelle never learnt it. That is the window a crash
 * leaves, hit every time rather than by luck.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Cut {
  /** The operation's first root field, e.g. `createProduct`. */
  field: string;
  /** Which answer to that field (1 = the first since the cut was armed). */
  nth: number;
  /** Runs once the Nth answer is back from Vendure, before anything of it reaches the client. */
  action: () => void;
}

export interface VendureProxy {
  url: string;
  /** Root fields answered since the last `arm`, in order. */
  readonly answered: string[];
  /** Sets the cut (null: forward everything) and starts counting afresh. */
  arm(cut: Cut | null): void;
  /** Whether the armed cut has happened. */
  fired(): boolean;
  close(): Promise<void>;
}

/** The first root field of a GraphQL document: `mutation M($x: T!) { createProduct(…` → `createProduct`. */
export function rootField(query: string): string | null {
  return /^[^{]*\{\s*(\w+)/.exec(query)?.[1] ?? null;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "content-encoding",
  "host",
]);

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startVendureProxy(target: string): Promise<VendureProxy> {
  let cut: Cut | null = null;
  let count = 0;
  let fired = false;
  const answered: string[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const payload = await body(req);
    let field: string | null = null;
    try {
      field = rootField(String((JSON.parse(payload.toString("utf8")) as { query?: unknown }).query ?? ""));
    } catch {
      // not a GraphQL POST: forwarded as it is
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(k) && typeof v === "string") headers[k] = v;
    }
    const answer = await fetch(`${target}${req.url ?? "/"}`, {
      method: req.method ?? "GET",
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : new Uint8Array(payload),
    });
    const text = Buffer.from(await answer.arrayBuffer());
    if (fired) {
      // The client was killed; nothing more reaches it.
      req.socket.destroy();
      return;
    }
    if (field !== null) answered.push(field);
    if (cut && field === cut.field && ++count === cut.nth) {
      fired = true;
      cut.action();
      req.socket.destroy();
      return;
    }
    const out: Record<string, string> = {};
    answer.headers.forEach((v, k) => {
      if (!HOP_BY_HOP.has(k)) out[k] = v;
    });
    res.writeHead(answer.status, out);
    res.end(text);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`proxy: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    answered,
    arm(next) {
      cut = next;
      count = 0;
      fired = false;
      answered.length = 0;
    },
    fired: () => fired,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

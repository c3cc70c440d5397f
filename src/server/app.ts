/**
 * The HTTP server of `passerelle run`: `POST /webhooks/<connection>`, `GET /healthz`, and, when `api` is
 * given, the management API under `/api/v1` and `GET /metrics` (api/routes.ts, with bearer-token auth);
 * with `documents`, signed document links at `GET /documents/<connection>` (document-links.ts).
 *
 * A delivery is read as raw bytes (signatures are over the exact bytes), up to `bodyLimit`: a declared
 * Content-Length above it is refused before any byte is read, and a body streamed without one is cut off
 * when it passes the limit. The connection's definition verifies and parses it; verified events are
 * stored in the inbox (group-committed) and only then acknowledged. Nothing is processed in the request:
 * workers take events from the inbox. Every refusal is a 4xx with a one-line reason and no stack trace.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import type { InboundEvent, WebhookReceiver, WebhookRequest } from "../ports/connector.ts";
import type { WebhookInbox } from "../ports/inbox.ts";
import { type ApiOptions, managementApi } from "./api/routes.ts";
import { type DocumentLinkRoutes, registerDocumentLinks } from "./document-links.ts";
import { plainHttpWarning, type Serving } from "./exposure.ts";

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * The built dashboard (scripts/build.mjs → dist/web): two folders up from this module both in the sources
 * (src/server → dist/web) and in the build (dist/server → dist/web).
 */
export const DASHBOARD_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../dist/web");

export interface WebhookEndpoint {
  receiver: WebhookReceiver<unknown> | null;
  config: unknown;
}

export interface ServerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ServerOptions {
  /** Every configured connection by name; `receiver` null when its system sends no webhooks. */
  endpoints: ReadonlyMap<string, WebhookEndpoint>;
  inbox: WebhookInbox;
  bodyLimit?: number;
  /** PEM contents; the server speaks HTTPS when set. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Called after events were durably stored (e.g. to wake the workers). */
  onStored?: (connection: string, events: InboundEvent[]) => void;
  logger?: ServerLogger;
  now?: () => Date;
  /** Told of every delivery: events stored, or the status it was refused with (metrics). */
  onWebhook?: (connection: string, outcome: { stored: number } | { refused: number }) => void;
  /** The management API and /metrics; absent, the server only takes webhooks. */
  api?: ApiOptions;
  /** Where the built dashboard is (default DASHBOARD_DIR); served at `/` beside the API. */
  dashboardDir?: string;
  /** Signed document links (`GET /documents/<connection>`); absent, the route does not exist. */
  documents?: Omit<DocumentLinkRoutes, "logger" | "now">;
}

function fail(reply: FastifyReply, status: number, reason: string): FastifyReply {
  return reply.code(status).type("application/json").send({ error: reason });
}

function headersOf(raw: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(raw)) out[k] = Array.isArray(v) ? v[0] : v;
  return out;
}

/**
 * A fastify instance as every listener of this process wants it: HTTPS when `tls` is given, no request
 * logging of its own, idle keep-alive connections closed on close, and request bodies with a field their
 * route does not know refused (fastify's default drops it silently).
 */
export function newFastify(opts: { tls?: ServerOptions["tls"]; bodyLimit?: number }): FastifyInstance {
  const ajv = { customOptions: { removeAdditional: false as const } };
  const common = {
    logger: false,
    forceCloseConnections: "idle" as const,
    ajv,
    ...(opts.bodyLimit !== undefined ? { bodyLimit: opts.bodyLimit } : {}),
  };
  return (
    opts.tls ? Fastify({ https: { cert: opts.tls.cert, key: opts.tls.key }, ...common }) : Fastify(common)
  ) as FastifyInstance;
}

export function buildServer(opts: ServerOptions): FastifyInstance {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const now = opts.now ?? (() => new Date());
  const app = newFastify({ bodyLimit, ...(opts.tls ? { tls: opts.tls } : {}) });

  // Every body is kept as the exact bytes received; each vendor module decides what it accepts.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: { statusCode?: number; code?: string; message?: string }, req, reply) => {
    const status =
      typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500
        ? err.statusCode
        : 500;
    const reason =
      err.code === "FST_ERR_CTP_BODY_TOO_LARGE"
        ? `body larger than ${bodyLimit} bytes`
        : err.code === "FST_ERR_CTP_INVALID_CONTENT_LENGTH"
          ? "Content-Length does not match the body"
          : status === 500
            ? "internal error"
            : (err.message ?? "bad request").split("\n")[0];
    if (status === 500) opts.logger?.warn({ url: req.url, err: err.message }, "webhook request failed");
    return fail(reply, status, reason ?? "bad request");
  });
  app.setNotFoundHandler((req, reply) => fail(reply, 404, `no route ${req.method} ${req.url.split("?")[0]}`));

  app.get("/healthz", async () => ({ status: "ok" }));
  if (opts.api) {
    app.register(managementApi, opts.api);
    registerDashboard(app, opts.dashboardDir ?? DASHBOARD_DIR);
  }

  if (opts.documents)
    registerDocumentLinks(app, {
      ...opts.documents,
      ...(opts.logger ? { logger: opts.logger } : {}),
      now,
    });

  app.post<{ Params: { connection: string } }>("/webhooks/:connection", async (req, reply) => {
    const name = req.params.connection;
    const endpoint = opts.endpoints.get(name);
    if (!endpoint) return fail(reply, 404, `unknown connection ${JSON.stringify(name)}`);
    if (!endpoint.receiver)
      return fail(reply, 404, `connection ${JSON.stringify(name)} does not receive webhooks`);
    const request: WebhookRequest = {
      rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      headers: headersOf(req.headers),
      query: headersOf(req.query as Record<string, string | string[] | undefined>),
    };
    const outcome = endpoint.receiver.receive(request, endpoint.config, now());
    if (outcome.kind === "reject") {
      opts.logger?.info(
        { connection: name, status: outcome.status, reason: outcome.reason },
        "webhook refused",
      );
      opts.onWebhook?.(name, { refused: outcome.status });
      return fail(reply, outcome.status, outcome.reason);
    }
    if (outcome.kind === "reply")
      return reply.code(outcome.status).type(outcome.contentType).send(outcome.body);
    const result = await opts.inbox.add(name, outcome.events);
    if (result.stored > 0) opts.onStored?.(name, outcome.events);
    opts.onWebhook?.(name, { stored: result.stored });
    return reply.code(200).send(result);
  });
  return app;
}

/**
 * The dashboard's files at `/` (index.html and its hashed assets; the views live in the URL's hash, so no
 * other path needs index.html). Public like any web page's code: everything it shows comes from /api/v1,
 * behind the token. Only the files present at start-up are routed (no wildcard), so an unknown path still
 * gets the server's own 404. Not built (a checkout without dev dependencies): `/` says so.
 */
export function registerDashboard(app: FastifyInstance, dir: string): void {
  if (!existsSync(join(dir, "index.html"))) {
    app.get("/", async (_req, reply) =>
      fail(reply, 503, `the dashboard is not built (no ${join(dir, "index.html")}): run npm run build`),
    );
    return;
  }
  app.register(fastifyStatic, {
    root: dir,
    wildcard: false,
    index: ["index.html"],
    // Assets carry a content hash in their name; index.html must be fetched again to find new ones.
    setHeaders: (res, path) => {
      res.header(
        "cache-control",
        path.endsWith("index.html") ? "no-cache" : "public, max-age=31536000, immutable",
      );
      res.header("x-content-type-options", "nosniff");
    },
  });
}

/**
 * Stops accepting connections and lets requests in flight finish (their events commit, then they are
 * answered). Keep-alive connections are closed as soon as they fall idle; any still open after `graceMs`
 * (a client that never stops sending) are cut.
 */
async function closeGracefully(app: FastifyInstance, graceMs = 5_000): Promise<void> {
  const reap = setInterval(() => app.server.closeIdleConnections(), 50);
  const cut = setTimeout(() => app.server.closeAllConnections(), graceMs);
  try {
    await app.close();
  } finally {
    clearInterval(reap);
    clearTimeout(cut);
  }
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  port: number;
  /** What an operator should fix about how it listens (plain HTTP on a network address). */
  warnings: string[];
  close(): Promise<void>;
}

export async function startServer(
  opts: ServerOptions & { host: string; port: number },
): Promise<RunningServer> {
  return listen(buildServer(opts), { host: opts.host, port: opts.port, tls: opts.tls !== undefined });
}

/**
 * Listens on `host:port` (port 0: any free one) and says where, with the warning for plain HTTP on an
 * address other machines reach (`serving` names what would cross the network unencrypted). Shared by the
 * `passerelle run` server and the metrics listener of workers and schedulers (metrics-server.ts).
 */
export async function listen(
  app: FastifyInstance,
  opts: { host: string; port: number; tls: boolean; serving?: Serving },
): Promise<RunningServer> {
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = addr !== null && typeof addr === "object" ? addr.port : opts.port;
  const bound = addr !== null && typeof addr === "object" ? addr.address : opts.host;
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  const exposed = plainHttpWarning(opts.host, bound, port, opts.tls, opts.serving);
  return {
    app,
    port,
    warnings: exposed ? [exposed] : [],
    url: `${opts.tls ? "https" : "http"}://${host}:${port}`,
    close: () => closeGracefully(app),
  };
}

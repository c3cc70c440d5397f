/**
 * The metrics listener of processes that serve nothing else: `passerelle run --role worker|scheduler` and
 * `passerelle worker`. Scaled out, those processes do the syncing, and their counters (records, runs, API
 * calls, 429s, retries) live in their own memory: each one is scraped on its own. `GET /metrics` answers
 * with the process's registry (runtime/metrics.ts) to a bearer token of any role, under the same gate as
 * the management API (api/auth.ts `admission`, `--no-auth-on-loopback` included); `GET /healthz` answers
 * without one, like the `passerelle run` server's. Off unless configured (`server.metrics` or
 * `--metrics-port`); it listens the way that server does (app.ts `listen`: TLS from `server.tls`, the
 * warning for plain HTTP off loopback).
 */
import type { FastifyReply } from "fastify";
import type { PasserelleConfig } from "../config/schema.ts";
import { SyncError } from "../core/errors.ts";
import type { AccessStore } from "../ports/access.ts";
import type { Metrics } from "../runtime/metrics.ts";
import { admission } from "./api/auth.ts";
import { listen, newFastify, type RunningServer, type ServerOptions } from "./app.ts";

export const DEFAULT_METRICS_HOST = "127.0.0.1";

/** Where a metrics listener was asked for on the command line; each field overrides `server.metrics`. */
export interface MetricsListenFlags {
  host?: string;
  port?: number;
}

/**
 * Where this process's metrics listener listens: the command line over `server.metrics`, or null when
 * neither asks for one. A host with no port from either is refused: it would silently serve nothing.
 */
export function metricsAddress(
  config: Pick<PasserelleConfig, "server">,
  flags: MetricsListenFlags = {},
): { host: string; port: number } | null {
  const configured = config.server.metrics;
  const port = flags.port ?? configured?.port;
  if (port === undefined) {
    if (flags.host !== undefined) {
      throw new SyncError(
        "config",
        `--metrics-host ${JSON.stringify(flags.host)} needs a port: --metrics-port, or server.metrics.port in the configuration`,
      );
    }
    return null;
  }
  return { host: flags.host ?? configured?.host ?? DEFAULT_METRICS_HOST, port };
}

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  metrics: Pick<Metrics, "text">;
  /** Where tokens are looked up (the store's). */
  access: AccessStore;
  /** Requests from loopback without a token are let through, as on the API server. */
  noAuthOnLoopback: boolean;
  /** What this process is, shown by /healthz (`worker`, `scheduler`). */
  role: string;
  tls?: ServerOptions["tls"];
  logger?: ServerOptions["logger"];
}

function fail(reply: FastifyReply, status: number, reason: string): FastifyReply {
  return reply.code(status).type("application/json").send({ error: reason });
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<RunningServer> {
  const app = newFastify(opts.tls ? { tls: opts.tls } : {});
  const admit = admission(opts.access, { noAuthOnLoopback: opts.noAuthOnLoopback });
  app.setErrorHandler((err: { statusCode?: number; message?: string }, req, reply) => {
    const status =
      typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500
        ? err.statusCode
        : 500;
    if (status === 500) opts.logger?.warn({ url: req.url, err: err.message }, "metrics request failed");
    const reason = status === 500 ? "internal error" : (err.message ?? "bad request").split("\n")[0];
    return fail(reply, status, reason ?? "bad request");
  });
  app.setNotFoundHandler((req, reply) =>
    fail(
      reply,
      404,
      `no route ${req.method} ${req.url.split("?")[0]} (this listener serves GET /metrics and GET /healthz)`,
    ),
  );
  app.get("/healthz", async () => ({ status: "ok", role: opts.role }));
  app.get("/metrics", async (req, reply) => {
    const a = await admit({
      authorization: req.headers.authorization,
      remoteAddress: req.socket.remoteAddress,
      need: "viewer",
      what: "GET /metrics",
    });
    if (!a.ok) return fail(a.status === 401 ? reply.headers(a.headers) : reply, a.status, a.reason);
    const { contentType, body } = await opts.metrics.text();
    return reply.type(contentType).send(body);
  });
  try {
    return await listen(app, {
      host: opts.host,
      port: opts.port,
      tls: opts.tls !== undefined,
      serving: "metrics",
    });
  } catch (e) {
    await app.close();
    const code = e !== null && typeof e === "object" && "code" in e ? String(e.code) : "";
    // Several processes on one host with the same server.metrics: each needs its own --metrics-port.
    throw new SyncError(
      "config",
      `the metrics listener cannot listen on ${opts.host}:${opts.port}${code ? ` (${code})` : ""}: ${
        code === "EADDRINUSE"
          ? "another process has that port; give each process on this host its own --metrics-port"
          : e instanceof Error
            ? e.message
            : String(e)
      }`,
      { cause: e },
    );
  }
}

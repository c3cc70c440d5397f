/**
 * The management API, `/api/v1`, and `/metrics`: a fastify plugin on the `passerelle run` server, beside
 * the webhook routes. Every route has JSON schemas (validation, serialisation and the OpenAPI document at
 * `/api/v1/openapi.json`), a role (viewer, operator or admin; auth.ts) and, for actions, an audit-log row.
 * Routes call the same operations as the CLI (runtime/operations.ts); none holds sync logic.
 *
 * Errors are one-line JSON `{ error }`: 400 bad input (naming the field), 401 no valid token, 403 role,
 * 404 unknown id or name, 409 flow busy, 413 body too large.
 */
import swagger from "@fastify/swagger";
import { Cron } from "croner";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ConfigError, SyncError } from "../../core/errors.ts";
import type { Mapping } from "../../core/mapping.ts";
import type { AccessStore, Role } from "../../ports/access.ts";
import type { Jobs } from "../../ports/jobs.ts";
import type { Context } from "../../runtime/context.ts";
import { syncJob } from "../../runtime/flow-jobs.ts";
import { type FlowLag, flowLag } from "../../runtime/lag.ts";
import type { Metrics } from "../../runtime/metrics.ts";
import {
  editAndRetry,
  findFailures,
  flowStatuses,
  getFailure,
  knownFlow,
  NotFoundError,
  previewMapping,
  resolveFailure,
  restoreRecord,
  retryFailures,
  skipFailure,
  takeConflict,
  traceRecord,
} from "../../runtime/operations.ts";
import { FlowBusyError } from "../../runtime/run-flow.ts";
import { admission, createToken, type Principal } from "./auth.ts";
import * as S from "./schemas.ts";

export interface ApiOptions {
  ctx: Context;
  /** The job queue runs are queued on (`POST /flows/:name/run`). */
  queue: Pick<Jobs, "enqueue">;
  /** Called after a job was queued (wakes the worker). */
  onEnqueued?: () => void;
  metrics: Metrics;
  /** Requests from loopback without a token act as admin (the demo); every other one needs a token. */
  noAuthOnLoopback: boolean;
  /** This process's name in flow leases (retries taken from the API run under it). */
  holder: string;
  /** How long a connection's health check is reused (default 30 s). */
  healthTtlMs?: number;
  now?: () => Date;
}

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** The least role allowed. */
    role?: Role;
    /** Actions are written to the audit log under this name, with `target` naming what they acted on. */
    audit?: { action: string; target: (req: FastifyRequest) => string };
  }
}

const TAGS = [
  { name: "connections", description: "Connections: health, API calls and rate budget" },
  { name: "flows", description: "Flows: state, runs, schedule, lag; mapping preview; run now" },
  { name: "runs", description: "Run history" },
  { name: "trace", description: "A record's lineage across systems" },
  { name: "failures", description: "The failed-records inbox and the actions on it" },
  { name: "usage", description: "API calls per connection, flow and day" },
  { name: "admin", description: "Tokens and the audit log" },
  { name: "meta", description: "The API document and metrics" },
];

function send(reply: FastifyReply, status: number, error: string): FastifyReply {
  return reply.code(status).type("application/json").send({ error });
}

function statusFor(e: unknown): { status: number; message: string } {
  if (e instanceof NotFoundError) return { status: 404, message: e.message };
  if (e instanceof FlowBusyError) return { status: 409, message: e.message };
  if (e instanceof ConfigError) {
    const all = e.issues.map((i) => `${i.path}: ${i.message}`).join("; ");
    return { status: 400, message: all || (e.message.split("\n")[0] ?? "bad input") };
  }
  if (e instanceof SyncError && (e.kind === "config" || e.kind === "data"))
    return { status: 400, message: e.message.split("\n")[0] ?? e.message };
  const v = e as { statusCode?: number; code?: string; message?: string; validation?: unknown };
  if (typeof v.statusCode === "number" && v.statusCode >= 400 && v.statusCode < 500) {
    const message =
      v.code === "FST_ERR_CTP_BODY_TOO_LARGE"
        ? "body larger than the server's body limit"
        : ((v.message ?? "bad request").split("\n")[0] ?? "bad request");
    return { status: v.statusCode, message };
  }
  return { status: 500, message: "internal error" };
}

const today = (now: Date) => now.toISOString().slice(0, 10);

export async function managementApi(app: FastifyInstance, opts: ApiOptions): Promise<void> {
  const { ctx, metrics } = opts;
  const access: AccessStore = ctx.store.access();
  const now = opts.now ?? (() => new Date());
  const healthTtl = opts.healthTtlMs ?? 30_000;
  const health = new Map<string, { ok: boolean; checkedAt: string; error: string | null; at: number }>();

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Passerelle management API",
        version: "1",
        description:
          "Connections, flows, runs, record traces, the failed-records inbox, mapping previews and costs. " +
          "Authenticate with `Authorization: Bearer <token>` (passerelle tokens create --role viewer|operator|admin).",
      },
      tags: TAGS,
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
    hideUntagged: true,
  });

  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === "") return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      const err = new Error(`body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
      (err as Error & { statusCode: number }).statusCode = 400;
      done(err, undefined);
    }
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, message } = statusFor(err);
    if (status === 500) ctx.logger.warn({ url: req.url, err: (err as Error).message }, "API request failed");
    return send(reply, status, message);
  });

  const admit = admission(access, { noAuthOnLoopback: opts.noAuthOnLoopback });
  app.addHook("onRequest", async (req, reply) => {
    const need = req.routeOptions.config.role;
    if (!need) return;
    const a = await admit({
      authorization: req.headers.authorization,
      remoteAddress: req.socket.remoteAddress,
      need,
      what: `${req.method} ${req.routeOptions.url}`,
    });
    if (a.ok) {
      req.principal = a.principal;
      return;
    }
    if (a.status === 401) return send(reply.headers(a.headers), 401, a.reason);
    req.principal = a.principal;
    const audit = req.routeOptions.config.audit;
    if (audit) await record(req, audit.action, audit.target(req), `refused: ${a.reason}`);
    return send(reply, 403, a.reason);
  });

  const record = (req: FastifyRequest, action: string, target: string, outcome: string) =>
    access.audit({
      tokenId: req.principal?.tokenId ?? null,
      actor: req.principal?.name ?? "anonymous",
      role: req.principal?.role ?? null,
      action,
      target,
      outcome,
    });

  // Every action, whatever came of it, once its answer is decided (refusals are written by onRequest).
  app.addHook("onSend", async (req, reply, payload) => {
    const audit = req.routeOptions.config.audit;
    if (!audit || !req.principal || reply.statusCode === 403) return payload;
    let outcome = "ok";
    if (reply.statusCode >= 400) {
      let why = "";
      try {
        why = String((JSON.parse(String(payload)) as { error?: unknown }).error ?? "");
      } catch {
        why = "";
      }
      outcome = `failed (${reply.statusCode}): ${why}`;
    }
    let target = "";
    try {
      target = audit.target(req);
    } catch {
      target = req.url;
    }
    await record(req, audit.action, target, outcome);
    return payload;
  });

  const viewer = { role: "viewer" as const };
  const act = (role: Role, action: string, target: (req: FastifyRequest) => string) => ({
    role,
    audit: { action, target },
  });
  const idOf = (req: FastifyRequest) => (req.params as { id?: unknown }).id;
  const nameOf = (req: FastifyRequest) => (req.params as { name?: unknown }).name;

  // ---- meta -------------------------------------------------------------------------------------------
  app.get(
    "/api/v1/openapi.json",
    {
      config: viewer,
      schema: {
        tags: ["meta"],
        summary: "This API's OpenAPI 3.1 document, generated from the route schemas",
        response: { 200: { type: "object", additionalProperties: true }, ...S.errors() },
      },
    },
    async () => app.swagger(),
  );

  app.get(
    "/metrics",
    {
      config: viewer,
      schema: {
        tags: ["meta"],
        summary: "Prometheus metrics of this process (text exposition format)",
        produces: ["text/plain"],
        response: { 200: { type: "string", description: "Prometheus text format" }, ...S.errors() },
      },
    },
    async (_req, reply) => {
      const { contentType, body } = await metrics.text();
      return reply.type(contentType).send(body);
    },
  );

  // ---- connections ------------------------------------------------------------------------------------
  const flowsUsing = (conn: string) =>
    Object.entries(ctx.config.flows)
      .filter(([, f]) => f.source.connection === conn || f.target.connection === conn)
      .map(([n]) => n);

  const connectionInfo = async (name: string, check: boolean) => {
    const connector = ctx.connectors.get(name);
    if (!connector) {
      throw new NotFoundError(
        `no connection named ${JSON.stringify(name)}; connections: ${[...ctx.connectors.keys()].join(", ") || "(none)"}`,
      );
    }
    let h = health.get(name);
    if (check && (!h || Date.now() - h.at > healthTtl)) {
      try {
        await connector.check();
        h = { ok: true, checkedAt: now().toISOString(), error: null, at: Date.now() };
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        h = { ok: false, checkedAt: now().toISOString(), error: msg.split("\n")[0] ?? msg, at: Date.now() };
      }
      health.set(name, h);
    }
    const calls = await access.calls({ sinceDay: today(now()), connection: name });
    const todayByFlow: Record<string, number> = {};
    for (const c of calls) todayByFlow[c.flow] = (todayByFlow[c.flow] ?? 0) + c.calls;
    const usedToday = Object.values(todayByFlow).reduce((a, b) => a + b, 0);
    const stats = connector.stats() as ReturnType<typeof connector.stats> & { retries?: number };
    const rate = stats.rateLimit ?? null;
    return {
      name,
      type: connector.kind,
      flows: flowsUsing(name),
      health: h ? { ok: h.ok, checkedAt: h.checkedAt, error: h.error } : null,
      calls: { sinceStart: stats.calls, today: usedToday, todayByFlow },
      throttled: stats.throttled,
      retries: typeof stats.retries === "number" ? stats.retries : null,
      rateLimit: rate,
      budget: budgetOf(name, usedToday, rate),
      apiVersion: connector.apiVersion?.() ?? null,
    };
  };

  /** `budgets.<name>` from the configuration, else the vendor's reported restore rate over a day. */
  const budgetOf = (
    name: string,
    usedToday: number,
    rate: { restoreRatePerSecond: number } | null,
  ): { callsPerDay: number; usedToday: number; remaining: number; basis: string } | null => {
    const configured = ctx.config.budgets?.[name]?.callsPerDay;
    const callsPerDay = configured ?? (rate ? Math.round(rate.restoreRatePerSecond * 86_400) : null);
    if (callsPerDay === null) return null;
    return {
      callsPerDay,
      usedToday,
      remaining: Math.max(0, callsPerDay - usedToday),
      basis:
        configured !== undefined
          ? `budgets.${name}.callsPerDay in the configuration`
          : "the vendor's reported restore rate over 24 h",
    };
  };

  app.get(
    "/api/v1/connections",
    {
      config: viewer,
      schema: {
        tags: ["connections"],
        summary: "Every connection: last health check (not run here), API calls today per flow, rate budget",
        response: {
          200: { type: "object", properties: { connections: { type: "array", items: S.Connection } } },
          ...S.errors(),
        },
      },
    },
    async () => ({
      connections: await Promise.all([...ctx.connectors.keys()].map((n) => connectionInfo(n, false))),
    }),
  );

  app.get(
    "/api/v1/connections/:name",
    {
      config: viewer,
      schema: {
        tags: ["connections"],
        summary: "One connection, with a health check (reused for 30 s)",
        params: S.FlowName,
        response: { 200: S.Connection, ...S.errors(404) },
      },
    },
    async (req) => connectionInfo((req.params as { name: string }).name, true),
  );

  // ---- usage (cost) -----------------------------------------------------------------------------------
  app.get(
    "/api/v1/usage",
    {
      config: viewer,
      schema: {
        tags: ["usage"],
        summary: "API calls per UTC day, connection and flow over the last `days` days (today included)",
        querystring: {
          type: "object",
          properties: {
            days: { type: "integer", minimum: 1, maximum: 366, default: 7 },
            connection: { type: "string" },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: "object",
            properties: {
              since: { type: "string" },
              calls: {
                type: "array",
                items: S.CallCount,
              },
              totals: { type: "object", additionalProperties: { type: "integer" } },
            },
          },
          ...S.errors(),
        },
      },
    },
    async (req) => {
      const q = req.query as { days: number; connection?: string };
      const since = new Date(now().getTime() - (q.days - 1) * 86_400_000).toISOString().slice(0, 10);
      const calls = await access.calls({
        sinceDay: since,
        ...(q.connection ? { connection: q.connection } : {}),
      });
      const totals: Record<string, number> = {};
      for (const c of calls) totals[c.connection] = (totals[c.connection] ?? 0) + c.calls;
      return { since, calls, totals };
    },
  );

  // ---- flows ------------------------------------------------------------------------------------------
  const flowInfo = async (names: string[]) => {
    const statuses = await flowStatuses(ctx, names, "the management API");
    const calls = await access.calls({ sinceDay: today(now()) });
    const lags = new Map<string, FlowLag>();
    for (const s of statuses) lags.set(s.flow, await flowLag(ctx, s.flow, now()));
    return statuses.map((s) => {
      const spec = ctx.config.flows[s.flow];
      const trigger = spec?.trigger;
      const cron =
        trigger?.type === "schedule"
          ? trigger.cron
          : trigger?.type === "events"
            ? trigger.reconcile.cron
            : null;
      const next = cron ? new Cron(cron, { paused: true }).nextRun(now()) : null;
      const state = s.runningBy
        ? "running"
        : !s.lastRun
          ? "never-run"
          : s.lastRun.status === "failed"
            ? "failing"
            : "idle";
      return {
        name: s.flow,
        entity: spec?.source.entity ?? "",
        source: { connection: spec?.source.connection ?? "", entity: spec?.source.entity ?? "" },
        target: { connection: spec?.target.connection ?? "", entity: spec?.target.entity ?? "" },
        trigger: trigger?.type ?? "manual",
        schedule: cron,
        state,
        runningBy: s.runningBy,
        lastRun: s.lastRun,
        nextRun: next ? next.toISOString() : null,
        cursor: s.cursor,
        lagSeconds: lags.get(s.flow)?.seconds ?? null,
        lagSince: lags.get(s.flow)?.since ?? null,
        lagBasis: lags.get(s.flow)?.basis ?? null,
        openFailures: s.openFailures,
        callsToday: calls.filter((c) => c.flow === s.flow).reduce((a, c) => a + c.calls, 0),
      };
    });
  };

  app.get(
    "/api/v1/flows",
    {
      config: viewer,
      schema: {
        tags: ["flows"],
        summary:
          "Every flow: state, last and next run, lag (time since it last caught up with its source), open failures, calls today",
        response: {
          200: { type: "object", properties: { flows: { type: "array", items: S.FlowInfo } } },
          ...S.errors(),
        },
      },
    },
    async () => ({ flows: await flowInfo(ctx.flowNames()) }),
  );

  app.get(
    "/api/v1/flows/:name",
    {
      config: viewer,
      schema: {
        tags: ["flows"],
        summary: "One flow, with its last runs",
        params: S.FlowName,
        response: {
          200: {
            type: "object",
            properties: {
              ...(S.FlowInfo as { properties: object }).properties,
              recentRuns: { type: "array", items: S.Run },
            },
          },
          ...S.errors(404),
        },
      },
    },
    async (req) => {
      const name = (req.params as { name: string }).name;
      knownFlow(ctx, name);
      const [info] = await flowInfo([name]);
      return { ...info, recentRuns: await access.listRuns({ flow: name, limit: 10 }) };
    },
  );

  app.post(
    "/api/v1/flows/:name/run",
    {
      config: act("operator", "flows.run", (r) => `flow ${String(nameOf(r))}`),
      schema: {
        tags: ["flows"],
        summary: "Queue a sync of the flow on the job queue (at most one queued or running per flow)",
        params: S.FlowName,
        response: {
          202: {
            type: "object",
            properties: {
              flow: { type: "string" },
              queued: { type: "boolean" },
              jobId: { anyOf: [{ type: "integer" }, { type: "null" }] },
              note: { type: "string" },
            },
          },
          ...S.errors(404),
        },
      },
    },
    async (req, reply) => {
      const name = (req.params as { name: string }).name;
      knownFlow(ctx, name);
      const jobId = await opts.queue.enqueue(syncJob(name));
      opts.onEnqueued?.();
      return reply.code(202).send({
        flow: name,
        queued: jobId !== null,
        jobId,
        note: jobId === null ? "a sync of this flow is already queued or running" : "queued",
      });
    },
  );

  app.post(
    "/api/v1/flows/:name/records/:key/restore",
    {
      config: act(
        "operator",
        "records.restore",
        (r) => `flow ${String(nameOf(r))} record ${String((r.params as { key?: string }).key)}`,
      ),
      schema: {
        tags: ["flows"],
        summary:
          "Bring back a record a two-way flow removed (twoWay.deletes): reactivated where it is archived, created again where it was deleted, then merged, under the flow's lease",
        params: {
          type: "object",
          properties: { name: { type: "string" }, key: { type: "string" } },
          required: ["name", "key"],
        },
        response: { 200: S.RestoreOutcome, ...S.errors(400, 404, 409) },
      },
    },
    async (req) => {
      const { name, key } = req.params as { name: string; key: string };
      knownFlow(ctx, name);
      return restoreRecord(ctx, name, key, { actor: actor(req), holder: opts.holder });
    },
  );

  app.post(
    "/api/v1/flows/:name/preview",
    {
      config: act("operator", "flows.preview", (r) => `flow ${String(nameOf(r))}`),
      bodyLimit: 1024 * 1024,
      schema: {
        tags: ["flows"],
        summary:
          "Apply the flow's mapping (or a draft `mapping`) to a sample source record or a live one read by id, and plan it; writes nothing",
        params: S.FlowName,
        body: S.PreviewBodySchema,
        response: {
          200: {
            type: "object",
            properties: {
              flow: { type: "string" },
              entity: { type: "string" },
              sourceId: { anyOf: [{ type: "string" }, { type: "null" }] },
              canonical: {},
              mapped: {},
              fields: {
                type: "array",
                items: {
                  type: "object",
                  properties: { field: { type: "string" }, rule: { type: "string" }, before: {}, after: {} },
                },
              },
              problems: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    field: { anyOf: [{ type: "string" }, { type: "null" }] },
                    message: { type: "string" },
                  },
                },
              },
              plan: { anyOf: [S.PlanLine, { type: "null" }] },
            },
          },
          ...S.errors(400, 404, 413),
        },
      },
    },
    async (req) => {
      const parsed = S.PreviewBody.safeParse(req.body ?? {});
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        throw new SyncError("data", `body${i?.path.length ? `.${i.path.join(".")}` : ""}: ${i?.message}`);
      }
      const b = parsed.data;
      return previewMapping(ctx, (req.params as { name: string }).name, {
        ...(b.sample ? { sample: b.sample } : {}),
        ...(b.live ? { liveId: b.live.id } : {}),
        ...(b.mapping ? { mapping: b.mapping as Mapping } : {}),
      });
    },
  );

  // ---- runs -------------------------------------------------------------------------------------------
  app.get(
    "/api/v1/runs",
    {
      config: viewer,
      schema: {
        tags: ["runs"],
        summary: "Runs, newest first; `before` (the last id of a page) for the next page",
        querystring: {
          type: "object",
          properties: { flow: { type: "string" }, ...S.Page },
          additionalProperties: false,
        },
        response: {
          200: {
            type: "object",
            properties: {
              runs: { type: "array", items: S.Run },
              next: { anyOf: [{ type: "integer" }, { type: "null" }] },
            },
          },
          ...S.errors(404),
        },
      },
    },
    async (req) => {
      const q = req.query as { flow?: string; limit: number; before?: number };
      if (q.flow !== undefined) knownFlow(ctx, q.flow);
      const runs = await access.listRuns({
        limit: q.limit,
        ...(q.flow !== undefined ? { flow: q.flow } : {}),
        ...(q.before !== undefined ? { before: q.before } : {}),
      });
      return { runs, next: runs.length === q.limit ? (runs[runs.length - 1]?.id ?? null) : null };
    },
  );

  app.get(
    "/api/v1/runs/:id",
    {
      config: viewer,
      schema: {
        tags: ["runs"],
        summary: "One run with the lineage events it wrote (up to 500)",
        params: S.FailureId,
        response: {
          200: {
            type: "object",
            properties: {
              ...(S.Run as { properties: object }).properties,
              events: { type: "array", items: S.SyncEvent },
            },
          },
          ...S.errors(404),
        },
      },
    },
    async (req) => {
      const id = (req.params as { id: number }).id;
      const run = await access.getRun(id);
      if (!run) throw new NotFoundError(`no run with id ${id}`);
      return { ...run, events: await access.runEvents(id, 500) };
    },
  );

  // ---- trace ------------------------------------------------------------------------------------------
  app.get(
    "/api/v1/trace/:entity/:ref",
    {
      config: viewer,
      schema: {
        tags: ["trace"],
        summary:
          "A record's lineage by its canonical key or any system's id or number (a Shopify order name, an ERP sale reference)",
        params: {
          type: "object",
          properties: { entity: S.Entity, ref: { type: "string", minLength: 1 } },
          required: ["entity", "ref"],
        },
        response: {
          200: {
            type: "object",
            properties: {
              entity: { type: "string" },
              id: { type: "string" },
              links: { type: "object", additionalProperties: { type: "array", items: S.Link } },
              events: { type: "array", items: S.SyncEvent },
            },
          },
          ...S.errors(400, 404),
        },
      },
    },
    async (req) => {
      const { entity, ref } = req.params as { entity: string; ref: string };
      const t = await traceRecord(ctx, entity, ref);
      if (t.events.length === 0)
        throw new NotFoundError(`no ${entity} ${JSON.stringify(ref)} in any system's lineage`);
      return t;
    },
  );

  // ---- failures ---------------------------------------------------------------------------------------
  app.get(
    "/api/v1/failures",
    {
      config: viewer,
      schema: {
        tags: ["failures"],
        summary: "Failed records: open ones unless `status` or `all`",
        querystring: {
          type: "object",
          properties: {
            flow: { type: "string" },
            status: { type: "string", enum: ["open", "retrying", "resolved", "skipped"] },
            type: { type: "string" },
            all: { type: "boolean", default: false },
            limit: { type: "integer", minimum: 1, maximum: 1000, default: 200 },
          },
          additionalProperties: false,
        },
        response: {
          200: { type: "object", properties: { failures: { type: "array", items: S.Failure } } },
          ...S.errors(400),
        },
      },
    },
    async (req) => {
      const q = req.query as { flow?: string; status?: string; type?: string; all: boolean; limit: number };
      return { failures: await findFailures(ctx, q) };
    },
  );

  const failureParams = { params: S.FailureId };
  const failureTarget = (r: FastifyRequest) => `failure ${String(idOf(r))}`;
  const loadFailure = (req: FastifyRequest) => getFailure(ctx, String((req.params as { id: number }).id));
  const actor = (req: FastifyRequest) => `api:${req.principal?.name ?? "?"}`;

  app.get(
    "/api/v1/failures/:id",
    {
      config: viewer,
      schema: {
        tags: ["failures"],
        summary: "One failed record: payloads, error, attempts",
        ...failureParams,
        response: { 200: S.Failure, ...S.errors(404) },
      },
    },
    async (req) => loadFailure(req),
  );

  const retryRoute = (what: "retry" | "resync") =>
    app.post(
      `/api/v1/failures/:id/${what}`,
      {
        config: act("operator", `failures.${what}`, failureTarget),
        schema: {
          tags: ["failures"],
          summary:
            what === "retry"
              ? "Write the failed record again (its stored, possibly edited, mapped payload)"
              : "Read the record again from its source, map it, and write it",
          ...failureParams,
          response: { 200: S.RetryOutcome, ...S.errors(400, 404, 409) },
        },
      },
      async (req) => {
        const f = await loadFailure(req);
        const { outcomes } = await retryFailures(ctx, [f], {
          resync: what === "resync",
          strict: true,
          actor: actor(req),
          holder: opts.holder,
        });
        const [o] = outcomes;
        if (!o) throw new SyncError("permanent", `failure ${f.id} was not retried`);
        return o;
      },
    );
  retryRoute("retry");
  retryRoute("resync");

  for (const what of ["skip", "resolve"] as const) {
    app.post(
      `/api/v1/failures/:id/${what}`,
      {
        config: act("operator", `failures.${what}`, failureTarget),
        schema: {
          tags: ["failures"],
          summary:
            what === "skip"
              ? "Close the failed record without writing it (the reason goes to its trace)"
              : "Close the failed record as fixed by hand in the target (the reason goes to its trace)",
          ...failureParams,
          body: S.Reason,
          response: { 200: S.Failure, ...S.errors(400, 404) },
        },
      },
      async (req) => {
        const f = await loadFailure(req);
        const { reason } = req.body as { reason: string };
        if (what === "skip") await skipFailure(ctx.store, f, reason, actor(req));
        else await resolveFailure(ctx.store, f, reason, actor(req));
        return loadFailure(req);
      },
    );
  }

  app.post(
    "/api/v1/failures/:id/take",
    {
      config: act("operator", "failures.take", failureTarget),
      schema: {
        tags: ["failures"],
        summary:
          "Close a held two-way conflict by taking one version — `side`: a connection of the flow (or source / target) — or a merged `record`, written to both sides under the flow's lease",
        ...failureParams,
        body: {
          type: "object",
          properties: {
            side: { type: "string", minLength: 1 },
            record: { type: "object", additionalProperties: true },
          },
          oneOf: [{ required: ["side"] }, { required: ["record"] }],
          additionalProperties: false,
        },
        response: {
          200: {
            type: "object",
            properties: {
              id: { type: "integer" },
              status: { type: "string" },
              written: { type: "array", items: { type: "string" } },
            },
            required: ["id", "status", "written"],
          },
          ...S.errors(400, 404, 409),
        },
      },
    },
    async (req) => {
      const f = await loadFailure(req);
      const body = req.body as { side?: string; record?: unknown };
      const { written } = await takeConflict(
        ctx,
        f,
        body.record !== undefined ? { record: body.record } : { side: body.side ?? "" },
        { actor: actor(req), holder: opts.holder },
      );
      return { id: f.id, status: "resolved", written };
    },
  );

  app.put(
    "/api/v1/failures/:id",
    {
      config: act("operator", "failures.edit", failureTarget),
      schema: {
        tags: ["failures"],
        summary:
          "Replace the failed record's mapped payload with a corrected one and retry it; a payload that is not a valid canonical record fails the retry, naming the field",
        ...failureParams,
        body: {
          type: "object",
          properties: { mappedPayload: { type: "object", additionalProperties: true } },
          required: ["mappedPayload"],
          additionalProperties: false,
        },
        response: { 200: S.RetryOutcome, ...S.errors(400, 404, 409, 413) },
      },
    },
    async (req) => {
      const f = await loadFailure(req);
      if (f.status === "resolved" || f.status === "skipped")
        throw new SyncError("config", `failure ${f.id} is already ${f.status}; nothing to edit`);
      const { mappedPayload } = req.body as { mappedPayload: unknown };
      return editAndRetry(ctx, f, mappedPayload, { actor: actor(req), holder: opts.holder });
    },
  );

  // ---- admin ------------------------------------------------------------------------------------------
  app.get(
    "/api/v1/audit",
    {
      config: { role: "admin" },
      schema: {
        tags: ["admin"],
        summary: "The audit log, newest first: every operator and admin action and refusal",
        querystring: { type: "object", properties: S.Page, additionalProperties: false },
        response: {
          200: {
            type: "object",
            properties: {
              entries: { type: "array", items: S.AuditEntry },
              next: { anyOf: [{ type: "integer" }, { type: "null" }] },
            },
          },
          ...S.errors(),
        },
      },
    },
    async (req) => {
      const q = req.query as { limit: number; before?: number };
      const entries = await access.listAudit({
        limit: q.limit,
        ...(q.before !== undefined ? { before: q.before } : {}),
      });
      return { entries, next: entries.length === q.limit ? (entries[entries.length - 1]?.id ?? null) : null };
    },
  );

  app.get(
    "/api/v1/tokens",
    {
      config: { role: "admin" },
      schema: {
        tags: ["admin"],
        summary: "API tokens (never the tokens themselves)",
        response: {
          200: { type: "object", properties: { tokens: { type: "array", items: S.Token } } },
          ...S.errors(),
        },
      },
    },
    async () => ({ tokens: await access.listTokens() }),
  );

  app.post(
    "/api/v1/tokens",
    {
      config: act(
        "admin",
        "tokens.create",
        (r) => `token ${JSON.stringify((r.body as { name?: unknown } | undefined)?.name ?? "")}`,
      ),
      schema: {
        tags: ["admin"],
        summary: "Create a token; the answer holds it, once",
        body: {
          type: "object",
          properties: {
            name: { type: "string", minLength: 1, maxLength: 200 },
            role: { type: "string", enum: ["viewer", "operator", "admin"] },
          },
          required: ["name", "role"],
          additionalProperties: false,
        },
        response: {
          201: { type: "object", properties: { token: { type: "string" }, info: S.Token } },
          ...S.errors(400),
        },
      },
    },
    async (req, reply) => {
      const b = req.body as { name: string; role: Role };
      return reply.code(201).send(await createToken(access, b));
    },
  );

  app.delete(
    "/api/v1/tokens/:id",
    {
      config: act("admin", "tokens.revoke", (r) => `token ${String(idOf(r))}`),
      schema: {
        tags: ["admin"],
        summary: "Revoke a token",
        params: S.FailureId,
        response: { 200: S.Token, ...S.errors(404) },
      },
    },
    async (req) => {
      const id = (req.params as { id: number }).id;
      const [t] = await access.revokeToken(String(id));
      if (!t) throw new NotFoundError(`no live token with id ${id}`);
      return t;
    },
  );
}

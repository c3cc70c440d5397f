/**
 * Business Central's webhook subscriptions, as Microsoft documents them for API v2.0 (learn.microsoft.com/
 * dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-subscriptions, "Working with webhooks",
 * and the subscriptions resource and its create/update/delete pages). The facts modelled:
 *
 * - The entity set is `subscriptions` at the environment's API root (`/api/v2.0/subscriptions`), not under a
 *   company; its key is the string `subscriptionId` (`subscriptions('<id>')`). Its fields are in digest.ts
 *   (SUBSCRIPTIONS_ENTITY): the subscriber writes `notificationUrl`, `resource` and `clientState`.
 * - Creating (POST) and renewing (PATCH) both perform the handshake: Business Central calls the
 *   notificationUrl with a `validationToken` query parameter and registers (or renews) the subscription only
 *   when the answer is 200 with the token as its body.
 * - A subscription expires three days after its creation or last renewal (`expirationDateTime`; on-premises
 *   this is the ApiSubscriptionExpiration setting, here `lifetimeS`). PATCH needs If-Match.
 * - `resource` names a company's entity set; the documented webhook-enabled v2.0 sets are WEBHOOK_SETS.
 * - After a change Business Central waits (30 s online, ApiSubscriptionDelayTime on-premises; here `delayMs`)
 *   and sends one notification per changed entity, several subscriptions' entries together in one
 *   `{ value: [...] }` to each notificationUrl, each entry with subscriptionId, clientState,
 *   expirationDateTime, resource, changeType (created, updated, deleted) and lastModifiedDateTime. Past a
 *   threshold of changes in one delay (1000 online; ApiSubscriptionMaxNumberOfNotifications) one
 *   `collection` entry is sent instead, its resource the set filtered on the modification time.
 * - A change to a document's line notifies its header (the header is re-stamped here, so that follows).
 * - An unreachable subscriber answering 408, 429 or 5xx is retried (over 36 hours online; here `retries`
 *   times, `retryMs` apart); any other status deletes the subscription.
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { BcData, ChangeType, Row } from "./data.ts";
import type { BcDigest } from "./digest.ts";

/** The v2.0 entity sets Microsoft lists as webhook-enabled. */
export const WEBHOOK_SETS = new Set([
  "accounts",
  "companyInformation",
  "countriesRegions",
  "currencies",
  "customerPaymentJournals",
  "customers",
  "dimensions",
  "employees",
  "generalLedgerEntries",
  "itemCategories",
  "items",
  "journals",
  "paymentMethods",
  "paymentTerms",
  "purchaseInvoices",
  "salesCreditMemos",
  "salesInvoices",
  "salesOrders",
  "salesQuotes",
  "shipmentMethods",
  "unitsOfMeasure",
  "vendors",
]);

/** Three days, Business Central's subscription lifetime. */
export const SUBSCRIPTION_LIFETIME_S = 3 * 24 * 3600;
/** The sample clientState of Microsoft's reference is "optionalValueOf2048": at most 2048 characters. */
export const CLIENT_STATE_MAX = 2048;

export interface SubscriptionOptions {
  /** Seconds a subscription lives after creation or renewal (three days). */
  lifetimeS?: number;
  /** How long changes are gathered before they are sent (Business Central online waits 30 s). */
  delayMs?: number;
  /** Changes of one subscription in one delay past which a single `collection` entry is sent. */
  maxNotifications?: number;
  /** Tries of a notification answered 408, 429 or 5xx (or not answered). */
  retries?: number;
  retryMs?: number;
  /** Time allowed for the handshake and for a notification. */
  timeoutMs?: number;
}

export interface Delivery {
  url: string;
  status: number | null;
  body: { value: Row[] };
}

export interface BcSubscriptions {
  /** Live subscriptions by id (expired ones are dropped when next looked at). */
  readonly all: Map<string, Row>;
  /** Every notification sent, with the subscriber's status (null: not reached). */
  readonly deliveries: Delivery[];
  /** Every handshake made: the URL called and whether the token came back. */
  readonly handshakes: { url: string; ok: boolean }[];
  /** Sends what is gathered now, without waiting for the delay. */
  flush(): Promise<void>;
  /** Ages every subscription by `seconds` (a clock moving on, for renewal tests). */
  age(seconds: number): void;
  handle(
    method: string,
    segment: string,
    url: URL,
    headers: IncomingHttpHeaders,
    raw: string,
    res: ServerResponse,
  ): Promise<void>;
  stop(): void;
}

interface Deps {
  digest: BcDigest;
  data: BcData;
  apiRoot: string;
  count(op: string): void;
  violations: string[];
  send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void;
  fail(res: ServerResponse, status: number, code: string, message: string): void;
  refuse(res: ServerResponse, what: string, problems: string[]): void;
  options: SubscriptionOptions;
}

const KEY = /^subscriptions(?:\('((?:[^']|'')*)'\))?$/;
const GUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
/** The app's user (a service-to-service app acts as its own user). */
const APP_USER = "00000000-0000-0000-0000-00000000a991";

export function startSubscriptions(deps: Deps): BcSubscriptions {
  const { digest, data, count, violations, send, fail, refuse } = deps;
  const o = deps.options;
  const lifetimeMs = (o.lifetimeS ?? SUBSCRIPTION_LIFETIME_S) * 1000;
  const delayMs = o.delayMs ?? 1000;
  const maxNotifications = o.maxNotifications ?? 1000;
  const retries = o.retries ?? 3;
  const retryMs = o.retryMs ?? 500;
  const timeoutMs = o.timeoutMs ?? 5000;
  const all = new Map<string, Row>();
  const versions = new Map<string, number>();
  const deliveries: Delivery[] = [];
  const handshakes: { url: string; ok: boolean }[] = [];
  /** subscription id → row id → the entry to send (one per changed entity in a delay). */
  const pending = new Map<string, Map<string, Row>>();
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();
  let stopped = false;
  const resourcePattern = new RegExp(`(?:^|/)api/v2\\.0/companies\\((${GUID})\\)/([A-Za-z]+)$`);

  const etag = (id: string) => `W/"${Buffer.from(`s${versions.get(id) ?? 1}`).toString("base64")}"`;
  const out = (row: Row) => ({ "@odata.etag": etag(row.subscriptionId as string), ...row });
  const check = (where: string, row: Row) => {
    for (const v of digest.checkAnswer(where, "subscriptions", row)) violations.push(`answer: ${v}`);
  };
  const prune = () => {
    const now = Date.now();
    for (const [id, s] of all) if (Date.parse(String(s.expirationDateTime)) <= now) all.delete(id);
  };
  /** The entity set a subscription's resource names, or a problem. */
  const setOf = (resource: string): { set: string } | { problem: string } => {
    const m = resourcePattern.exec(resource.replace(/^https?:\/\/[^/]+/i, "").replace(/\?.*$/, ""));
    if (!m)
      return { problem: `resource ${JSON.stringify(resource)} is not /api/v2.0/companies(<id>)/<entitySet>` };
    if (m[1]?.toLowerCase() !== data.companyId.toLowerCase())
      return { problem: `resource names company ${m[1]}, not this environment's` };
    const set = m[2] as string;
    if (!digest.entity(set)) return { problem: `API v2.0 has no entity set ${set}` };
    if (!WEBHOOK_SETS.has(set)) return { problem: `${set} does not support webhooks` };
    return { set };
  };

  /** Business Central's call to the notification URL: registered only when the token comes back with 200. */
  async function handshake(notificationUrl: string): Promise<boolean> {
    count("handshake");
    const token = randomUUID();
    const u = new URL(notificationUrl);
    u.searchParams.set("validationToken", token);
    let ok = false;
    try {
      const r = await fetch(u, {
        method: "POST",
        headers: { "content-type": "text/plain; charset=utf-8" },
        body: "",
        signal: AbortSignal.timeout(timeoutMs),
      });
      ok = r.status === 200 && (await r.text()) === token;
    } catch {
      ok = false;
    }
    handshakes.push({ url: notificationUrl, ok });
    return ok;
  }

  function schedule() {
    if (timer || stopped) return;
    timer = setTimeout(() => {
      timer = null;
      void flush();
    }, delayMs);
    timer.unref();
  }

  data.onChange = (set: string, row: Row, change: ChangeType) => {
    prune();
    for (const s of all.values()) {
      const target = setOf(String(s.resource));
      if (!("set" in target) || target.set !== set) continue;
      const id = s.subscriptionId as string;
      const entries = pending.get(id) ?? new Map<string, Row>();
      pending.set(id, entries);
      const before = entries.get(row.id as string);
      // Changes within one delay make one notification; a creation stays a creation until a deletion.
      const changeType =
        change === "deleted" ? "deleted" : before?.changeType === "created" ? "created" : change;
      entries.set(row.id as string, {
        subscriptionId: id,
        clientState: s.clientState ?? "",
        expirationDateTime: s.expirationDateTime,
        resource: `api/v2.0/companies(${data.companyId})/${set}(${String(row.id)})`,
        changeType,
        lastModifiedDateTime: String(row.lastModifiedDateTime ?? new Date().toISOString()),
      });
    }
    if (pending.size > 0) schedule();
  };

  async function deliver(url: string, body: { value: Row[] }, subs: Set<string>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      count("notification");
      let status: number | null = null;
      try {
        const r = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = r.status;
        await r.arrayBuffer();
      } catch {
        status = null;
      }
      deliveries.push({ url, status, body });
      if (status !== null && status >= 200 && status < 300) return;
      const retryable = status === null || status === 408 || status === 429 || status >= 500;
      if (!retryable) {
        // Any other answer ends the subscriptions it was for.
        for (const id of subs) all.delete(id);
        return;
      }
      if (attempt >= retries || stopped) return;
      await new Promise((ok) => setTimeout(ok, retryMs).unref());
    }
  }

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    const batch = new Map<string, { value: Row[]; subs: Set<string> }>();
    for (const [id, entries] of pending) {
      const s = all.get(id);
      if (!s) continue;
      let value = [...entries.values()].filter((e) => {
        // A row created and removed again within the delay (a refused deep insert) was never seen.
        const rowId = /\(([^()]*)\)$/.exec(String(e.resource))?.[1] ?? "";
        return e.changeType === "deleted" || data.setOf(rowId) !== null;
      });
      if (value.length > maxNotifications) {
        const since = value.map((e) => String(e.lastModifiedDateTime)).sort()[0] as string;
        const set = (setOf(String(s.resource)) as { set: string }).set;
        value = [
          {
            subscriptionId: id,
            clientState: s.clientState ?? "",
            expirationDateTime: s.expirationDateTime,
            resource: `api/v2.0/companies(${data.companyId})/${set}?$filter=lastModifiedDateTime%20ge%20${since}`,
            changeType: "collection",
            lastModifiedDateTime: value
              .map((e) => String(e.lastModifiedDateTime))
              .sort()
              .at(-1) as string,
          },
        ];
      }
      if (value.length === 0) continue;
      const url = String(s.notificationUrl);
      const b = batch.get(url) ?? { value: [], subs: new Set<string>() };
      b.value.push(...value);
      b.subs.add(id);
      batch.set(url, b);
    }
    pending.clear();
    const sends = [...batch].map(([url, b]) => deliver(url, { value: b.value }, b.subs));
    inFlight = inFlight.then(() => Promise.all(sends).then(() => undefined));
    await inFlight;
  }

  async function handle(
    method: string,
    segment: string,
    url: URL,
    headers: IncomingHttpHeaders,
    raw: string,
    res: ServerResponse,
  ): Promise<void> {
    const m = KEY.exec(segment);
    const op = `${method} subscriptions${m?.[1] !== undefined ? "(id)" : ""}`;
    count(op);
    if (!m) return refuse(res, op, [`${segment} is not subscriptions or subscriptions('<id>')`]);
    const key = m[1]?.replace(/''/g, "'");
    prune();
    const problems: string[] = [];
    for (const k of url.searchParams.keys()) problems.push(`subscriptions takes no query option (${k})`);
    let body: Row | undefined;
    if (raw.trim() !== "") {
      try {
        body = JSON.parse(raw) as Row;
      } catch {
        problems.push("the body is not JSON");
      }
    }
    if (method === "POST" && key !== undefined) problems.push("POST creates in the collection");
    if ((method === "PATCH" || method === "DELETE") && key === undefined)
      problems.push(`${method} needs the subscription's id`);
    if ((method === "PATCH" || method === "DELETE") && !headers["if-match"])
      problems.push("PATCH and DELETE need If-Match with the subscription's @odata.etag (or *)");
    if (method === "POST" || method === "PATCH") {
      if (body === undefined) problems.push("the request has no body");
      else {
        problems.push(...digest.checkWrite(`${op} body`, "subscriptions", body, method));
        if (method === "POST") {
          for (const f of ["notificationUrl", "resource"])
            if (typeof body[f] !== "string" || body[f] === "") problems.push(`${f} is required`);
        }
        if (typeof body.notificationUrl === "string" && !/^https?:\/\/[^\s]+$/i.test(body.notificationUrl))
          problems.push(`notificationUrl ${JSON.stringify(body.notificationUrl)} is not an http(s) URL`);
        if (typeof body.resource === "string") {
          const target = setOf(body.resource);
          if ("problem" in target) problems.push(target.problem);
        }
        if (typeof body.clientState === "string" && body.clientState.length > CLIENT_STATE_MAX)
          problems.push(`clientState is longer than ${CLIENT_STATE_MAX} characters`);
      }
    }
    if (problems.length > 0) return refuse(res, op, problems);

    if (method === "GET" && key === undefined) {
      const value = [...all.values()].map(out);
      value.forEach((r, i) => {
        check(`${op} answer[${i}]`, r);
      });
      return send(res, 200, { "@odata.context": `${deps.apiRoot}/$metadata#subscriptions`, value });
    }
    if (method === "POST") {
      const b = body as Row;
      if (!(await handshake(String(b.notificationUrl))))
        return fail(
          res,
          400,
          "BadRequest",
          "The subscription was not created: the notification URL did not answer the validation token.",
        );
      const now = new Date();
      const id = randomUUID().replace(/-/g, "");
      const row: Row = {
        subscriptionId: id,
        notificationUrl: b.notificationUrl,
        resource: b.resource,
        timestamp: 1,
        userId: APP_USER,
        lastModifiedDateTime: now.toISOString(),
        clientState: typeof b.clientState === "string" ? b.clientState : "",
        expirationDateTime: new Date(now.getTime() + lifetimeMs).toISOString(),
        systemCreatedAt: now.toISOString(),
        systemCreatedBy: APP_USER,
        systemModifiedAt: now.toISOString(),
        systemModifiedBy: APP_USER,
      };
      all.set(id, row);
      versions.set(id, 1);
      const answer = out(row);
      check(`${op} answer`, answer);
      return send(res, 201, answer, { etag: answer["@odata.etag"] });
    }
    const row = all.get(key as string);
    if (!row) return fail(res, 404, "Internal_RecordNotFound", `no subscription ${JSON.stringify(key)}`);
    if (method === "GET") {
      const answer = out(row);
      check(`${op} answer`, answer);
      return send(res, 200, answer, { etag: answer["@odata.etag"] });
    }
    const ifMatch = String(headers["if-match"]);
    if (ifMatch !== "*" && ifMatch !== etag(key as string))
      return fail(res, 412, "Request_EntityChanged", "Another user has already changed the record.");
    if (method === "DELETE") {
      all.delete(key as string);
      pending.delete(key as string);
      return send(res, 204, undefined);
    }
    if (method === "PATCH") {
      const b = body as Row;
      const next = { ...row, ...b };
      if (!(await handshake(String(next.notificationUrl))))
        return fail(
          res,
          400,
          "BadRequest",
          "The subscription was not renewed: the notification URL did not answer the validation token.",
        );
      const now = new Date();
      Object.assign(row, b, {
        lastModifiedDateTime: now.toISOString(),
        systemModifiedAt: now.toISOString(),
        expirationDateTime: new Date(now.getTime() + lifetimeMs).toISOString(),
        timestamp: Number(row.timestamp) + 1,
      });
      versions.set(key as string, (versions.get(key as string) ?? 1) + 1);
      const answer = out(row);
      check(`${op} answer`, answer);
      return send(res, 200, answer, { etag: answer["@odata.etag"] });
    }
    return fail(res, 405, "MethodNotAllowed", `${method} is not served on subscriptions`);
  }

  return {
    all,
    deliveries,
    handshakes,
    flush,
    age(seconds) {
      for (const s of all.values()) {
        const shift = (f: string) => new Date(Date.parse(String(s[f])) - seconds * 1000).toISOString();
        s.expirationDateTime = shift("expirationDateTime");
        s.lastModifiedDateTime = shift("lastModifiedDateTime");
      }
    },
    handle,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      data.onChange = null;
    },
  };
}

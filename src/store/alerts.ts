/**
 * The AlertStore port (ports/alerts.ts) on the Kysely store, SQLite and PostgreSQL alike. Opening an
 * incident is an insert the partial unique index (rule, subject) where open refuses when one is open;
 * claiming a notification is an insert on its primary key (or taking over a failed or stale claim with one
 * conditional UPDATE): the database decides which process sends.
 */
import type { Kysely, Selectable } from "kysely";
import type { AlertStore, Deprecation, Firing, Incident, NotificationKind } from "../ports/alerts.ts";
import type { StoreGate } from "./resilience.ts";
import type { AlertIncidentsTable, Database } from "./schema.ts";
import type { Scrubber } from "./scrub.ts";

function incidentOut(r: Selectable<AlertIncidentsTable>): Incident {
  return {
    id: Number(r.id),
    rule: r.rule,
    subject: r.subject,
    status: r.status,
    summary: r.summary,
    openedAt: r.opened_at,
    closedAt: r.closed_at,
  };
}

function detailOf(text: string | null): Record<string, unknown> {
  if (text === null) return {};
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object" ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export class SqlAlertStore implements AlertStore {
  readonly #db: Kysely<Database>;
  readonly #scrub: Scrubber;
  readonly #gate: StoreGate;

  constructor(db: Kysely<Database>, scrub: Scrubber, gate: StoreGate) {
    this.#db = db;
    this.#scrub = scrub;
    this.#gate = gate;
  }

  async openIncidents(): Promise<Incident[]> {
    const rows = await this.#gate.repeatable("alerts: open incidents", () =>
      this.#db.selectFrom("alert_incidents").selectAll().where("status", "=", "open").orderBy("id").execute(),
    );
    return rows.map(incidentOut);
  }

  async incidents(limit = 100): Promise<Incident[]> {
    const rows = await this.#gate.repeatable("alerts: incidents", () =>
      this.#db.selectFrom("alert_incidents").selectAll().orderBy("id", "desc").limit(limit).execute(),
    );
    return rows.map(incidentOut);
  }

  async openIncident(firing: Firing, at: string): Promise<Incident | null> {
    return this.#gate.transaction("alerts: open incident", async (trx) => {
      const row = await trx
        .insertInto("alert_incidents")
        .values({
          rule: firing.rule,
          subject: firing.subject,
          status: "open",
          summary: this.#scrub.text(firing.summary),
          opened_at: at,
          closed_at: null,
        })
        .onConflict((oc) => oc.doNothing())
        .returningAll()
        .executeTakeFirst();
      return row ? incidentOut(row) : null;
    });
  }

  async updateSummary(id: number, summary: string): Promise<void> {
    await this.#gate.repeatable("alerts: update summary", () =>
      this.#db
        .updateTable("alert_incidents")
        .set({ summary: this.#scrub.text(summary) })
        .where("id", "=", id)
        .where("status", "=", "open")
        .execute(),
    );
  }

  async closeIncident(id: number, at: string): Promise<boolean> {
    const res = await this.#gate.transaction("alerts: close incident", (trx) =>
      trx
        .updateTable("alert_incidents")
        .set({ status: "closed", closed_at: at })
        .where("id", "=", id)
        .where("status", "=", "open")
        .executeTakeFirst(),
    );
    return Number(res.numUpdatedRows) === 1;
  }

  async owed(
    channel: string,
    kinds: readonly NotificationKind[],
  ): Promise<{ incident: Incident; kind: NotificationKind }[]> {
    const out: { incident: Incident; kind: NotificationKind }[] = [];
    const sentOrSending = (kind: NotificationKind) =>
      this.#db
        .selectFrom("alert_notifications")
        .select("incident_id")
        .where("channel", "=", channel)
        .where("kind", "=", kind)
        .where("status", "in", ["sent", "sending"]);
    if (kinds.includes("fire")) {
      const rows = await this.#gate.repeatable("alerts: owed fire", () =>
        this.#db
          .selectFrom("alert_incidents")
          .selectAll()
          .where("status", "=", "open")
          .where("id", "not in", sentOrSending("fire"))
          .orderBy("id")
          .execute(),
      );
      for (const r of rows) out.push({ incident: incidentOut(r), kind: "fire" });
    }
    if (kinds.includes("recovery")) {
      // Only incidents whose firing was announced on this channel get a recovery there.
      const rows = await this.#gate.repeatable("alerts: owed recovery", () =>
        this.#db
          .selectFrom("alert_incidents")
          .selectAll()
          .where("status", "=", "closed")
          .where(
            "id",
            "in",
            this.#db
              .selectFrom("alert_notifications")
              .select("incident_id")
              .where("channel", "=", channel)
              .where("kind", "=", "fire")
              .where("status", "=", "sent"),
          )
          .where("id", "not in", sentOrSending("recovery"))
          .orderBy("id")
          .execute(),
      );
      for (const r of rows) out.push({ incident: incidentOut(r), kind: "recovery" });
    }
    return out;
  }

  async claim(
    incidentId: number,
    channel: string,
    kind: NotificationKind,
    at: string,
    staleBefore: string,
  ): Promise<boolean> {
    return this.#gate.transaction("alerts: claim notification", async (trx) => {
      const inserted = await trx
        .insertInto("alert_notifications")
        .values({
          incident_id: incidentId,
          channel,
          kind,
          status: "sending",
          claimed_at: at,
          sent_at: null,
          last_error: null,
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return true;
      // A failed try, or a claim whose process died while sending: taken over by one conditional update.
      const taken = await trx
        .updateTable("alert_notifications")
        .set((eb) => ({ status: "sending", claimed_at: at, attempts: eb("attempts", "+", 1) }))
        .where("incident_id", "=", incidentId)
        .where("channel", "=", channel)
        .where("kind", "=", kind)
        .where((eb) =>
          eb.or([
            eb("status", "=", "failed"),
            eb.and([eb("status", "=", "sending"), eb("claimed_at", "<", staleBefore)]),
          ]),
        )
        .executeTakeFirst();
      return Number(taken.numUpdatedRows) === 1;
    });
  }

  async markSent(incidentId: number, channel: string, kind: NotificationKind, at: string): Promise<void> {
    await this.#gate.repeatable("alerts: mark sent", () =>
      this.#db
        .updateTable("alert_notifications")
        .set({ status: "sent", sent_at: at, last_error: null })
        .where("incident_id", "=", incidentId)
        .where("channel", "=", channel)
        .where("kind", "=", kind)
        .execute(),
    );
  }

  async markFailed(
    incidentId: number,
    channel: string,
    kind: NotificationKind,
    error: string,
  ): Promise<void> {
    await this.#gate.repeatable("alerts: mark failed", () =>
      this.#db
        .updateTable("alert_notifications")
        .set({ status: "failed", last_error: this.#scrub.text(error).slice(0, 2000) })
        .where("incident_id", "=", incidentId)
        .where("channel", "=", channel)
        .where("kind", "=", kind)
        .where("status", "=", "sending")
        .execute(),
    );
  }

  async notifications(incidentId: number) {
    const rows = await this.#gate.repeatable("alerts: notifications", () =>
      this.#db
        .selectFrom("alert_notifications")
        .selectAll()
        .where("incident_id", "=", incidentId)
        .orderBy("channel")
        .orderBy("kind")
        .execute(),
    );
    return rows.map((r) => ({
      channel: r.channel,
      kind: r.kind,
      status: r.status,
      attempts: Number(r.attempts),
      lastError: r.last_error,
    }));
  }

  async recordDeprecations(seen: Omit<Deprecation, "firstSeen" | "lastSeen">[], at: string): Promise<void> {
    if (seen.length === 0) return;
    await this.#gate.transaction("alerts: record deprecations", async (trx) => {
      for (const d of seen) {
        const reason = this.#scrub.text(d.reason).slice(0, 1000);
        await trx
          .insertInto("api_deprecations")
          .values({
            connection: d.connection,
            site: d.site,
            reason,
            sunset: d.sunset,
            count: d.count,
            first_seen: at,
            last_seen: at,
          })
          .onConflict((oc) =>
            oc.columns(["connection", "site", "reason"]).doUpdateSet((eb) => ({
              count: eb("api_deprecations.count", "+", d.count),
              last_seen: at,
              sunset: d.sunset ?? eb.ref("api_deprecations.sunset"),
            })),
          )
          .execute();
      }
    });
  }

  async deprecations(connection?: string): Promise<Deprecation[]> {
    let q = this.#db.selectFrom("api_deprecations").selectAll().orderBy("connection").orderBy("site");
    if (connection !== undefined) q = q.where("connection", "=", connection);
    const rows = await this.#gate.repeatable("alerts: deprecations", () => q.execute());
    return rows.map((r) => ({
      connection: r.connection,
      site: r.site,
      reason: r.reason,
      sunset: r.sunset,
      count: Number(r.count),
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
    }));
  }

  async failureCounts(flow: string, since: string): Promise<{ attempted: number; failed: number }> {
    const [attempted, failed] = await this.#gate.repeatable("alerts: failure counts", () =>
      Promise.all([
        this.#db
          .selectFrom("sync_events")
          .select((eb) => eb.fn.count<number>("id").as("n"))
          .where("flow", "=", flow)
          .where("at", ">=", since)
          .where("kind", "in", ["created", "updated", "failed"])
          .executeTakeFirst(),
        this.#db
          .selectFrom("failed_records")
          .select((eb) => eb.fn.count<number>("id").as("n"))
          .where("flow", "=", flow)
          .where("status", "in", ["open", "retrying"])
          .where("last_failed_at", ">=", since)
          .executeTakeFirst(),
      ]),
    );
    return { attempted: Number(attempted?.n ?? 0), failed: Number(failed?.n ?? 0) };
  }

  async lastFinishedRun(flow: string): Promise<string | null> {
    const row = await this.#gate.repeatable("alerts: last finished run", () =>
      this.#db
        .selectFrom("runs")
        .select((eb) => eb.fn.max("finished_at").as("at"))
        .where("flow", "=", flow)
        .where("mode", "in", ["sync", "retry"])
        .where("status", "in", ["succeeded", "partial"])
        .executeTakeFirst(),
    );
    return (row?.at as string | null | undefined) ?? null;
  }

  async readRecords(flow: string, since: string) {
    const rows = await this.#gate.repeatable("alerts: read records", () =>
      this.#db
        .selectFrom("sync_events")
        .select(["key", "kind", "detail", "at", "id"])
        .where("flow", "=", flow)
        .where("at", ">=", since)
        .where("kind", "in", ["read", "created", "updated", "skipped", "failed", "held"])
        .orderBy("id")
        .execute(),
    );
    const byKey = new Map<
      string,
      {
        key: string;
        firstReadAt: string;
        placedAt: string | null;
        updatedAt: string | null;
        lastKind: string;
      }
    >();
    for (const r of rows) {
      let rec = byKey.get(r.key);
      if (r.kind === "read" && rec === undefined) {
        const detail = detailOf(r.detail);
        rec = {
          key: r.key,
          firstReadAt: r.at,
          placedAt: typeof detail.placedAt === "string" ? detail.placedAt : null,
          updatedAt: typeof detail.updatedAt === "string" ? detail.updatedAt : null,
          lastKind: "read",
        };
        byKey.set(r.key, rec);
      } else if (rec !== undefined && r.kind !== "read") rec.lastKind = r.kind;
    }
    return [...byKey.values()];
  }
}

/**
 * The renewal `passerelle run` schedules: against the Business Central emulator, whose subscriptions expire
 * three days after they are made (and whose handshake calls the address for real), subscriptions two and a
 * half days old are renewed, fresh ones are left alone, a connection whose vendor refuses is reported without
 * stopping the others, and a configuration without webhook-managing connections schedules nothing.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { type BcEmulator, startBcEmulator } from "@passerelle/emulators";
import { bcSettings } from "../../test/fixtures/business-central-contract.ts";
import { BusinessCentralConfig } from "../connectors/business-central/config.ts";
import { businessCentral } from "../connectors/business-central/index.ts";
import type { Connector } from "../ports/connector.ts";
import type { Context } from "./context.ts";
import { managed, RENEW_CRON, renewSubscriptions, webhookRenewalSchedule } from "./webhook-renewal.ts";

const SECRET = "bc-renewal-secret-5b1e0c7d9a3f42e8";
const DAY_S = 24 * 3600;

describe("webhook subscriptions renewed while passerelle run runs", () => {
  let emu: BcEmulator;
  let echo: Server;
  let address = "";
  let conn: Connector;
  let refused: Connector;

  before(async () => {
    emu = await startBcEmulator({ items: 2, customers: 2, webhooks: { delayMs: 20, retryMs: 10 } });
    // The notification address: answers Business Central's handshake by echoing its token.
    echo = createServer((req, res) => {
      const token = new URL(req.url ?? "/", "http://x").searchParams.get("validationToken");
      res.writeHead(200, { "content-type": "text/plain" }).end(token ?? "");
    });
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    address = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/webhooks/erp`;
    conn = businessCentral.create(
      "erp",
      BusinessCentralConfig.parse(bcSettings(emu, { webhookSecret: SECRET })),
    );
    refused = businessCentral.create(
      "erp-wrong-secret",
      BusinessCentralConfig.parse(bcSettings(emu, { webhookSecret: SECRET, clientSecret: "not-the-secret" })),
    );
    await conn.webhooks?.register(address);
  });
  after(async () => {
    await conn.close();
    await refused.close();
    await new Promise((r) => echo.close(r));
    assert.deepEqual(emu.violations, []);
    await emu.close();
  });

  test("fresh subscriptions: registered again, nothing renewed, no handshake", async () => {
    const handshakes = emu.webhooks.handshakes.length;
    const renewals = await renewSubscriptions([conn]);
    assert.deepEqual(renewals, [
      {
        connection: "erp",
        addresses: [{ url: address, topics: ["customers", "items", "salesInvoices"] }],
        recreated: [],
      },
    ]);
    assert.equal(emu.webhooks.handshakes.length, handshakes);
    assert.equal(emu.checked.get("PATCH subscriptions(id)") ?? 0, 0);
  });

  test("two and a half days later: each renewed for three days, after a handshake; a refusing vendor reported", async () => {
    emu.webhooks.age(2.5 * DAY_S);
    const handshakes = emu.webhooks.handshakes.length;
    const before = Date.now();
    const renewals = await renewSubscriptions([refused, conn]);
    const bad = renewals.find((r) => r.connection === "erp-wrong-secret");
    assert.ok(bad?.error, JSON.stringify(renewals));
    assert.ok(!bad.error.includes("not-the-secret"), bad.error);
    assert.deepEqual(renewals.find((r) => r.connection === "erp")?.addresses[0]?.topics.length, 3);
    assert.equal(emu.checked.get("PATCH subscriptions(id)"), 3);
    assert.equal(emu.webhooks.handshakes.length, handshakes + 3);
    for (const s of emu.webhooks.all.values()) {
      const left = Date.parse(String(s.expirationDateTime)) - before;
      assert.ok(left > 2.9 * DAY_S * 1000, `renewed for three days, ${left} ms left`);
    }
  });

  test("down for four days: the expired subscriptions are gone at the vendor and come back at the remembered address", async () => {
    emu.webhooks.age(4 * DAY_S);
    assert.deepEqual(await conn.webhooks?.list(), [], "expired subscriptions are dropped by the vendor");
    // What the vendor lists is all a renewal without the store's memory has: nothing comes back.
    assert.deepEqual(await renewSubscriptions([conn]), [{ connection: "erp", addresses: [], recreated: [] }]);
    const handshakes = emu.webhooks.handshakes.length;
    const renewals = await renewSubscriptions([conn], new Map([["erp", [address]]]));
    const topics = ["customers", "items", "salesInvoices"];
    assert.deepEqual(renewals, [
      { connection: "erp", addresses: [{ url: address, topics }], recreated: [{ url: address, topics }] },
    ]);
    assert.equal(emu.webhooks.handshakes.length, handshakes + 3, "each new subscription is validated");
    const live = (await conn.webhooks?.list()) ?? [];
    assert.deepEqual(live.map((s) => s.topic).sort(), topics);
    // The next turn finds them all there: nothing is created twice.
    const again = await renewSubscriptions([conn], new Map([["erp", [address]]]));
    assert.deepEqual(again[0]?.recreated, []);
    assert.equal((await conn.webhooks?.list())?.length, 3);
  });

  test("scheduled every six hours only when a connection manages subscriptions", () => {
    const ctx = (connectors: Connector[]) =>
      ({ connectors: new Map(connectors.map((c) => [c.name, c])) }) as unknown as Context;
    assert.deepEqual(webhookRenewalSchedule(ctx([conn])), {
      name: "webhooks",
      cron: RENEW_CRON,
      job: { queue: "webhooks", payload: {}, singletonKey: "webhooks" },
      atStart: true,
    });
    const plain = { ...conn, name: "plain", webhooks: undefined } as Connector;
    assert.equal(webhookRenewalSchedule(ctx([plain])), null);
    assert.deepEqual(
      managed([plain, conn]).map((c) => c.name),
      ["erp"],
    );
  });
});

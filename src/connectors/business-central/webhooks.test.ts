/**
 * Business Central webhooks end to end in one process: the connector's subscription manager against the
 * emulator's `/api/v2.0/subscriptions`, and Passerelle's webhook server (the connection's receiver) as the
 * notification URL. The emulator really calls that URL for the validation handshake on creation and
 * renewal, and really POSTs its notifications there after a change; the server stores one event per change.
 * `register` is idempotent, renews what expires within a day, and the secret (clientState) never reaches
 * the store, a reported subscription or an error.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type BcEmulator, startBcEmulator } from "@passerelle/emulators";
import { bcSettings } from "../../../test/fixtures/business-central-contract.ts";
import { SyncError } from "../../core/errors.ts";
import type { Connector, WebhookManager } from "../../ports/connector.ts";
import type { WebhookInbox } from "../../ports/inbox.ts";
import type { Store } from "../../ports/store.ts";
import { type RunningServer, startServer, type WebhookEndpoint } from "../../server/app.ts";
import { openStore } from "../../store/index.ts";
import { BusinessCentralConfig } from "./config.ts";
import { businessCentral } from "./index.ts";

const SECRET = "bc-webhook-secret-7f3a9c1e52d04b8a";
const DAY_S = 24 * 3600;

describe("Business Central webhook subscriptions and notifications", () => {
  const dir = mkdtempSync(join(tmpdir(), "passerelle-bc-webhooks-"));
  let emu: BcEmulator;
  let store: Store;
  let inbox: WebhookInbox;
  let server: RunningServer;
  let conn: Connector;
  let hooks: WebhookManager;
  let address = "";

  before(async () => {
    emu = await startBcEmulator({ items: 4, customers: 3, webhooks: { delayMs: 20, retryMs: 10 } });
    const config = BusinessCentralConfig.parse(bcSettings(emu, { webhookSecret: SECRET }));
    store = await openStore(`sqlite:${join(dir, "s.db")}`);
    await store.migrate();
    inbox = store.openInbox();
    server = await startServer({
      host: "127.0.0.1",
      port: 0,
      endpoints: new Map<string, WebhookEndpoint>([
        ["bc", { receiver: businessCentral.webhooks as WebhookEndpoint["receiver"], config }],
      ]),
      inbox,
    });
    address = `${server.url}/webhooks/bc`;
    conn = businessCentral.create("bc", config);
    assert.ok(conn.webhooks, "the connection manages webhook subscriptions");
    hooks = conn.webhooks;
  });
  after(async () => {
    await conn.close();
    await server.close();
    await store.close();
    assert.deepEqual(emu.violations, [], "a request or answer broke the contract");
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("register: one subscription per entity set, each after a real handshake with the server", async () => {
    const { created, existing } = await hooks.register(address);
    assert.deepEqual(created.map((s) => s.topic).sort(), ["customers", "items", "salesInvoices"]);
    assert.equal(existing.length, 0);
    for (const s of created) assert.equal(s.url, address);
    assert.equal(emu.webhooks.handshakes.length, 3);
    assert.ok(emu.webhooks.handshakes.every((h) => h.ok && h.url === address));
    const subs = [...emu.webhooks.all.values()];
    assert.equal(subs.length, 3);
    for (const s of subs) {
      assert.equal(s.clientState, SECRET);
      assert.match(String(s.resource), new RegExp(`^/api/v2\\.0/companies\\(${emu.companyId}\\)/`));
    }
    // What Passerelle reports of a subscription holds no secret.
    assert.ok(!JSON.stringify(created).includes(SECRET));
    assert.deepEqual((await hooks.list()).map((s) => s.topic).sort(), [
      "customers",
      "items",
      "salesInvoices",
    ]);
  });

  test("register again changes nothing: no create, no renewal, no handshake", async () => {
    const posts = emu.checked.get("POST subscriptions") ?? 0;
    const handshakes = emu.webhooks.handshakes.length;
    const again = await hooks.register(address);
    assert.equal(again.created.length, 0);
    assert.equal(again.existing.length, 3);
    assert.equal(emu.checked.get("POST subscriptions") ?? 0, posts);
    assert.equal(emu.checked.get("PATCH subscriptions(id)") ?? 0, 0);
    assert.equal(emu.webhooks.handshakes.length, handshakes);
    assert.equal(emu.webhooks.all.size, 3);
  });

  test("a changed customer reaches the server as one stored event; the secret is not stored", async () => {
    const customer = [...emu.data.customers.values()][0] as { id: string };
    emu.data.patchCustomer(customer.id, { phoneNumber: "+33 1 23 45 67 89" });
    emu.data.patchCustomer(customer.id, { phoneNumber: "+33 1 23 45 67 80" });
    await emu.webhooks.flush();
    const sent = emu.webhooks.deliveries.at(-1);
    assert.equal(sent?.status, 200);
    // Two changes within the delay make one notification.
    assert.equal(sent?.body.value.length, 1);
    const events = (await inbox.list({ connection: "bc" })).filter((e) => e.recordId === customer.id);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.entity, "customer");
    assert.equal(events[0]?.topic, "updated");
    assert.ok(!JSON.stringify(events).includes(SECRET), "the stored event holds the clientState");
    await store.close();
    for (const f of readdirSync(dir))
      assert.ok(!readFileSync(join(dir, f)).includes(SECRET), `the secret is in the store's file ${f}`);
    store = await openStore(`sqlite:${join(dir, "s.db")}`);
    inbox = store.openInbox();
  });

  test("register renews (PATCH, handshake again) what expires within a day, and only that", async () => {
    emu.webhooks.age(2.5 * DAY_S);
    const handshakes = emu.webhooks.handshakes.length;
    const before = Date.now();
    const { created, existing } = await hooks.register(address);
    assert.equal(created.length, 0);
    assert.equal(existing.length, 3);
    assert.equal(emu.checked.get("PATCH subscriptions(id)"), 3);
    assert.equal(emu.webhooks.handshakes.length, handshakes + 3);
    for (const s of emu.webhooks.all.values()) {
      const left = Date.parse(String(s.expirationDateTime)) - before;
      assert.ok(left > 2.9 * DAY_S * 1000, `renewed for three days, ${left} ms left`);
    }
  });

  test("an address that does not answer the handshake: a config error naming it, nothing created", async () => {
    const count = emu.webhooks.all.size;
    const bad = `${server.url}/webhooks/nobody`;
    await assert.rejects(
      () => hooks.register(bad, ["customers"]),
      (e: unknown) =>
        e instanceof SyncError &&
        e.kind === "config" &&
        e.message.includes(bad) &&
        /handshake/.test(e.message) &&
        !e.message.includes(SECRET),
    );
    assert.equal(emu.webhooks.all.size, count);
    assert.equal(emu.webhooks.handshakes.at(-1)?.ok, false);
  });

  test("without webhookSecret, register is a config error before any call", async () => {
    const plain = businessCentral.create("bc-plain", BusinessCentralConfig.parse(bcSettings(emu)));
    const calls = plain.stats().calls;
    await assert.rejects(
      () => (plain.webhooks as WebhookManager).register(address),
      (e: unknown) => e instanceof SyncError && e.kind === "config" && /webhookSecret/.test(e.message),
    );
    assert.equal(plain.stats().calls, calls);
    await plain.close();
  });

  test("a topic Business Central sends no webhooks for is refused by name", async () => {
    await assert.rejects(
      () => hooks.register(address, ["itemLedgerEntries"]),
      (e: unknown) => e instanceof SyncError && e.kind === "config" && /itemLedgerEntries/.test(e.message),
    );
  });

  test("unregister removes the address's subscriptions (DELETE with If-Match)", async () => {
    const gone = await hooks.unregister(address);
    assert.equal(gone.length, 3);
    assert.equal(emu.webhooks.all.size, 0);
    assert.deepEqual(await hooks.list(), []);
  });
});

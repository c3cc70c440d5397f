/**
 * `passerelle webhooks register|list|unregister` for a Business Central connection, as a user runs them:
 * the real CLI in a child process, reading a passerelle.yaml whose secrets come from the environment; the
 * Business Central emulator and Passerelle's webhook server (the connection's receiver, the address given
 * with --address) in this process. Business Central's handshake reaches the server before each
 * subscription exists; `register` twice creates nothing more; a change in Business Central then arrives at
 * the server as a stored event; the webhook secret is in no output, and `unregister` removes them all.
 * The CLI's store remembers the address registered (what `passerelle run` subscribes again where Business
 * Central let a subscription expire) and forgets it on `unregister`; a refused address is not remembered.
 * `passerelle run`, started after four days down (every subscription expired and gone at Business Central),
 * subscribes the remembered address again at its start and says so in its log.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type BcEmulator, startBcEmulator } from "@passerelle/emulators";
import { BusinessCentralConfig } from "../../src/connectors/business-central/config.ts";
import { businessCentral } from "../../src/connectors/business-central/index.ts";
import type { WebhookInbox } from "../../src/ports/inbox.ts";
import type { Store } from "../../src/ports/store.ts";
import { type RunningServer, startServer, type WebhookEndpoint } from "../../src/server/app.ts";
import { openStore } from "../../src/store/index.ts";
import { explain, hasStackTrace, json, leakedSecrets, spawnCli } from "./helpers.ts";
import { startCli } from "./long-running.ts";

const SECRET = "bc-e2e-webhook-secret-5d1f0a7c9e3b";

describe("passerelle webhooks for Business Central through the CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "passerelle-bc-e2e-"));
  let emu: BcEmulator;
  let store: Store;
  let inbox: WebhookInbox;
  let server: RunningServer;
  let env: NodeJS.ProcessEnv;
  let address = "";

  before(async () => {
    emu = await startBcEmulator({ items: 3, customers: 2, webhooks: { delayMs: 20 } });
    const config = BusinessCentralConfig.parse({
      tenantId: emu.tenantId,
      url: emu.apiUrl,
      tokenUrl: emu.tokenUrl,
      clientId: emu.clientId,
      clientSecret: emu.clientSecret,
      companyId: emu.companyId,
      webhookSecret: SECRET,
    });
    store = await openStore(`sqlite:${join(dir, "server.db")}`);
    await store.migrate();
    inbox = store.openInbox();
    server = await startServer({
      host: "127.0.0.1",
      port: 0,
      endpoints: new Map<string, WebhookEndpoint>([
        ["erp", { receiver: businessCentral.webhooks as WebhookEndpoint["receiver"], config }],
      ]),
      inbox,
    });
    address = `${server.url}/webhooks/erp`;
    const configPath = join(dir, "passerelle.yaml");
    writeFileSync(
      configPath,
      `version: 1
store:
  url: sqlite:${join(dir, "cli.db")}
connections:
  erp:
    type: business-central
    tenantId: \${env:BC_TENANT_ID}
    url: \${env:BC_URL}
    tokenUrl: \${env:BC_TOKEN_URL}
    clientId: \${env:BC_CLIENT_ID}
    clientSecret: \${env:BC_CLIENT_SECRET}
    companyId: \${env:BC_COMPANY_ID}
    webhookSecret: \${env:BC_WEBHOOK_SECRET}
`,
    );
    env = {
      ...process.env,
      PASSERELLE_CONFIG: configPath,
      BC_TENANT_ID: emu.tenantId,
      BC_URL: emu.apiUrl,
      BC_TOKEN_URL: emu.tokenUrl,
      BC_CLIENT_ID: emu.clientId,
      BC_CLIENT_SECRET: emu.clientSecret,
      BC_COMPANY_ID: emu.companyId,
      BC_WEBHOOK_SECRET: SECRET,
    };
  });
  after(async () => {
    await server.close();
    await store.close();
    assert.deepEqual(emu.violations, [], "a request or answer broke the contract");
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) => spawnCli(args, env);
  /** The addresses the CLI's own store remembers for the connection. */
  const remembered = async () => {
    const cliStore = await openStore(`sqlite:${join(dir, "cli.db")}`);
    try {
      return (await cliStore.webhookAddresses("erp")).map((r) => r.address);
    } finally {
      await cliStore.close();
    }
  };
  const clean = (text: string) => {
    assert.deepEqual(leakedSecrets(text, [SECRET, emu.clientSecret]), [], "a secret in the output");
    assert.ok(!hasStackTrace(text), text);
  };

  it("register subscribes after the handshake; twice leaves one subscription per entity set", async () => {
    const first = await cli(["webhooks", "register", "erp", "--address", address, "--json"]);
    assert.equal(first.code, 0, explain(first));
    clean(first.stdout + first.stderr);
    const created = (json(first) as { created: { topic: string; url: string }[] }).created;
    assert.deepEqual(created.map((s) => s.topic).sort(), ["customers", "items", "salesInvoices"]);
    assert.ok(emu.webhooks.handshakes.length === 3 && emu.webhooks.handshakes.every((h) => h.ok));

    const second = await cli(["webhooks", "register", "erp", "--address", address, "--json"]);
    assert.equal(second.code, 0, explain(second));
    clean(second.stdout + second.stderr);
    const again = json(second) as { created: unknown[]; existing: unknown[] };
    assert.equal(again.created.length, 0);
    assert.equal(again.existing.length, 3);
    assert.equal(emu.webhooks.all.size, 3);
    assert.equal(emu.webhooks.handshakes.length, 3, "nothing to renew, no handshake");

    const list = await cli(["webhooks", "list", "erp", "--json"]);
    assert.equal(list.code, 0, explain(list));
    clean(list.stdout + list.stderr);
    assert.equal((json(list) as { subscriptions: unknown[] }).subscriptions.length, 3);
    assert.deepEqual(await remembered(), [address]);
  });

  it("a changed item in Business Central arrives at the server as a stored product event", async () => {
    const item = [...emu.data.items.values()][0] as { id: string };
    emu.data.patchItem(item.id, { gtin: "3760000000017" });
    await emu.webhooks.flush();
    const events = (await inbox.list({ connection: "erp" })).filter((e) => e.recordId === item.id);
    assert.equal(events.length, 1);
    assert.deepEqual([events[0]?.entity, events[0]?.topic], ["product", "updated"]);
    assert.ok(!JSON.stringify(events).includes(SECRET));
  });

  it("register at an address that does not answer the handshake: exit 2 naming it, no stack", async () => {
    const bad = `${server.url}/webhooks/nobody`;
    const res = await cli(["webhooks", "register", "erp", "--address", bad]);
    assert.equal(res.code, 2, explain(res));
    assert.ok(res.stderr.includes(bad), res.stderr);
    assert.match(res.stderr, /handshake/);
    clean(res.stdout + res.stderr);
    assert.equal(emu.webhooks.all.size, 3);
    assert.deepEqual(await remembered(), [address], "a refused address is not remembered");
  });

  it("passerelle run after four days down subscribes the expired topics again at its start", async () => {
    emu.webhooks.age(4 * 24 * 3600);
    const listed = async () => {
      const res = await cli(["webhooks", "list", "erp", "--json"]);
      assert.equal(res.code, 0, explain(res));
      return (json(res) as { subscriptions: { topic: string }[] }).subscriptions.map((x) => x.topic).sort();
    };
    assert.deepEqual(await listed(), [], "Business Central dropped the expired subscriptions");
    const handshakes = emu.webhooks.handshakes.length;
    const run = startCli(["run", "--port", "0"], env);
    try {
      await run.waitFor("stderr", /subscribed again/);
    } finally {
      const res = await run.stop();
      assert.equal(res.code, 0, explain(res));
      clean(res.stdout + res.stderr);
    }
    assert.equal(emu.webhooks.handshakes.length, handshakes + 3, "each validated by the address");
    assert.deepEqual(await listed(), ["customers", "items", "salesInvoices"]);
  });

  it("unregister removes the address's subscriptions", async () => {
    const res = await cli(["webhooks", "unregister", "erp", "--address", address, "--json"]);
    assert.equal(res.code, 0, explain(res));
    clean(res.stdout + res.stderr);
    assert.equal(emu.webhooks.all.size, 0);
    assert.deepEqual(await remembered(), []);
  });
});

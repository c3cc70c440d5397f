/** Connection-level behaviour of the NetSuite connector: refused credentials and bad settings, secrets kept out. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type NetSuiteEmulator, startNetSuiteEmulator } from "@passerelle/emulators";
import { NetSuiteConfig } from "./config.ts";
import { netsuite } from "./index.ts";

let emu: NetSuiteEmulator;
before(async () => {
  emu = await startNetSuiteEmulator({ items: 2 });
});
after(() => emu.close());

const settings = () => ({
  accountId: emu.accountId,
  url: emu.url,
  consumerKey: emu.consumerKey,
  consumerSecret: emu.consumerSecret,
  tokenId: emu.tokenId,
  tokenSecret: "a-wrong-token-secret-value",
});

test("a refused signature is a config error that names neither secret", async () => {
  const c = netsuite.create("erp", NetSuiteConfig.parse(settings()));
  try {
    await assert.rejects(c.check(), (e: Error) => {
      assert.match(e.message, /401/);
      assert.ok(!e.message.includes("a-wrong-token-secret-value"), e.message);
      assert.ok(!e.message.includes(emu.consumerSecret), e.message);
      return true;
    });
  } finally {
    await c.close();
  }
});

test("the right signature passes the check", async () => {
  const c = netsuite.create("erp", NetSuiteConfig.parse({ ...settings(), tokenSecret: emu.tokenSecret }));
  try {
    await c.check();
  } finally {
    await c.close();
  }
});

test("a bad account id is refused naming the field and the value", () => {
  const r = NetSuiteConfig.safeParse({ ...settings(), accountId: "acme corp" });
  assert.equal(r.success, false);
  assert.deepEqual(r.error?.issues[0]?.path, ["accountId"]);
  assert.match(r.error?.issues[0]?.message ?? "", /NetSuite account id/);
});

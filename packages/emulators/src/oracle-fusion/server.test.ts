import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FUSION_ROOT, fusionSpecSkip } from "./contract.ts";
import { type FusionEmulator, startFusionEmulator } from "./server.ts";

describe("the Oracle Fusion emulator", { skip: fusionSpecSkip() }, () => {
  let emu: FusionEmulator;
  let auth: string;
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${emu.url}${FUSION_ROOT}${path}`, {
      method,
      headers: { authorization: auth, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  before(async () => {
    emu = await startFusionEmulator({ items: 30, seed: 3 });
    auth = `Basic ${Buffer.from(`${emu.username}:${emu.password}`).toString("base64")}`;
  });
  after(() => emu.close());

  test("answers 401 without the right basic credentials", async () => {
    const res = await fetch(`${emu.url}${FUSION_ROOT}/itemsV2`);
    assert.equal(res.status, 401);
  });

  test("pages with limit/offset and hasMore, filters with q, sorts with orderBy", async () => {
    const p1 = (await (await call("GET", "/itemsV2?limit=10&offset=0&orderBy=ItemNumber:desc")).json()) as {
      items: { ItemNumber: string }[];
      hasMore: boolean;
      count: number;
    };
    assert.equal(p1.count, 10);
    assert.equal(p1.hasMore, true);
    assert.equal(p1.items[0]?.ItemNumber, "FG0030");
    const p3 = (await (await call("GET", "/itemsV2?limit=10&offset=20")).json()) as { hasMore: boolean };
    assert.equal(p3.hasMore, false);
    const one = (await (await call("GET", "/itemsV2?q=ItemNumber='FG0007'")).json()) as { items: unknown[] };
    assert.equal(one.items.length, 1);
    assert.equal((await call("GET", "/itemsV2?q=NoSuchAttr='x'")).status, 400);
  });

  test("refuses and records what the collections do not define", async () => {
    const before = emu.violations.length;
    assert.equal((await call("GET", "/noSuchResource")).status, 400);
    assert.equal((await call("GET", "/itemsV2?sortBy=ItemId")).status, 400);
    assert.equal(
      (
        await call("POST", "/salesOrdersForOrderHub", {
          SourceTransactionSystem: "X",
          SourceTransactionId: "1",
          SourceTransactionNumber: "1",
          BusinessUnitId: 1,
          InventedAttribute: "x",
        })
      ).status,
      400,
    );
    assert.equal(emu.violations.length, before + 3);
    assert.match(emu.violations.at(-1) ?? "", /InventedAttribute/);
  });
});

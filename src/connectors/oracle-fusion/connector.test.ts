import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FusionConfig } from "./config.ts";
import { oracleFusion } from "./index.ts";
import { refFor } from "./writers/order.ts";

const settings = {
  baseUrl: "https://pod.fa.us2.oraclecloud.com/fscmRestApi/resources/11.13.18.05/",
  username: "integration.user",
  password: "S3cret-Never-Shown",
  businessUnitId: 300000046,
  currency: "USD",
};

describe("the Oracle Fusion connector's settings and client", () => {
  test("the base URL keeps only the pod", () => {
    assert.equal(FusionConfig.parse(settings).baseUrl, "https://pod.fa.us2.oraclecloud.com");
  });

  test("bad settings name the field", () => {
    const r = FusionConfig.safeParse({ ...settings, currency: "dollars" });
    assert.equal(r.success, false);
    assert.match(JSON.stringify(r.error?.issues), /currency/);
  });

  test("a refused login never shows the password", async () => {
    const conn = oracleFusion.create(
      "erp",
      FusionConfig.parse({ ...settings, baseUrl: "http://127.0.0.1:9" }),
    );
    await assert.rejects(conn.check(), (err: Error) => {
      assert.doesNotMatch(`${err.message} ${err.stack ?? ""}`, /S3cret-Never-Shown/);
      return true;
    });
  });

  test("long references are cut to 50 characters and stay distinct", () => {
    const a = refFor(`shop:${"x".repeat(80)}a`);
    const b = refFor(`shop:${"x".repeat(80)}b`);
    assert.equal(a.length, 50);
    assert.notEqual(a, b);
  });
});

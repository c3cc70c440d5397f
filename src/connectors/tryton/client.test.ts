import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { classifyRpcError, classifyStatus } from "./client.ts";
import { priceListGroup } from "./context.ts";
import { ordered } from "./paging.ts";
import { addressOf } from "./streams/customer.ts";
import { invoiceDocument } from "./streams/invoice.ts";

describe("tryton error mapping", () => {
  test("UserError is a permanent refusal naming the call and carrying Tryton's message", () => {
    const err = classifyRpcError(
      ["UserError", ['A value is required for field "Default UOM" in "Product Template".', "", null]],
      "product.template.create for product X-1",
      "erp",
    );
    assert.equal(err.kind, "permanent");
    assert.equal(err.details.system, "erp");
    assert.match(
      err.message,
      /^Tryton rejected product\.template\.create for product X-1: A value is required/,
    );
    assert.deepEqual(err.details.vendorBody, {
      exception: "UserError",
      message: 'A value is required for field "Default UOM" in "Product Template".',
    });
  });

  test("a UserError's description is kept after its message", () => {
    const err = classifyRpcError(
      ["UserError", ["Cannot quote.", "Set a warehouse.", null]],
      "sale.sale.quote",
      "erp",
    );
    assert.match(err.message, /Cannot quote\. — Set a warehouse\./);
  });

  test("login and access errors are configuration errors", () => {
    assert.equal(
      classifyRpcError(["LoginException", ["password", "Password", "password"]], "login", "erp").kind,
      "config",
    );
    assert.equal(
      classifyRpcError(["AccessError", ["You are not allowed"]], "party.party.read", "erp").kind,
      "config",
    );
  });

  test("concurrency and locked-database errors are retryable", () => {
    assert.equal(
      classifyRpcError(["ConcurrencyException", ["Records were modified"]], "x", "erp").kind,
      "retryable",
    );
    assert.equal(classifyRpcError(["database is locked", ""], "x", "erp").kind, "retryable");
  });

  test("an unknown model comes back as a bare exception text: permanent", () => {
    const err = classifyRpcError(["'no.such.model'", ""], "no.such.model.search_read", "erp");
    assert.equal(err.kind, "permanent");
    assert.match(err.message, /'no\.such\.model'/);
  });

  test("HTTP statuses: 401 config (credentials), 429 throttled, 5xx retryable, 404 config", () => {
    const url = "http://erp.local:8000";
    const unauthorized = classifyStatus(401, "login", "erp", url);
    assert.equal(unauthorized.kind, "config");
    assert.match(unauthorized.message, /Tryton at http:\/\/erp\.local:8000 refused the credentials/);
    assert.equal(classifyStatus(429, "x", "erp", url).kind, "rate_limited");
    assert.equal(classifyStatus(503, "x", "erp", url).kind, "retryable");
    assert.equal(classifyStatus(404, "x", "erp", url).kind, "config");
    assert.equal(classifyStatus(400, "x", "erp", url).kind, "permanent");
  });

  test("a password inside the URL never reaches the message", () => {
    const err = classifyStatus(401, "login", "erp", "http://admin:s3cret-pass@erp.local:8000");
    assert.doesNotMatch(err.message, /s3cret-pass/);
  });
});

describe("tryton mapping helpers", () => {
  test("price list names give the customer group", () => {
    assert.deepEqual(priceListGroup("Wholesale"), { code: "wholesale", group: "wholesale" });
    assert.deepEqual(priceListGroup("VIP EUR"), { code: "vip-eur", group: "vip" });
    assert.deepEqual(priceListGroup("Händler (CHF)"), { code: "handler-chf", group: "handler" });
  });

  test("addresses: multi-line streets split, invoice/delivery flags give the type, no country → none", () => {
    const row = {
      id: 1,
      street: "Hauptstraße 1\nHinterhaus",
      city: "Berlin",
      postal_code: "10115",
      "country.": { code: "DE", id: 3 },
      invoice: true,
      delivery: false,
      party_name: "Ada",
    };
    assert.deepEqual(addressOf(row), {
      type: "billing",
      name: "Ada",
      line1: "Hauptstraße 1",
      line2: "Hinterhaus",
      city: "Berlin",
      postalCode: "10115",
      region: undefined,
      country: "DE",
    });
    assert.equal(addressOf({ ...row, "country.": null }), null);
    assert.equal(addressOf({ ...row, invoice: true, delivery: true })?.type, "both");
  });

  test("change index entries come in cursor order from the cursor on, ties broken by id", () => {
    const entries: [number, string][] = [
      [10, "2026-01-01T00:00:01.000Z"],
      [9, "2026-01-01T00:00:01.000Z"],
      [3, "2026-01-01T00:00:00.000Z"],
      [2, "2026-01-01T00:00:02.000Z"],
    ];
    const all = ordered(entries, String, { since: null, signpost: "", pageSize: 10 });
    assert.deepEqual(
      all.map((e) => e.key),
      [3, 9, 10, 2],
    );
    const after = ordered(entries, String, {
      since: { updatedAt: "2026-01-01T00:00:01Z", id: "9" },
      signpost: "",
      pageSize: 10,
    });
    // Inclusive of the cursor's instant: the engine drops what is at or before the cursor itself.
    assert.deepEqual(
      after.map((e) => e.key),
      [9, 10, 2],
    );
  });
});

describe("tryton invoice documents", () => {
  test("a PDF rendering is named on the canonical invoice; an unknown format never is", () => {
    assert.deepEqual(invoiceDocument("erp:account.invoice/7", "pdf"), {
      ref: "erp:account.invoice/7",
      mimeType: "application/pdf",
    });
    assert.equal(invoiceDocument("erp:account.invoice/7", "weird"), undefined);
  });
});

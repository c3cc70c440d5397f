import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SyncError } from "./errors.ts";
import { isSecretKey, REDACTED, redact, redactString, SHORT_SECRET } from "./redact.ts";

describe("redactString", () => {
  it("replaces every occurrence of every secret, also inside longer text", () => {
    assert.equal(
      redactString("token=s3cr3t&again=s3cr3t; pw hunter2", ["s3cr3t", "hunter2"]),
      `token=${REDACTED}&again=${REDACTED}; pw ${REDACTED}`,
    );
  });

  it("replaces the URL-encoded form of a secret", () => {
    assert.equal(redactString("https://x/?k=a%2Fb%3Dc", ["a/b=c"]), `https://x/?k=${REDACTED}`);
  });

  it("replaces a secret that contains another one whole", () => {
    assert.equal(redactString("key abc123", ["abc", "abc123"]), `key ${REDACTED}`);
  });

  it("ignores empty secrets instead of blanking everything", () => {
    assert.equal(redactString("hello", [""]), "hello");
  });

  it("never leaves a secret in the output", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: SHORT_SECRET }),
        fc.string(),
        fc.string(),
        (secret, before, after) => {
          const out = redactString(`${before}${secret}${after}${secret}`, [secret]);
          assert.equal(out.includes(secret), false);
        },
      ),
    );
  });

  it("replaces a short secret only where it stands alone, so ordinary text keeps its digits and words", () => {
    assert.equal(redactString("12 read, 1 failed", ["1"]), `12 read, ${REDACTED} failed`);
    assert.equal(redactString("run 21 of 100: 1", ["1"]), `run 21 of 100: ${REDACTED}`);
    assert.equal(redactString("administrator admin", ["admin"]), `administrator ${REDACTED}`);
    assert.equal(redactString('{"password":"pw7"}', ["pw7"]), `{"password":"${REDACTED}"}`);
    assert.equal(redactString("pw7_x pw7x xpw7 été7", ["pw7", "7"]), "pw7_x pw7x xpw7 été7");
    const ordinary = "user1@example.com gid://shopify/Customer/1 v1.2 08:01:1.5 -1 1st";
    assert.equal(redactString(ordinary, ["1"]), ordinary);
    assert.equal(
      redactString(`?pin=1&x=2 (1) [1] '1' {\\"pin\\":\\"1\\"}`, ["1"]),
      `?pin=${REDACTED}&x=2 (${REDACTED}) [${REDACTED}] '${REDACTED}' {\\"pin\\":\\"${REDACTED}\\"}`,
    );
  });

  it("never leaves a short secret standing alone", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: SHORT_SECRET - 1 }),
        fc.string(),
        fc.string(),
        (secret, before, after) => {
          fc.pre(!secret.startsWith(" ") && !secret.endsWith(" "));
          const out = redactString(`${before} ${secret} ${after}`, [secret]);
          assert.equal(out.includes(` ${secret} `), false, out);
        },
      ),
    );
  });

  it("masks the password of any URL, known or not", () => {
    assert.equal(
      redactString("cannot open postgres://app:Xy9@db:5432/shop (refused)", []),
      "cannot open postgres://app:***@db:5432/shop (refused)",
    );
    assert.equal(redactString("see https://example.com/a:b@c", []), "see https://example.com/a:b@c");
    assert.equal(redactString("postgres://app@db/shop", []), "postgres://app@db/shop");
  });
});

describe("redact", () => {
  it("blanks credential-named fields at any depth, whatever their value", () => {
    const input = {
      connections: { shop: { accessToken: "shpat_1", password: "pw", apiKey: "k", client_secret: "s" } },
      headers: { Authorization: "Bearer x", "X-Shopify-Access-Token": "y", Accept: "json" },
    };
    assert.deepEqual(redact(input, []), {
      connections: {
        shop: { accessToken: REDACTED, password: REDACTED, apiKey: REDACTED, client_secret: REDACTED },
      },
      headers: { Authorization: REDACTED, "X-Shopify-Access-Token": REDACTED, Accept: "json" },
    });
  });

  it("replaces known secrets inside strings of nested arrays and objects, without touching the input", () => {
    const input = { body: ["error for key sk_live_42", { detail: "sk_live_42 rejected" }], n: 3, ok: true };
    const out = redact(input, ["sk_live_42"]);
    assert.deepEqual(out, {
      body: [`error for key ${REDACTED}`, { detail: `${REDACTED} rejected` }],
      n: 3,
      ok: true,
    });
    assert.equal(input.body[0], "error for key sk_live_42");
  });

  it("redacts a plain string", () => {
    assert.equal(redact("Bearer abc", ["abc"]), `Bearer ${REDACTED}`);
  });

  it("keeps an error's name, message and details, redacted", () => {
    const err = new SyncError("config", "login failed with hunter2", {
      system: "erp",
      vendorBody: { password: "hunter2" },
    });
    assert.deepEqual(redact({ err }, ["hunter2"]), {
      err: {
        name: "SyncError",
        message: `login failed with ${REDACTED}`,
        stack: err.stack?.split("hunter2").join(REDACTED),
        kind: "config",
        details: { system: "erp", vendorBody: { password: REDACTED } },
      },
    });
  });

  it("keeps an error's cause and own fields, the own fields after name, message and stack, redacted", () => {
    const err = Object.assign(new Error("outer", { cause: new Error("inner hunter2") }), {
      name: "VendorError",
      apiKey: "k-123",
      status: 401,
    });
    const out = redact(err, ["hunter2"]) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ["name", "message", "stack", "cause", "apiKey", "status"]);
    assert.equal(out.name, "VendorError");
    assert.equal(out.apiKey, REDACTED);
    assert.equal(out.status, 401);
    assert.equal((out.cause as Record<string, unknown>).message, `inner ${REDACTED}`);
  });

  it("keeps credential-named fields of data when asked to (fieldNames: false), secrets still replaced", () => {
    const payload = { token: "cart-7", note: "paid with sk_live_42", password: null };
    assert.deepEqual(redact(payload, ["sk_live_42"], { fieldNames: false }), {
      token: "cart-7",
      note: `paid with ${REDACTED}`,
      password: null,
    });
  });

  it("survives cycles", () => {
    const loop: Record<string, unknown> = { a: "x" };
    loop.self = loop;
    assert.deepEqual(redact(loop, []), { a: "x", self: "[circular]" });
  });

  it("recognises credential field names and leaves ordinary ones", () => {
    for (const k of [
      "password",
      "passwd",
      "token",
      "accessToken",
      "refresh_token",
      "secret",
      "apiKey",
      "api-key",
      "privateKey",
      "private_key",
      "authorization",
      "cookie",
    ]) {
      assert.equal(isSecretKey(k), true, k);
    }
    for (const k of ["email", "total", "totalTax", "sku", "passengers", "key"])
      assert.equal(isSecretKey(k), false, k);
  });
});

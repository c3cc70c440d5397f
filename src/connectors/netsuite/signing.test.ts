/**
 * The TBA signing against RFC 5849. What is the RFC's: the request of §3.4.1.1 (method, URL with its query,
 * form body, oauth_* parameters) and the signature base string it gives for it, byte for byte; the
 * parameter encoding of §3.6. What is derived here: the RFC's example is signed with HMAC-SHA1 and gives no
 * secrets, so the HMAC-SHA256 value below is computed by this test itself (node:crypto over the RFC's base
 * string with made-up secrets). It checks this project's code path (key built from both secrets, base64),
 * not NetSuite.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import {
  hmacSha256Signature,
  normaliseParameters,
  parseOAuthHeader,
  percentEncode,
  signatureBaseString,
  tbaHeader,
} from "./signing.ts";

// RFC 5849 §3.4.1.1 (the RFC prints the base string with line breaks for display only).
const RFC_URL = "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b";
const RFC_BODY = "c2&a3=2+q";
const RFC_OAUTH = {
  oauth_consumer_key: "9djdj82h48djs9d2",
  oauth_token: "kkk9d7dh3k39sjv7",
  oauth_signature_method: "HMAC-SHA1",
  oauth_timestamp: "137131201",
  oauth_nonce: "7d8f3e4a",
};
const RFC_BASE =
  "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q" +
  "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_" +
  "key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m" +
  "ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk" +
  "9d7dh3k39sjv7";

test("the base string of RFC 5849 §3.4.1.1's example, byte for byte", () => {
  // realm and oauth_signature are in the RFC's header but not in the base string (§3.4.1.3.1).
  const base = signatureBaseString(
    "post",
    RFC_URL,
    { realm: "Example", ...RFC_OAUTH, oauth_signature: "bYT5CMsGcbgUdFHObYMEfcx6bsw=" },
    RFC_BODY,
  );
  assert.equal(base, RFC_BASE);
});

test("§3.6 percent-encoding: unreserved kept, the rest as upper-case %XX of UTF-8", () => {
  assert.equal(percentEncode("Ladies + Gentlemen"), "Ladies%20%2B%20Gentlemen");
  assert.equal(percentEncode("An encoded string!"), "An%20encoded%20string%21");
  assert.equal(percentEncode("-._~*'()"), "-._~%2A%27%28%29");
  assert.equal(percentEncode("é"), "%C3%A9");
  // Sorted by encoded name, then value (two a3s).
  assert.equal(
    normaliseParameters([
      ["b", "2"],
      ["a3", "z"],
      ["a3", "a"],
    ]),
    "a3=a&a3=z&b=2",
  );
});

test("HMAC-SHA256 over the RFC base string (derived: computed here with made-up secrets)", () => {
  const expected = createHmac("sha256", "cs%20secret&ts%26secret").update(RFC_BASE).digest("base64");
  assert.equal(hmacSha256Signature(RFC_BASE, "cs secret", "ts&secret"), expected);
  assert.notEqual(hmacSha256Signature(RFC_BASE, "cs secret", "other"), expected);
});

test("the TBA header: realm is the account, HMAC-SHA256, a signature a verifier recomputes; no secret in it", () => {
  const creds = {
    accountId: "1234567-sb1",
    consumerKey: "ck",
    consumerSecret: "consumer-secret-value",
    tokenId: "tk",
    tokenSecret: "token-secret-value",
  };
  const url =
    "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=10&offset=0";
  const header = tbaHeader(creds, "POST", url, { nonce: "n1", timestamp: 1700000000 });
  assert.ok(!header.includes("consumer-secret-value") && !header.includes("token-secret-value"));
  const f = parseOAuthHeader(header);
  assert.ok(f);
  assert.equal(f.realm, "1234567_SB1");
  assert.equal(f.oauth_signature_method, "HMAC-SHA256");
  assert.equal(f.oauth_version, "1.0");
  const { oauth_signature, realm: _realm, ...rest } = f;
  const base = signatureBaseString("POST", url, rest);
  assert.ok(base.includes("limit%3D10%26oauth_consumer_key%3Dck"));
  assert.equal(oauth_signature, hmacSha256Signature(base, creds.consumerSecret, creds.tokenSecret));
});

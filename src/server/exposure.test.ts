import assert from "node:assert/strict";
import { test } from "node:test";
import { isLoopback, plainHttpWarning } from "./exposure.ts";

test("loopback is 127.0.0.0/8, ::1 in any spelling, and localhost; nothing else", () => {
  for (const h of [
    "127.0.0.1",
    "127.1.2.3",
    "::1",
    "[::1]",
    "0:0:0:0:0:0:0:1",
    "::ffff:127.0.0.1",
    "localhost",
    "LOCALHOST",
  ])
    assert.equal(isLoopback(h), true, h);
  for (const h of [
    "0.0.0.0",
    "::",
    "128.0.0.1",
    "10.0.0.5",
    "192.168.1.20",
    "::2",
    "fe80::1",
    "example.com",
    "localhost.example.com",
    "",
  ])
    assert.equal(isLoopback(h), false, h);
});

test("plain HTTP on a network address is warned about, naming the address and server.tls", () => {
  const all = plainHttpWarning("0.0.0.0", "0.0.0.0", 8470, false);
  assert.ok(all);
  assert.match(
    all,
    /^serving webhooks over plain HTTP on 0\.0\.0\.0:8470, every network interface, which is not a loopback address/,
  );
  assert.match(all, /server\.tls: \{ cert, key \}/);
  assert.match(plainHttpWarning("::", "::", 8470, false) ?? "", /on \[::\]:8470, every network interface/);
  assert.match(
    plainHttpWarning("shop-sync.lan", "192.168.1.20", 9000, false) ?? "",
    /on shop-sync\.lan:9000, which/,
  );
  // TLS on, or only this machine can connect: nothing to say.
  assert.equal(plainHttpWarning("0.0.0.0", "0.0.0.0", 8470, true), null);
  assert.equal(plainHttpWarning("127.0.0.1", "127.0.0.1", 8470, false), null);
  assert.equal(plainHttpWarning("localhost", "::1", 8470, false), null);
});

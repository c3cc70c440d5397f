/**
 * The alerts: section as passerelle.yaml gives it: defaults, durations, secrets resolved and kept secret, and
 * every mistake reported naming the field and the value.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configTestConnector } from "../../test/helpers/config-connector.ts";
import { parseDuration } from "./alerts.ts";
import { ConfigError } from "./errors.ts";
import { parseConfig } from "./load.ts";

const defs = [configTestConnector()];

const BASE = `version: 1
connections:
  erp: { type: test, url: "http://127.0.0.1:8069" }
  shop: { type: test, url: "https://shop.example.com" }
flows:
  orders:
    source: { connection: shop, entity: order }
    target: { connection: erp, entity: order }
  stock:
    source: { connection: erp, entity: inventory }
    target: { connection: shop, entity: inventory }
`;

const ALERTS = `alerts:
  channels:
    ops-mail:
      type: email
      smtp: { host: smtp.example.com, user: alerts, password: "\${env:SMTP_PASSWORD}" }
      from: passerelle@example.com
      to: [ops@example.com]
    ops-hook:
      type: webhook
      url: https://hooks.example.com/passerelle
  rules:
    - { name: failing, kind: failure-rate, threshold: 0.05, window: 15m, channels: [ops-mail] }
    - { name: stale, kind: flow-stale, flow: stock, notRunFor: 2h }
    - { name: late-orders, kind: order-missing, flow: orders, after: 30m, channels: [ops-hook] }
    - { name: sunset, kind: deprecation, before: 30d }
`;

const env = { SMTP_PASSWORD: "smtp-secret-8d2k" };

function messages(text: string): string[] {
  try {
    parseConfig(text, defs, { env });
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail("expected a ConfigError");
}

describe("alerts: in passerelle.yaml", () => {
  it("parses channels and rules with their defaults; the SMTP password is a secret", () => {
    const { config, secrets, warnings } = parseConfig(BASE + ALERTS, defs, { env });
    const mail = config.alerts.channels["ops-mail"];
    assert.equal(mail?.type, "email");
    assert.ok(mail?.type === "email");
    assert.equal(mail.smtp.security, "starttls");
    assert.equal(mail.smtp.password, env.SMTP_PASSWORD);
    assert.ok(secrets.includes(env.SMTP_PASSWORD));
    assert.deepEqual(warnings, []);
    assert.equal(config.alerts.evaluate, "* * * * *");
    const [failing, stale, late, sunset] = config.alerts.rules;
    assert.ok(failing?.kind === "failure-rate");
    assert.equal(failing.window, 15 * 60_000);
    assert.equal(failing.minRecords, 1);
    assert.ok(stale?.kind === "flow-stale");
    assert.equal(stale.notRunFor, 2 * 3_600_000);
    assert.ok(late?.kind === "order-missing");
    assert.equal(late.lookback, 7 * 86_400_000);
    assert.ok(sunset?.kind === "deprecation");
    assert.equal(sunset.before, 30 * 86_400_000);
  });

  it("no alerts: section means no rules", () => {
    const { config } = parseConfig(BASE, defs, { env });
    assert.deepEqual(config.alerts.rules, []);
    assert.deepEqual(config.alerts.channels, {});
  });

  it("names the field and the value of each mistake", () => {
    const bad = `${BASE}alerts:
  channels:
    ops-mail:
      type: email
      smtp: { port: 587 }
      from: passerelle@example.com
      to: [ops@example.com]
    pager: { type: sms, to: "+33600000000" }
  rules:
    - { name: failing, kind: failure-rate, threshold: 0.05, window: 15x, channels: [ops-mail, ops-pager] }
    - { name: stale, kind: flow-stale, flow: stok, notRunFor: 2h }
    - { name: late, kind: order-missing, flow: stock }
    - { name: stale, kind: flow-stale, notRunFor: 0h }
    - { name: odd, kind: failure-rate, threshold: 5 }
`;
    const found = messages(bad);
    const expect = [
      /^alerts\.channels\.ops-mail\.smtp\.host: missing/,
      /^alerts\.channels\.pager\.type: a channel needs type: "email" or type: "webhook"/,
      /^alerts\.rules\[0\]\.window: must be a duration.*e\.g\. "15m".*\(got "15x"\)/,
      /^alerts\.rules\[0\]\.channels\[1\]: unknown channel; channels: ops-mail, pager \(got "ops-pager"\)/,
      /^alerts\.rules\[1\]\.flow: unknown flow; flows: orders, stock \(got "stok"\)/,
      /^alerts\.rules\[2\]\.flow: must be a flow of orders \(its source entity is inventory\) \(got "stock"\)/,
      /^alerts\.rules\[3\]\.name: another rule has this name.*\(got "stale"\)/,
      /^alerts\.rules\[3\]\.notRunFor: must be a duration.*\(got "0h"\)/,
      /^alerts\.rules\[4\]\.threshold: must be above 0 and at most 1: a share of the records \(0\.05 is 5 %\) \(got 5\)/,
    ];
    for (const re of expect)
      assert.ok(
        found.some((m) => re.test(m)),
        `${re}\nin:\n${found.join("\n")}`,
      );
  });

  it("durations", () => {
    assert.equal(parseDuration("90s"), 90_000);
    assert.equal(parseDuration("15m"), 900_000);
    assert.equal(parseDuration("2h"), 7_200_000);
    assert.equal(parseDuration("30d"), 2_592_000_000);
    for (const bad of ["15", "15x", "0m", "-1h", "1.5h", "m"]) assert.equal(parseDuration(bad), null, bad);
  });
});

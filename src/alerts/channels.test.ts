/**
 * The e-mail channel against a real SMTP server in the test (smtp-server, its bundled self-signed
 * certificate): implicit TLS, STARTTLS required but not offered, and refused credentials. A failure names
 * the host and the reason, never the password.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { startSmtp, type TestSmtp } from "../../test/helpers/smtp-server.ts";
import { type AlertChannelConfig, AlertChannel as ChannelSchema } from "../config/alerts.ts";
import { redactString } from "../core/redact.ts";
import { createChannel } from "./channels.ts";
import { alertMessage } from "./message.ts";

const PASSWORD = "smtp-pw-93kd82jd";
const incident = {
  id: 7,
  rule: "stale",
  subject: "flow stock",
  status: "open" as const,
  summary: "flow stock last finished a run 3h ago",
  openedAt: "2026-11-02T08:00:00.000Z",
  closedAt: null,
};
const message = alertMessage(
  { name: "stale", kind: "flow-stale", flow: "stock", notRunFor: 7_200_000 },
  incident,
  "fire",
);

function channel(port: number, security: "tls" | "starttls", password = PASSWORD) {
  const config: AlertChannelConfig = ChannelSchema.parse({
    type: "email",
    smtp: {
      host: "127.0.0.1",
      port,
      security,
      user: "alerts",
      password,
      allowSelfSigned: true,
      timeoutMs: 5000,
    },
    from: "passerelle@example.com",
    to: ["ops@example.com"],
  });
  return createChannel("mail", config, { redact: (t) => redactString(t, [PASSWORD]) });
}

describe("the e-mail channel over a real SMTP server", () => {
  const servers: TestSmtp[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  it("sends over implicit TLS (security: tls)", async () => {
    const smtp = await startSmtp({ user: "alerts", password: PASSWORD, secure: true });
    servers.push(smtp);
    const c = channel(smtp.port, "tls");
    await c.send(message);
    c.close();
    assert.equal(smtp.mails.length, 1);
    assert.equal(smtp.mails[0]?.secure, true);
    assert.equal(smtp.mails[0]?.subject, "[passerelle] FIRING stale: flow stock");
    assert.match(smtp.mails[0]?.text ?? "", /flow stock last finished a run 3h ago/);
  });

  it("refuses to send in clear when the server does not offer STARTTLS", async () => {
    const smtp = await startSmtp({ user: "alerts", password: PASSWORD, noStartTls: true });
    servers.push(smtp);
    const c = channel(smtp.port, "starttls");
    await assert.rejects(c.send(message), (e: Error) => {
      assert.match(e.message, /^e-mail channel mail: cannot send through 127\.0\.0\.1: /);
      assert.ok(!e.message.includes(PASSWORD));
      return true;
    });
    c.close();
    assert.equal(smtp.mails.length, 0);
  });

  it("reports refused credentials without the password", async () => {
    const smtp = await startSmtp({ user: "alerts", password: PASSWORD });
    servers.push(smtp);
    const c = channel(smtp.port, "starttls", `${PASSWORD}-wrong`);
    await assert.rejects(c.send(message), (e: Error) => {
      assert.match(e.message, /Invalid username or password|Invalid login/i);
      assert.ok(!e.message.includes(PASSWORD));
      return true;
    });
    c.close();
    assert.equal(smtp.mails.length, 0);
  });
});

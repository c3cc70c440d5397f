/**
 * Alerts by e-mail, end to end: a real SMTP server in this test (smtp-server, STARTTLS with a self-signed
 * certificate, AUTH required), the demo's emulators, and the real CLI. A stock mapping that refuses one
 * warehouse makes real records fail in a real sync; the failure-rate rule fires at the end of that sync and
 * exactly one e-mail says so; syncing again sends nothing; once the mapping is fixed and the failures are
 * retried, the next sync sends exactly one recovery e-mail. The SMTP password never shows in any output.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { openStore } from "../../src/store/index.ts";
import { startSmtp, type TestSmtp } from "../helpers/smtp-server.ts";
import { explain, leakedSecrets, startWorld, type World } from "./helpers.ts";

describe("alert e-mails over SMTP with STARTTLS, through the real CLI", () => {
  let world: World;
  let smtp: TestSmtp;
  const password = `smtp-pw-${randomBytes(6).toString("hex")}`;
  let env: Record<string, string>;

  const alerts = (port: number) => ({
    channels: {
      "ops-mail": {
        type: "email",
        smtp: {
          host: "127.0.0.1",
          port,
          security: "starttls",
          user: "alerts",
          // A reference resolved by the CLI from its environment, not a template string.
          password: ["$", "{env:ALERT_SMTP_PASSWORD}"].join(""),
          allowSelfSigned: true,
        },
        from: "passerelle@example.com",
        to: ["ops@example.com", "oncall@example.com"],
      },
    },
    rules: [
      {
        name: "stock-failing",
        kind: "failure-rate",
        flow: "stock",
        threshold: 0.05,
        window: "1h",
        channels: ["ops-mail"],
      },
    ],
  });

  before(async () => {
    smtp = await startSmtp({ user: "alerts", password });
    world = await startWorld({ products: 12 });
    env = { ALERT_SMTP_PASSWORD: password };
    // The stock mapping knows the main warehouse only: records of the east one fail (strict map).
    world.writeConfig("broken.yaml", (doc) => {
      doc.setIn(["alerts"], alerts(smtp.port));
      doc.setIn(["flows", "stock", "mapping", "location", "map"], { WH: "Main Warehouse" });
    });
    world.writeConfig("fixed.yaml", (doc) => {
      doc.setIn(["alerts"], alerts(smtp.port));
    });
    const products = await world.cli(["-c", `${world.dir}/fixed.yaml`, "sync", "products"], { env });
    assert.equal(products.code, 0, explain(products));
    assert.equal(smtp.mails.length, 0, "nothing is firing after the products sync");
  });
  after(async () => {
    await world?.close();
    await smtp?.close();
  });

  it("a sync whose records fail sends exactly one e-mail naming the rule, the flow and the figures", async () => {
    const res = await world.cli(["-c", `${world.dir}/broken.yaml`, "sync", "stock"], { env });
    assert.equal(res.code, 1, explain(res));
    assert.match(res.stdout + res.stderr, /alert stock-failing firing/);
    assert.equal(smtp.mails.length, 1, smtp.mails.map((m) => m.subject).join("\n"));
    const mail = smtp.mails[0];
    assert.ok(mail);
    assert.equal(mail.subject, "[passerelle] FIRING stock-failing: flow stock");
    assert.deepEqual(mail.to, ["ops@example.com", "oncall@example.com"]);
    assert.equal(mail.from, "passerelle@example.com");
    assert.equal(mail.secure, true, "sent after STARTTLS");
    assert.equal(mail.user, "alerts");
    assert.match(mail.text, /Alert stock-failing is firing for flow stock\./);
    assert.match(mail.text, /Rule: +stock-failing \(failure-rate\)/);
    assert.match(
      mail.text,
      /\d+ of \d+ records of flow stock failed in the last 1h \(\d+\.\d %; threshold 5\.0 %\)/,
    );
    assert.match(mail.text, /passerelle failures list/);
    assert.deepEqual(leakedSecrets(res.stdout + res.stderr + mail.raw, [password, ...world.secrets]), []);
  });

  it("syncing again while the failures stand sends nothing", async () => {
    const res = await world.cli(["-c", `${world.dir}/broken.yaml`, "sync", "stock"], { env });
    assert.ok(res.code === 0 || res.code === 1, explain(res));
    assert.equal(smtp.mails.length, 1);
  });

  it("once the failures are resolved, the next sync sends exactly one recovery e-mail", async () => {
    const retry = await world.cli(
      ["-c", `${world.dir}/fixed.yaml`, "failures", "retry", "--all", "--flow", "stock"],
      { env },
    );
    assert.equal(retry.code, 0, explain(retry));
    const sync = await world.cli(["-c", `${world.dir}/fixed.yaml`, "sync", "stock"], { env });
    assert.equal(sync.code, 0, explain(sync));
    assert.match(sync.stdout + sync.stderr, /alert stock-failing cleared/);
    assert.equal(smtp.mails.length, 2, smtp.mails.map((m) => m.subject).join("\n"));
    const mail = smtp.mails[1];
    assert.ok(mail);
    assert.equal(mail.subject, "[passerelle] RESOLVED stock-failing: flow stock");
    assert.match(mail.text, /Alert stock-failing has cleared for flow stock\./);
    assert.match(mail.text, /Cleared: +\d{4}-\d\d-\d\dT/);
    const again = await world.cli(["-c", `${world.dir}/fixed.yaml`, "sync", "stock"], { env });
    assert.equal(again.code, 0, explain(again));
    assert.equal(smtp.mails.length, 2, "a cleared incident is announced once");
  });

  it("the store holds one closed incident with both notifications sent", async () => {
    const store = await openStore(world.storeUrl);
    try {
      const incidents = await store.alerts().incidents();
      assert.equal(incidents.length, 1);
      const [incident] = incidents;
      assert.ok(incident);
      assert.equal(incident.status, "closed");
      const sent = await store.alerts().notifications(incident.id);
      assert.deepEqual(
        sent.map((n) => [n.channel, n.kind, n.status]),
        [
          ["ops-mail", "fire", "sent"],
          ["ops-mail", "recovery", "sent"],
        ],
      );
    } finally {
      await store.close();
    }
  });
});

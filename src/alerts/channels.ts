/**
 * Alert channels: e-mail over SMTP (nodemailer: STARTTLS or implicit TLS, authentication, the SMTP dialogue
 * and MIME are its job, not ours) and a generic webhook (a JSON POST with the built-in fetch, retried with
 * backoff). A channel throws when it could not deliver; its error never holds a secret (the SMTP password,
 * the webhook's headers), and the caller retries at the next evaluation.
 */
import type { Transporter } from "nodemailer";
import type { AlertChannelConfig, EmailChannelConfig, WebhookChannelConfig } from "../config/alerts.ts";
import type { AlertMessage } from "./message.ts";

export interface AlertChannel {
  name: string;
  type: AlertChannelConfig["type"];
  send(message: AlertMessage): Promise<void>;
  close(): void;
}

export interface ChannelOptions {
  /** Replaces every secret in a text (the configuration's resolved secrets). */
  redact: (text: string) => string;
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
}

function emailChannel(name: string, c: EmailChannelConfig, o: ChannelOptions): AlertChannel {
  const { smtp } = c;
  // nodemailer is loaded, and its transport made, at the first message: a command that never sends one (a
  // sync with alerts configured, most runs of `passerelle run`) does not load it at start.
  let transport: Transporter | null = null;
  const transportOf = async (): Promise<Transporter> => {
    if (transport) return transport;
    const { default: nodemailer } = await import("nodemailer");
    transport ??= nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port ?? (smtp.security === "tls" ? 465 : 587),
      secure: smtp.security === "tls",
      requireTLS: smtp.security === "starttls",
      ignoreTLS: smtp.security === "none",
      ...(smtp.user !== undefined ? { auth: { user: smtp.user, pass: smtp.password ?? "" } } : {}),
      tls: { rejectUnauthorized: !smtp.allowSelfSigned },
      connectionTimeout: smtp.timeoutMs,
      greetingTimeout: smtp.timeoutMs,
      socketTimeout: smtp.timeoutMs,
    });
    return transport;
  };
  return {
    name,
    type: "email",
    async send(m) {
      try {
        await (await transportOf()).sendMail({
          from: c.from,
          to: c.to,
          subject: `${c.subjectPrefix ? `${c.subjectPrefix} ` : ""}${m.title}`,
          text: m.text,
          headers: { "X-Passerelle-Incident": String(m.incident.id) },
        });
      } catch (e) {
        const detail = e instanceof Error ? e.message : String(e);
        throw new Error(o.redact(`e-mail channel ${name}: cannot send through ${smtp.host}: ${detail}`));
      }
    },
    close: () => transport?.close(),
  };
}

function webhookChannel(name: string, c: WebhookChannelConfig, o: ChannelOptions): AlertChannel {
  const doFetch = o.fetch ?? fetch;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const host = new URL(c.url).host;
  return {
    name,
    type: "webhook",
    async send(m) {
      const body = JSON.stringify({
        status: m.kind === "fire" ? "firing" : "resolved",
        rule: m.rule,
        kind: m.ruleKind,
        subject: m.subject,
        summary: m.summary,
        incident: m.incident.id,
        openedAt: m.incident.openedAt,
        closedAt: m.incident.closedAt,
        title: m.title,
        text: m.text,
      });
      let last = "";
      for (let attempt = 1; attempt <= c.attempts; attempt++) {
        try {
          const res = await doFetch(c.url, {
            method: "POST",
            headers: { ...c.headers, "content-type": "application/json" },
            body,
            signal: AbortSignal.timeout(c.timeoutMs),
          });
          await res.arrayBuffer();
          if (res.ok) return;
          last = `HTTP ${res.status}`;
          // A refusal other than "busy" or "broken" will not change by sending the same body again.
          if (res.status < 500 && res.status !== 429 && res.status !== 408) break;
        } catch (e) {
          last = e instanceof Error ? e.message : String(e);
        }
        if (attempt < c.attempts) await sleep(Math.min(30_000, 500 * 2 ** (attempt - 1)));
      }
      throw new Error(o.redact(`webhook channel ${name}: ${host} did not accept the alert: ${last}`));
    },
    close: () => {},
  };
}

export function createChannel(name: string, config: AlertChannelConfig, o: ChannelOptions): AlertChannel {
  return config.type === "email" ? emailChannel(name, config, o) : webhookChannel(name, config, o);
}

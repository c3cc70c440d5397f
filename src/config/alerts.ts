/**
 * The `alerts:` section of passerelle.yaml: where alerts go (`channels`: an SMTP mailbox, a webhook) and when
 * they fire (`rules`). Cross-references (a rule's channels and flow) are checked by the top-level schema,
 * which knows the flows; see docs/alerts.md.
 */
import { z } from "zod";

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, {
  message: "must start with a letter or digit and contain only letters, digits, _ and -",
});

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "90s", "15m", "2h", "30d" in milliseconds; null when the text is not such a duration. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!m?.[1] || !m[2]) return null;
  const n = Number(m[1]);
  return n > 0 ? n * UNIT_MS[m[2] as keyof typeof UNIT_MS] : null;
}

/** A duration written as a number and a unit; parsed to milliseconds. */
export const Duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === null) {
    ctx.addIssue({
      code: "custom",
      message: 'must be a duration: a whole number above 0 and a unit s, m, h or d, e.g. "15m", "2h", "30d"',
    });
    return z.NEVER;
  }
  return ms;
});

const Email = z
  .string()
  .regex(/^[^\s@<>]+@[^\s@<>]+$/, { message: "must be an e-mail address like ops@example.com" });

const EmailChannel = z.strictObject({
  type: z.literal("email"),
  smtp: z.strictObject({
    host: z.string().min(1),
    /** Default 465 with `security: tls`, else 587. */
    port: z.number().int().min(1).max(65535).optional(),
    /**
     * `starttls` (default): a plain connection upgraded with STARTTLS, which the server must offer;
     * `tls`: TLS from the first byte (SMTPS, usually port 465); `none`: no encryption (a local relay only).
     */
    security: z
      .enum(["starttls", "tls", "none"], { error: () => 'must be "starttls", "tls" or "none"' })
      .default("starttls"),
    user: z.string().min(1).optional(),
    /** Use ${env:NAME} or ${file:/path}; never logged. */
    password: z.string().min(1).optional(),
    /** Accept a server certificate no trusted authority signed (a test relay); default false. */
    allowSelfSigned: z.boolean().default(false),
    /** Whole delivery deadline per message, ms (default 30 s). */
    timeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
  }),
  from: Email,
  to: z.array(Email).min(1, { message: "needs at least one recipient" }),
  /** Put before every subject (default "[passerelle]"). */
  subjectPrefix: z.string().default("[passerelle]"),
});

const WebhookChannel = z.strictObject({
  type: z.literal("webhook"),
  url: z.url({ protocol: /^https?$/, error: () => "must be an http:// or https:// URL" }),
  /** Extra request headers (an Authorization header: use ${env:NAME}). */
  headers: z.record(z.string(), z.string()).default({}),
  /** Tries per notification within one evaluation (default 3); what still fails is tried at the next one. */
  attempts: z.number().int().min(1).max(10).default(3),
  timeoutMs: z.number().int().min(1000).max(600_000).default(10_000),
});

export const AlertChannel = z.discriminatedUnion("type", [EmailChannel, WebhookChannel], {
  error: (issue) =>
    issue.code === "invalid_union" ? 'a channel needs type: "email" or type: "webhook"' : undefined,
});
export type AlertChannelConfig = z.output<typeof AlertChannel>;
export type EmailChannelConfig = z.output<typeof EmailChannel>;
export type WebhookChannelConfig = z.output<typeof WebhookChannel>;

const RuleBase = {
  name: Name,
  /** Channel names from alerts.channels; default: every channel. */
  channels: z.array(Name).optional(),
};

const FailureRate = z.strictObject({
  ...RuleBase,
  kind: z.literal("failure-rate"),
  /** One flow; omitted: every flow, each its own incident. */
  flow: Name.optional(),
  /** Fires when failed / attempted records within the window is at least this (0.05: 5 %). */
  threshold: z
    .number()
    .gt(0, { message: "must be above 0 and at most 1: a share of the records (0.05 is 5 %)" })
    .max(1, { message: "must be above 0 and at most 1: a share of the records (0.05 is 5 %)" }),
  window: Duration.prefault("15m"),
  /** Fewer attempted records than this in the window never fire (a single failure of two is noise). */
  minRecords: z.number().int().min(1).default(1),
});

const FlowStale = z.strictObject({
  ...RuleBase,
  kind: z.literal("flow-stale"),
  /** One flow; omitted: every flow that is not `trigger: manual`. */
  flow: Name.optional(),
  /** Fires when the flow has not finished a run (succeeded or partial) for this long. */
  notRunFor: Duration,
});

const OrderMissing = z.strictObject({
  ...RuleBase,
  kind: z.literal("order-missing"),
  /** A flow whose entity is order (shop → ERP). */
  flow: Name,
  /** Fires per order placed this long ago or more that its target does not hold. */
  after: Duration.prefault("30m"),
  /** How far back orders are looked at (default 7d). */
  lookback: Duration.prefault("7d"),
});

const Deprecation = z.strictObject({
  ...RuleBase,
  kind: z.literal("deprecation"),
  /** Fires this long before an API version's end of support or a deprecated call's sunset. */
  before: Duration.prefault("30d"),
  /** One connection; omitted: every connection. */
  connection: Name.optional(),
});

export const AlertRule = z.discriminatedUnion("kind", [FailureRate, FlowStale, OrderMissing, Deprecation], {
  error: (issue) =>
    issue.code === "invalid_union"
      ? "a rule needs kind: failure-rate, flow-stale, order-missing or deprecation"
      : undefined,
});
export type AlertRuleConfig = z.output<typeof AlertRule>;

/** Five or six cron fields, or a nickname such as @hourly. */
const Cron = z.string().regex(/^(@(yearly|annually|monthly|weekly|daily|hourly)|\S+(\s+\S+){4,5})$/, {
  message: 'must be a cron expression with 5 or 6 fields, e.g. "* * * * *"',
});

export const Alerts = z.strictObject({
  /** When `passerelle run` evaluates the rules (default every minute). */
  evaluate: Cron.default("* * * * *"),
  channels: z.record(Name, AlertChannel).default({}),
  rules: z.array(AlertRule).default([]),
});
export type AlertsConfig = z.output<typeof Alerts>;

export interface AlertIssue {
  path: (string | number)[];
  message: string;
}

/** What the alerts section says that does not fit the rest of the file: unknown channels, flows, connections. */
export function alertProblems(
  alerts: Partial<AlertsConfig> | undefined,
  flows: Record<string, { source?: { entity?: string } } | undefined>,
  connections: readonly string[],
): AlertIssue[] {
  const out: AlertIssue[] = [];
  if (!alerts) return out;
  const channels = Object.keys(alerts.channels ?? {});
  const flowNames = Object.keys(flows);
  const seen = new Set<string>();
  (alerts.rules ?? []).forEach((rule, i) => {
    if (!rule || typeof rule !== "object") return;
    if (seen.has(rule.name))
      out.push({
        path: ["alerts", "rules", i, "name"],
        message: "another rule has this name; names must be unique",
      });
    seen.add(rule.name);
    (rule.channels ?? []).forEach((c, j) => {
      if (!channels.includes(c))
        out.push({
          path: ["alerts", "rules", i, "channels", j],
          message: `unknown channel; channels: ${channels.join(", ") || "(none)"}`,
        });
    });
    if (rule.channels === undefined && channels.length === 0)
      out.push({ path: ["alerts", "rules", i], message: "no channel to send to: add alerts.channels" });
    if ("flow" in rule && rule.flow !== undefined) {
      if (!flowNames.includes(rule.flow))
        out.push({
          path: ["alerts", "rules", i, "flow"],
          message: `unknown flow; flows: ${flowNames.join(", ") || "(none)"}`,
        });
      else if (rule.kind === "order-missing" && flows[rule.flow]?.source?.entity !== "order")
        out.push({
          path: ["alerts", "rules", i, "flow"],
          message: `must be a flow of orders (its source entity is ${flows[rule.flow]?.source?.entity})`,
        });
    }
    if (
      rule.kind === "deprecation" &&
      rule.connection !== undefined &&
      !connections.includes(rule.connection)
    )
      out.push({
        path: ["alerts", "rules", i, "connection"],
        message: `unknown connection; connections: ${connections.join(", ") || "(none)"}`,
      });
  });
  return out;
}

/** What an alert says: one subject line and a plain-text body, for a firing incident or its recovery. */
import type { AlertRuleConfig } from "../config/alerts.ts";
import type { Incident, NotificationKind } from "../ports/alerts.ts";

export interface AlertMessage {
  kind: NotificationKind;
  rule: string;
  ruleKind: AlertRuleConfig["kind"] | "unknown";
  subject: string;
  summary: string;
  incident: Incident;
  /** The subject line (without a channel's prefix). */
  title: string;
  /** Plain text, lines. */
  text: string;
}

const ADVICE: Record<AlertMessage["ruleKind"], string> = {
  "failure-rate":
    "See the failed records with `passerelle failures list --flow <flow>`; fix the cause, then `passerelle failures retry`.",
  "flow-stale":
    "Check `passerelle status`: is `passerelle run` (or the worker) running, and does the flow's last run show an error?",
  "order-missing":
    "Trace the order with `passerelle trace order <key>`: a failure in the inbox, a held record, or a webhook that never came (run the flow's sync).",
  deprecation:
    "Run `passerelle doctor` for the connection; move to a supported API version (the connection's apiVersion) before the date.",
  unknown: "The rule is no longer in passerelle.yaml.",
};

export function alertMessage(
  rule: AlertRuleConfig | undefined,
  incident: Incident,
  kind: NotificationKind,
): AlertMessage {
  const ruleKind = rule?.kind ?? "unknown";
  const head = kind === "fire" ? "FIRING" : "RESOLVED";
  const title = `${head} ${incident.rule}: ${incident.subject}`;
  const lines = [
    kind === "fire"
      ? `Alert ${incident.rule} is firing for ${incident.subject}.`
      : `Alert ${incident.rule} has cleared for ${incident.subject}.`,
    "",
    `Rule:     ${incident.rule} (${ruleKind})`,
    `Subject:  ${incident.subject}`,
    `Status:   ${kind === "fire" ? "firing" : "resolved"}`,
    `Since:    ${incident.openedAt}`,
    ...(incident.closedAt ? [`Cleared:  ${incident.closedAt}`] : []),
    "",
    kind === "fire" ? incident.summary : `Last seen: ${incident.summary}`,
    "",
    ...(kind === "fire" ? [ADVICE[ruleKind], ""] : []),
    `Incident ${incident.id}. One message is sent when an incident opens and one when it clears.`,
  ];
  return {
    kind,
    rule: incident.rule,
    ruleKind,
    subject: incident.subject,
    summary: incident.summary,
    incident,
    title,
    text: lines.join("\n"),
  };
}

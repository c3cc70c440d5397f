/**
 * Every migration, listed by hand rather than found by scanning a folder, so bundling or a stray file
 * never changes what runs. Names sort in the order they apply; never rename or edit a shipped one.
 */
import type { Migration, MigrationProvider } from "kysely";
import type { DialectName } from "../schema.ts";
import { initial } from "./0001_initial.ts";
import { jobs } from "./0002_jobs.ts";
import { webhookInbox } from "./0003_webhook_inbox.ts";
import { interruptedRuns } from "./0004_interrupted_runs.ts";
import { twoWayState } from "./0005_two_way_state.ts";
import { apiTokensAudit } from "./0006_api_tokens_audit.ts";
import { alertIncidents } from "./0007_alert_incidents.ts";
import { rateGovernor } from "./0008_rate_governor.ts";
import { categoryEntity } from "./0010_category_entity.ts";
import { refundEntity } from "./0011_refund_entity.ts";
import { webhookAddresses } from "./0012_webhook_addresses.ts";

export function migrationProvider(dialect: DialectName): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      return {
        "0001_initial": initial(dialect),
        "0002_jobs": jobs(),
        "0003_webhook_inbox": webhookInbox(dialect),
        "0004_interrupted_runs": interruptedRuns(dialect),
        "0005_two_way_state": twoWayState(),
        "0006_api_tokens_audit": apiTokensAudit(dialect),
        "0007_alert_incidents": alertIncidents(dialect),
        "0008_rate_governor": rateGovernor(),
        "0010_category_entity": categoryEntity(dialect),
        "0011_refund_entity": refundEntity(dialect),
        "0012_webhook_addresses": webhookAddresses(),
      };
    },
  };
}

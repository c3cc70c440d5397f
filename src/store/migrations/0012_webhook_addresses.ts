/**
 * The addresses `passerelle webhooks register` subscribed, per connection (store: `rememberWebhookAddress`):
 * what the service subscribes again when a vendor has dropped a subscription (Business Central lets one
 * expire after three days; a shop may delete one after repeated failed deliveries), since the vendor's own
 * list no longer names it.
 */
import { type Kysely, type Migration, sql } from "kysely";

export function webhookAddresses(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("webhook_addresses")
        .ifNotExists()
        .addColumn("connection", "text", (c) => c.notNull())
        .addColumn("address", "text", (c) => c.notNull())
        .addColumn("registered_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("webhook_addresses_pk", ["connection", "address"])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists webhook_addresses`.execute(db);
    },
  };
}

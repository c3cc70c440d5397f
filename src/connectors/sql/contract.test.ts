/**
 * The shared connector contract on SQLite always, and on PostgreSQL (127.0.0.1:5432) and MariaDB
 * (127.0.0.1:3306) when they answer, each in a database of its own (test/fixtures/sql-contract.ts).
 */
import { describe } from "node:test";
import { sqlContractFixture } from "../../../test/fixtures/sql-contract.ts";
import { unavailable } from "../../../test/fixtures/sql-db.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { sqlConnector } from "./index.ts";

runContractSuite(sqlConnector, () => sqlContractFixture("sqlite", "passerelle-sql-contract"), "sql (SQLite)");

for (const kind of ["postgres", "mysql"] as const) {
  const why = await unavailable(kind);
  const label = kind === "postgres" ? "PostgreSQL" : "MariaDB";
  if (why) describe(`connector contract: sql (${label})`, { skip: why }, () => {});
  else
    runContractSuite(
      sqlConnector,
      () => sqlContractFixture(kind, `passerelle_sql_contract`),
      `sql (${label})`,
    );
}

-- Positions (issue 26, docs/positions.md): an account's position in each instrument it traded,
-- kept by the ingestion process in the transaction that stores the fills (ingest/batch-writer.ts),
-- by the rule of domain/positions.ts. Money in the 6 places of an average price; the cost basis is
-- quantity × average_entry_price, so it is not stored.
CREATE TABLE "positions" (
    "account_id" UUID NOT NULL,
    "instrument" VARCHAR(12) NOT NULL,
    "quantity" BIGINT NOT NULL,
    "average_entry_price" DECIMAL(30,6) NOT NULL,
    "realized_pnl" DECIMAL(38,6) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "positions_pkey" PRIMARY KEY ("account_id", "instrument")
);
ALTER TABLE "positions" ADD CONSTRAINT "positions_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A fill row of order_stream carries the position after its fill (GET /events' `position`).
-- Fill rows written before this migration have none (null). Nullable, no default: nothing is rewritten.
ALTER TABLE "order_stream"
  ADD COLUMN "position_quantity" BIGINT,
  ADD COLUMN "position_average_entry_price" DECIMAL(30,6),
  ADD COLUMN "position_realized_pnl" DECIMAL(38,6),
  ADD COLUMN "position_updated_at" TIMESTAMPTZ(3);

-- The positions of the fills stored before this migration: each account and instrument's
-- standing fills (not busted) folded in executions order, with domain/positions.ts's rule in
-- integer units of 10^-6 (div() truncates; (2a + b) / 2b is a / b rounded half up). The fills go
-- to an indexed temporary table first, so that each step of the recursion probes its next fill.
CREATE TEMPORARY TABLE "standing_fills" AS
  SELECT o."account_id", o."instrument",
         row_number() OVER (PARTITION BY o."account_id", o."instrument" ORDER BY e."id") AS "n",
         (CASE WHEN o."side" = 'buy' THEN e."last_qty" ELSE -e."last_qty" END)::numeric AS "qty",
         e."last_px" * 1000000 AS "px", e."venue_time"
    FROM "executions" e JOIN "orders" o ON o."id" = e."order_id"
   WHERE e."exec_type" IN ('partial_fill', 'fill') AND e."last_px" IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM "executions" b
                      WHERE b."order_id" = e."order_id" AND b."exec_type" = 'trade_bust' AND b."ref_exec_id" = e."exec_id");
CREATE INDEX ON "standing_fills" ("account_id", "instrument", "n");
ANALYZE "standing_fills";

WITH RECURSIVE "fold" AS (
  SELECT "account_id", "instrument", "n", "qty" AS "quantity", "px" AS "average", 0::numeric AS "pnl", "venue_time"
    FROM "standing_fills" WHERE "n" = 1
  UNION ALL
  SELECT f."account_id", f."instrument", f."n", p."quantity" + f."qty",
         CASE WHEN p."quantity" = 0 OR sign(p."quantity") = sign(f."qty")
                THEN div(2 * (abs(p."quantity") * p."average" + abs(f."qty") * f."px") + abs(p."quantity") + abs(f."qty"),
                         2 * (abs(p."quantity") + abs(f."qty")))
              WHEN p."quantity" + f."qty" = 0 THEN 0
              WHEN sign(p."quantity" + f."qty") = sign(p."quantity") THEN p."average"
              ELSE f."px" END,
         p."pnl" + CASE WHEN p."quantity" = 0 OR sign(p."quantity") = sign(f."qty") THEN 0
                        ELSE least(abs(p."quantity"), abs(f."qty")) * (f."px" - p."average") * sign(p."quantity") END,
         f."venue_time"
    FROM "fold" p JOIN "standing_fills" f ON f."account_id" = p."account_id" AND f."instrument" = p."instrument" AND f."n" = p."n" + 1
)
INSERT INTO "positions" ("account_id", "instrument", "quantity", "average_entry_price", "realized_pnl", "updated_at")
SELECT DISTINCT ON ("account_id", "instrument") "account_id", "instrument", "quantity", "average" / 1000000, "pnl" / 1000000, "venue_time"
  FROM "fold" ORDER BY "account_id", "instrument", "n" DESC;

DROP TABLE "standing_fills";

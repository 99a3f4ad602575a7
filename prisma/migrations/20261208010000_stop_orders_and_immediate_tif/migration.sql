-- Issue 26: stop and stop-limit orders, and the time in force `ioc` and `fok`. A stop's trigger
-- price is its own column (null for the other types, as limit_price is for market orders); which
-- types require which price is the API's rule (api/order-request.ts), not a constraint here, as
-- for limit_price.
--
-- ADD VALUE runs inside the migration's transaction (PostgreSQL 12 and later); nothing here uses
-- the new values, which only later transactions may. Adding a nullable column without a default
-- rewrites nothing.
ALTER TYPE "OrderType" ADD VALUE 'stop';
ALTER TYPE "OrderType" ADD VALUE 'stop_limit';
ALTER TYPE "TimeInForce" ADD VALUE 'ioc';
ALTER TYPE "TimeInForce" ADD VALUE 'fok';
ALTER TABLE "orders" ADD COLUMN "stop_price" DECIMAL(18,2);

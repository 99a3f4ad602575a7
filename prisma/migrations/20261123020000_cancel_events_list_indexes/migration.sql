-- AlterEnum
ALTER TYPE "OrderStatus" ADD VALUE 'cancelled';

-- AlterTable
ALTER TABLE "orders" ADD COLUMN "cancelled_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "order_events" (
    "id" BIGSERIAL NOT NULL,
    "order_id" UUID NOT NULL,
    "status" "OrderStatus" NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "reason" TEXT,

    CONSTRAINT "order_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "order_events_order_id_id_idx" ON "order_events"("order_id", "id");

-- CreateIndex
CREATE INDEX "orders_created_at_id_idx" ON "orders"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "orders_instrument_created_at_id_idx" ON "orders"("instrument", "created_at" DESC, "id" DESC);

-- AddForeignKey
ALTER TABLE "order_events" ADD CONSTRAINT "order_events_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Every status an order takes is recorded with its time, by the database itself, so no code
-- path can change a status without leaving its event (not expressible in schema.prisma).
CREATE FUNCTION "record_order_event"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW."status" IS DISTINCT FROM OLD."status" THEN
    INSERT INTO "order_events" ("order_id", "status", "at", "reason")
    VALUES (NEW."id", NEW."status", clock_timestamp(), CASE WHEN NEW."status" = 'rejected' THEN NEW."rejected_reason" END);
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "orders_record_event" AFTER INSERT OR UPDATE OF "status" ON "orders"
FOR EACH ROW EXECUTE FUNCTION "record_order_event"();

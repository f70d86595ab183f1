-- https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_SCHEMA.html
-- https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html
-- https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html
-- https://docs.aws.amazon.com/redshift/latest/dg/r_COLUMNS.html (information_schema)
CREATE SCHEMA IF NOT EXISTS "web";
CREATE TABLE IF NOT EXISTS "web"."order_completed" ("id" VARCHAR(65535), "received_at" TIMESTAMP, "total" DOUBLE PRECISION, "items" BIGINT, "gift" BOOLEAN) DISTKEY(id) SORTKEY(received_at);
ALTER TABLE "web"."order_completed" ADD COLUMN "coupon" VARCHAR(65535);
CREATE TABLE IF NOT EXISTS "web"."_loads" (object_key VARCHAR(1024), load_id VARCHAR(128), hour TIMESTAMP, events BIGINT, discarded_events BIGINT, loaded_at TIMESTAMP, staged_events BIGINT) SORTKEY(hour);
CREATE TABLE IF NOT EXISTS "web"."_load_tables" (load_id VARCHAR(128), table_name VARCHAR(256), rows_staged BIGINT, rows_applied BIGINT, values_discarded BIGINT, loaded_at TIMESTAMP) SORTKEY(loaded_at);
CREATE TABLE IF NOT EXISTS "web"."_ids" (id VARCHAR(65535), table_name VARCHAR(256), object_hour TIMESTAMP) DISTKEY(id) SORTKEY(object_hour);
CREATE TABLE IF NOT EXISTS "web"."_pending_ids" (load_id VARCHAR(128), id VARCHAR(65535), table_name VARCHAR(256), object_hour TIMESTAMP) DISTKEY(id);
CREATE TABLE IF NOT EXISTS "web"."_pending_discards" ("id" VARCHAR(65535), "table_name" VARCHAR(65535), "row_id" VARCHAR(65535), "column_name" VARCHAR(65535), "value" VARCHAR(65535), "value_type" VARCHAR(65535), "reason" VARCHAR(65535), "received_at" TIMESTAMP, "raw_object" VARCHAR(65535), "load_id" VARCHAR(65535), "uuid_ts" TIMESTAMP) DISTKEY(id);
CREATE TABLE IF NOT EXISTS "web"."_erased_ids" (request_id VARCHAR(128), id VARCHAR(65535), table_name VARCHAR(256), object_hour TIMESTAMP, erased_at TIMESTAMP) DISTKEY(id) SORTKEY(object_hour);
CREATE TABLE IF NOT EXISTS "web"."_erasures" (request_id VARCHAR(128), identities BIGINT, identities_digest VARCHAR(64), rows_deleted VARCHAR(65535), objects_rewritten BIGINT, lines_removed BIGINT, remaining_rows BIGINT, started_at TIMESTAMP, finished_at TIMESTAMP) SORTKEY(finished_at);
SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = :schema ORDER BY table_name, ordinal_position;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html (TIMEFORMAT 'auto')
-- https://docs.aws.amazon.com/redshift/latest/dg/r_DELETE.html
CREATE TEMP TABLE "__ledger" (object_key VARCHAR(1024), load_id VARCHAR(128), hour TIMESTAMP, events BIGINT, discarded_events BIGINT, staged_events BIGINT);
COPY "__ledger" FROM 's3://staged-bucket/loads/web/exec-1234/ledger/manifest.json' IAM_ROLE 'arn:aws:iam::123456789012:role/clickstream-copy' MANIFEST FORMAT AS JSON 'auto' GZIP TIMEFORMAT 'auto';
DELETE FROM "web"."_loads" USING "__ledger" n WHERE "web"."_loads".object_key = n.object_key;
INSERT INTO "web"."_loads" (object_key, load_id, hour, events, discarded_events, loaded_at, staged_events) SELECT object_key, load_id, hour, events, discarded_events, GETDATE(), staged_events FROM "__ledger";
INSERT INTO "web"."_ids" (id, table_name, object_hour) SELECT n.id, n.table_name, n.object_hour FROM (SELECT id, table_name, MIN(object_hour) AS object_hour FROM "web"."_pending_ids" GROUP BY id, table_name) n WHERE NOT EXISTS (SELECT 1 FROM "web"."_ids" r WHERE r.id = n.id AND r.table_name = n.table_name);
DELETE FROM "web"."_pending_ids";
INSERT INTO "web"."_discards" ("id", "table_name", "row_id", "column_name", "value", "value_type", "reason", "received_at", "raw_object", "load_id", "uuid_ts") SELECT "id", "table_name", "row_id", "column_name", "value", "value_type", "reason", "received_at", "raw_object", "load_id", "uuid_ts" FROM (SELECT p.*, ROW_NUMBER() OVER (PARTITION BY p.id ORDER BY p.received_at DESC, p.uuid_ts DESC) AS rn FROM "web"."_pending_discards" p) x WHERE x.rn = 1 AND NOT EXISTS (SELECT 1 FROM "web"."_discards" e WHERE e.id = x.id);
DELETE FROM "web"."_pending_discards";

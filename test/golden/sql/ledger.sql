-- https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html (TIMEFORMAT 'auto')
-- https://docs.aws.amazon.com/redshift/latest/dg/r_DELETE.html
CREATE TEMP TABLE "__ledger" (object_key VARCHAR(1024), load_id VARCHAR(128), hour TIMESTAMP, events BIGINT, discarded_events BIGINT);
COPY "__ledger" FROM 's3://staged-bucket/loads/web/exec-1234/ledger/manifest.json' IAM_ROLE 'arn:aws:iam::123456789012:role/clickstream-copy' MANIFEST FORMAT AS JSON 'auto' GZIP TIMEFORMAT 'auto';
DELETE FROM "web"."_loads" USING "__ledger" n WHERE "web"."_loads".object_key = n.object_key;
INSERT INTO "web"."_loads" (object_key, load_id, hour, events, discarded_events, loaded_at) SELECT object_key, load_id, hour, events, discarded_events, GETDATE() FROM "__ledger";

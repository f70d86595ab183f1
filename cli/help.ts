/**
 * Every command's help text, in one light module: `npx clickstream <command> --help` loads
 * nothing else (no AWS SDK, no CDK).
 */
import { QUARANTINE_PREFIX } from '../lambdas/core/layout';
import { PRICES } from './prices';

export const BACKFILL_HELP = `Usage: npx clickstream backfill --source NAME[,NAME…|*] --from ISO --to ISO [options]

Starts the backfill workflow (the same execution an operator starts in the console), follows it
with a progress bar, and prints its summary.

  --source NAME     source(s): a name, a comma-separated list, or * for all
  --from ISO        start of the range, e.g. 2026-11-01T00:00Z
  --to ISO          end of the range (exclusive)
  --windows JSON    exactly these windows instead (what a summary's re-run input lists)
  --mode MODE       reload (every hour with raw data, default) | missing (only hours not fully loaded)
  --dry-run         a test run: transform and validate, report, change nothing
  --max-concurrency N   load executions at once (default and ceiling from cdk.json)
  --json            print the summary as JSON
  --data-dir DIR    the local stack (default .clickstream)   --env NAME   a deployed environment

Exit codes: 0 every window loaded (or nothing to load), 2 bad input, 3 some windows failed, 1 other errors.`;

export const COST_HELP = `Usage: npx clickstream cost --events-per-day N [options]

Estimates the AWS spend of the pipeline per million events, by component, from counts measured in
local runs (cli/cost-profile.json; re-measure with "npm run bench -- cost") and list prices
(${PRICES.region}, as of ${PRICES.asOf}: cli/prices.ts). The warehouse's load time is shown apart.

  --events-per-day N         events a day, all sources together
  --events-per-request R     events per collector request (default 1: analytics.js without its
                             batching mode; ~10 or more with batching or the server libraries)
  --avg-bytes B              average event size as stored, in bytes (default: the measured traffic's)
  --sources S                sources (default 1)
  --load-interval SECONDS    seconds between scheduled loads per source (default 300)
  --endpoint E               function-url (default) | http-api
  --firehose-buffer SECONDS  Firehose buffer interval (default 60, at most a quarter of the load interval)
  --raw-retention-days D     days raw events are kept (default 400)
  --rpu N                    Redshift Serverless base capacity (default 8)
  --collector-tracing        count X-Ray tracing of the collector (off by default)
  --json                     the estimate as JSON: usdPerMillionEvents, breakdown, assumptions

Exit codes: 0 estimated, 2 bad input, 1 other errors.`;

export const LOAD_HELP = `Usage: npx clickstream load --source NAME [--dry-run] [--from ISO --to ISO] [--json]

Starts a load of the source now (the execution a schedule starts), follows it to the end and
prints what it loaded, per table.

  --source NAME   the source to load
  --dry-run       a test run: transform and validate, report, write nothing to the warehouse
  --from, --to    reload exactly this range (hours of the raw objects) instead of what is pending
  --json          print the load summary as JSON
  --data-dir DIR  the local stack (default .clickstream)   --env NAME   a deployed environment

Exit codes: 0 loaded (or nothing pending), 2 bad input, 3 the load failed, 1 other errors.`;

export const SEND_HELP = `Usage: npx clickstream send --source NAME --events N [options]

Sends realistic synthetic traffic through the collector's real HTTP API with Segment's own
@segment/analytics-node: six call types (track, page, screen, identify, group, alias) in a web
mix, a dozen event names with their own properties, client retries (duplicate messageIds) and
client clock skew. For demos and benchmarks.

  --source NAME       the source to send to
  --events N          how many events
  --rate R            at most R events per second (default: as fast as the collector takes them)
  --duplicates P      share of events sent again with the same messageId, 0–1 (default 0.05)
  --skew SECONDS      largest client clock skew, either way (default 120)
  --seed S            generator seed: the same seed sends the same events and messageIds (default: random)
  --write-key KEY     the source's write key (default: the local stack's first key of the source)
  --json              print the result as JSON
  --data-dir DIR      the local stack (default .clickstream)   --env NAME   a deployed environment

Exit codes: 0 every event was acknowledged, 3 some were not, 2 bad input, 1 other errors.`;

export const SMOKE_HELP = `Usage: npx clickstream smoke [--source NAME] [--write-key KEY] [--origin URL] [--delivery-timeout SECONDS] [--json]

The first thing to run after "cdk deploy": sends a few synthetic events to the collector exactly
as a browser does (CORS preflight from an origin, Authorization header, one retry with
X-Retry-Count), waits for Firehose to deliver them, starts a load, waits for it, reads the rows
through the Data API and verifies their hour. Each step prints its time and, on failure, the
likely cause and the fix. The events are marked: messageId "smoke-<run>-…", context.library.name
"clickstream-smoke", event "Clickstream Smoke Test".

  --source NAME             the source to test (default: the first loaded, non-dry-run source)
  --write-key KEY           one of its write keys (required with --env: a stack does not publish them)
  --origin URL              the Origin to send from (default https://smoke-test.invalid; pass one of
                            collector.allowedOrigins when the environment restricts them)
  --delivery-timeout SECS   how long to wait for Firehose (default: 180; raise it when the source's
                            buffer interval is longer)
  --json                    print the steps as JSON
  --data-dir DIR            the local stack (default .clickstream)   --env NAME   a deployed environment

Exit codes: 0 every step passed, 3 a step failed, 2 bad input, 1 other errors.`;

export const SQL_HELP = `Usage: npx clickstream sql "SELECT …" [--json] [--data-dir DIR | --env NAME]

Runs one statement through the Redshift Data API and prints the result as a table (or JSON).
Exit codes: 0 done, 2 bad input, 4 the statement failed (its error is printed), 1 other errors.`;

export const STATUS_HELP = `Usage: npx clickstream status [--source NAME] [--json]

Per source: its flags (collect, load, dryRun), the last successful load, the lag (age of the
oldest raw object not loaded yet) and how many objects wait, events read by the loads of the
last hour and day (as sent: a client's retry counts each time, and loads once), load executions that failed in the last day, and values discarded (last day / in total).

  --source NAME   only this source (default: every source)
  --json          print as JSON
  --data-dir DIR  the local stack (default .clickstream)   --env NAME   a deployed environment

Exit codes: 0 shown, 2 bad input, 1 other errors.`;

export const VERIFY_HELP = `Usage: npx clickstream verify --source NAME [--from ISO] [--to ISO] [--deep] [--repair] [--json]

Proves accepted = loaded + discarded, hour by hour (hours of the raw objects, UTC):
  accepted     distinct messages in the raw objects
  quarantined  messages the collector rejected (kept under ${QUARANTINE_PREFIX} with their reason)
  loaded       distinct messages present in the call tables (tracks, pages, screens, identifies, …)
  discarded    whole events the loads could not load (in _discards with their reason)
  duplicates   events sent more than once (client retries), loaded once
Counts come from the load ledger and SQL; raw objects are read only where no load counted them.
What the default proves: every loaded message is still in its call table, every raw object is loaded,
and every event the transform read went into a call table or was discarded with a reason (by the
transform's own count per object; an event it lost shows as "neither loaded nor discarded").
What only --deep proves: the loads' counts themselves, against the raw objects re-read.

  --source NAME   the source to verify
  --from ISO      start (default: 24 hours before --to)
  --to ISO        end, exclusive (default: the end of the current hour, so what was just sent counts;
                  hours still in progress are marked "in flight")
  --repair        start a "missing" backfill of exactly the hours that do not add up, then verify again
                  (with --deep: a "reload" of those hours, since their losses are invisible to "missing")
  --deep          also re-read every raw object, to find messages no load registered (slower: reads everything)
  --json          print the report as JSON
  --data-dir DIR  the local stack (default .clickstream)   --env NAME   a deployed environment

Exit codes: 0 every hour adds up, 3 some hours do not (listed), 2 bad input, 1 other errors.`;

export const COMPARE_HELP = `Usage: npx clickstream compare --source NAME --with SCHEMA [--from ISO] [--to ISO] [--ignore COLS] [--json]

Compares the source's tables with the tables Segment loads into SCHEMA of the same warehouse,
table by table and day by day (received_at, UTC), joined on id: distinct ids on each side, ids
only in one side (with examples), and for ids in both the columns whose values differ
(timestamps to the millisecond, numbers numerically, the rest as text). Columns only one side has
are listed, not compared. One query per table; run it as often as you like, the report is the same.

  --source NAME   our source (its schema has the same name)
  --with SCHEMA   the schema Segment loads
  --from ISO      start of the received_at range (default: everything)
  --to ISO        end, exclusive (default: everything)
  --ignore COLS   comma-separated columns not to compare (default: uuid_ts, the load time;
                  in a dual run add received_at, which each pipeline sets itself)
  --json          print the report as JSON
  --data-dir DIR  the local stack (default .clickstream)   --env NAME   a deployed environment

Exit codes: 0 equal, 3 different (listed), 2 bad input, 1 other errors.`;

export const FORGET_HELP = `Usage: npx clickstream forget --source NAME|* --user-id ID… [--anonymous-id ID…] [--file F] [--dry-run] [--json]
       npx clickstream forget --source NAME|* --list
       npx clickstream forget --source NAME|* --unsuppress --user-id ID… [--anonymous-id ID…]

Erases identities (a GDPR/CCPA request) through the forget workflow: the user ids are expanded to
the anonymous ids linked to them (any call with both, aliases' previous ids); the identities go
on the source's suppression list (the collector answers 200 and stores nothing of them, the
transform never loads them); after the collectors' cache and the Firehose buffer have turned over,
every raw, quarantined and staged object holding one of their messages is rewritten without
those lines (nothing else in it changes); their rows leave every table, one transaction per table
(users, groups → accounts rebuilt, aliases, _discards, _ids → _erased_ids), the ledger is fixed so
verify balances (accepted = loaded + discarded + erased), and a receipt goes to <source>._erasures.
Running it again changes nothing. Up to 5,000 ids per request.

  --source NAME|*      a source, several (a,b) or every source
  --user-id ID         a user id (repeat the flag for more)
  --anonymous-id ID    an anonymous id (repeat the flag for more)
  --file F             ids one per line: a bare id or userId:ID is a user id, anonymousId:ID an anonymous id
  --dry-run            report the rows and objects it would erase; change nothing, suppress no one
  --list               show the suppression list (ids are kept only as SHA-256 digests)
  --unsuppress         take the ids off the suppression list: their new events are collected again
  --json               print the result as JSON
  --data-dir DIR       the local stack (default .clickstream)   --env NAME   a deployed environment

Exit codes: 0 done, 3 the erasure failed (re-run the same command), 2 bad input, 1 other errors.`;

export const IMPORT_HELP = `Usage: npx clickstream import --source NAME --archive s3://BUCKET/PREFIX/ --from ISO --to ISO [--dry-run] [--max-concurrency N] [--json]

Imports history from Segment's S3 destination archive (objects
PREFIX/<received day in epoch ms>/<file>.gz, gzip files of whole Segment messages): each archived
message is written, as archived, to this stack's raw bucket in the hour it was received, then a
"missing" backfill loads those hours through the same transform and COPY as live data. A message
that also arrived live (same messageId) is one row; importing again changes nothing. Lines that are
not a Segment message (not JSON, no messageId, type or receivedAt) are quarantined with their
reason; messages the loads cannot load go to _discards, as live ones do. The same import runs from
the console: the backfill workflow with {"source","mode":"import","archive":{"bucket","prefix"},…}.

  --source NAME        the source to import into
  --archive URI        s3://BUCKET/PREFIX/ of one Segment source (…/segment-logs/<source-id>/)
  --from ISO --to ISO  the received days to import (a day is imported when it overlaps the range)
  --dry-run            read and check everything, write nothing: per day the objects, messages and
                       invalid lines (with reasons); per hour the rows per table the loads would
                       stage and their discards; the tables and columns they would add
  --max-concurrency N  parallel load windows of the backfill (default: the stack's default)
  --json               print the summary as JSON (progress goes to stderr either way)
  --data-dir DIR  the local stack (default .clickstream)   --env NAME   a deployed environment
                  (the archive is read with your AWS credentials)

Exit codes: 0 imported (invalid lines quarantined and counted) or dry run done, 2 bad input,
3 some load windows failed (listed), 1 other errors.`;

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { AwsError, type EdgeRequest, type EdgeResponse, epochSeconds, jsonError, jsonResponse } from './http';
import type { ObjectStore } from './objectStore';

/** A delivery stream as synthesized: where it delivers and how it buffers. */
export interface DeliveryStreamSpec {
  readonly name: string;
  readonly arn: string;
  readonly bucket: string;
  /** S3 prefix with Firehose expressions such as `!{timestamp:yyyy/MM/dd/HH}`. */
  readonly prefix: string;
  readonly compression: 'GZIP' | 'UNCOMPRESSED';
  readonly bufferingSizeBytes: number;
  /** The stream's own buffering interval (BufferingHints.IntervalInSeconds of the template). */
  readonly bufferingIntervalMs?: number;
  /** The role Firehose assumes to write to the bucket (`RoleARN` of the destination). */
  readonly roleArn?: string;
}

/** A delivery IAM refused: Firehose keeps the records and tries again (on AWS for up to 24 hours). */
export interface DeliveryError {
  readonly stream: string;
  readonly code: 'S3.AccessDenied';
  readonly message: string;
}

const MAX_RECORD_BYTES = 1_000 * 1024;
const MAX_BATCH_RECORDS = 500;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

interface Buffered {
  /** Write-ahead log: every accepted record is appended here before PutRecord answers. */
  readonly walPath: string;
  fd: number;
  bytes: number;
  firstArrival: number | undefined;
}

/** Renders `!{timestamp:…}` in a Firehose prefix for an arrival time (UTC). */
export function renderPrefix(prefix: string, at: Date): string {
  return prefix.replace(/!\{timestamp:([^}]+)\}/g, (_, format: string) =>
    format
      .replace(/yyyy/g, String(at.getUTCFullYear()))
      .replace(/MM/g, String(at.getUTCMonth() + 1).padStart(2, '0'))
      .replace(/dd/g, String(at.getUTCDate()).padStart(2, '0'))
      .replace(/HH/g, String(at.getUTCHours()).padStart(2, '0'))
      .replace(/mm/g, String(at.getUTCMinutes()).padStart(2, '0')),
  );
}

/**
 * Firehose DirectPut: PutRecord, PutRecordBatch and DescribeDeliveryStream for the synthesized
 * streams. Accepted records are appended to a per-stream write-ahead log before the call
 * answers (so a crash loses nothing acknowledged) and delivered to S3 by size or by the buffer
 * interval, under the stream's prefix, gzip-compressed, named like Firehose names objects.
 */
export class FirehoseService {
  private readonly streams = new Map<string, DeliveryStreamSpec>();
  private readonly buffers = new Map<string, Buffered>();
  private timer: NodeJS.Timeout | undefined;
  /**
   * Fault injection: the next `failRecords` records answer ServiceUnavailableException inside
   * a successful PutRecordBatch (a partial failure), as Firehose does under throttling.
   */
  public readonly faults = { failRecords: 0 };
  /**
   * IAM for the delivery role's writes (set by local mode when strict): the denial message, or
   * undefined when allowed.
   */
  public authorizeRole: ((roleArn: string, action: string, resource: string) => string | undefined) | undefined;
  /** Deliveries refused (newest last), as the stream's error log would show them. */
  public readonly deliveryErrors: DeliveryError[] = [];
  /** Buffers whose delivery was refused: kept, and delivered again at the next flush. */
  private readonly undelivered: Array<{ spec: DeliveryStreamSpec; walPath: string; arrival: number }> = [];
  private lastRetry = 0;

  /** Records and objects delivered, for the cost model and tests. */
  public readonly counters = { putCalls: 0, records: 0, recordBytes: 0, billedBytes: 0, objects: 0 };

  constructor(
    private readonly store: ObjectStore,
    private readonly walDir: string,
    specs: ReadonlyArray<DeliveryStreamSpec>,
    /** One interval for every stream instead of each stream's own (`--buffer-interval`, tests). */
    private readonly bufferIntervalOverrideMs?: number,
  ) {
    fs.mkdirSync(walDir, { recursive: true });
    for (const spec of specs) {
      this.streams.set(spec.name, spec);
      this.store.createBucket(spec.bucket);
    }
    // Records accepted before a crash or stop are delivered now: nothing acknowledged is lost.
    for (const file of fs.readdirSync(walDir)) {
      const m = /^(.+)\.(\d+)\.wal$/.exec(file);
      if (m && this.streams.has(m[1])) this.deliverWal(this.streams.get(m[1]) as DeliveryStreamSpec, path.join(walDir, file), Number(m[2]));
    }
  }

  start(): void {
    const shortest = Math.min(...[...this.streams.values()].map((x) => this.intervalOf(x)));
    this.timer = setInterval(() => this.flushDue(), Math.max(50, Math.min(shortest / 4, 1000)));
    this.timer.unref();
  }

  /** Delivers everything buffered now (and again what a refused delivery kept). */
  flushAll(): void {
    this.retryUndelivered();
    for (const name of [...this.buffers.keys()]) this.flush(name);
  }

  private retryUndelivered(): void {
    for (const u of this.undelivered.splice(0)) this.deliverWal(u.spec, u.walPath, u.arrival);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.flushAll();
  }

  handle(req: EdgeRequest): EdgeResponse {
    const op = String(req.headers['x-amz-target']).split('.')[1];
    try {
      const input = JSON.parse(req.body.toString('utf8') || '{}');
      switch (op) {
        case 'PutRecord': {
          const spec = this.stream(input.DeliveryStreamName);
          const data = decodeRecord(input.Record);
          this.append(spec, [data]);
          return jsonResponse({ RecordId: randomUUID(), Encrypted: false });
        }
        case 'PutRecordBatch': {
          const spec = this.stream(input.DeliveryStreamName);
          const records: Buffer[] = (input.Records ?? []).map(decodeRecord);
          if (records.length === 0 || records.length > MAX_BATCH_RECORDS)
            throw new AwsError('ValidationException', `PutRecordBatch takes 1 to ${MAX_BATCH_RECORDS} records, got ${records.length}`);
          const total = records.reduce((n, r) => n + r.length, 0);
          if (total > MAX_BATCH_BYTES) throw new AwsError('ValidationException', `PutRecordBatch takes at most 4 MiB, got ${total} bytes`);
          const failing = records.map(() => this.faults.failRecords > 0 && this.faults.failRecords-- > 0);
          const accepted = records.filter((_, i) => !failing[i]);
          if (accepted.length > 0) this.append(spec, accepted);
          return jsonResponse({
            FailedPutCount: failing.filter(Boolean).length,
            Encrypted: false,
            RequestResponses: failing.map((f) => (f ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' } : { RecordId: randomUUID() })),
          });
        }
        case 'DescribeDeliveryStream': {
          const spec = this.stream(input.DeliveryStreamName);
          return jsonResponse({
            DeliveryStreamDescription: {
              DeliveryStreamName: spec.name,
              DeliveryStreamARN: spec.arn,
              DeliveryStreamStatus: 'ACTIVE',
              DeliveryStreamType: 'DirectPut',
              VersionId: '1',
              CreateTimestamp: epochSeconds(new Date(0)),
              HasMoreDestinations: false,
              Destinations: [
                {
                  DestinationId: 'destinationId-000000000001',
                  ExtendedS3DestinationDescription: {
                    BucketARN: `arn:aws:s3:::${spec.bucket}`,
                    Prefix: spec.prefix,
                    CompressionFormat: spec.compression,
                    BufferingHints: { SizeInMBs: Math.round(spec.bufferingSizeBytes / 1048576), IntervalInSeconds: Math.round(this.intervalOf(spec) / 1000) },
                    RoleARN: 'arn:aws:iam::000000000000:role/local',
                    EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
                  },
                },
              ],
            },
          });
        }
        case 'ListDeliveryStreams':
          return jsonResponse({ DeliveryStreamNames: [...this.streams.keys()].sort(), HasMoreDeliveryStreams: false });
        default:
          throw new AwsError('UnknownOperationException', `Firehose ${op} is not supported by the local edge`);
      }
    } catch (e) {
      if (e instanceof AwsError) return jsonError(e);
      if (e instanceof SyntaxError) return jsonError(new AwsError('SerializationException', e.message));
      throw e;
    }
  }

  private stream(name: unknown): DeliveryStreamSpec {
    const spec = typeof name === 'string' ? this.streams.get(name) : undefined;
    if (!spec) throw new AwsError('ResourceNotFoundException', `Firehose ${String(name)} under account 000000000000 not found.`);
    return spec;
  }

  private append(spec: DeliveryStreamSpec, records: Buffer[]): void {
    let buf = this.buffers.get(spec.name);
    if (!buf) {
      const walPath = path.join(this.walDir, `${spec.name}.${Date.now()}.wal`);
      buf = { walPath, fd: fs.openSync(walPath, 'a'), bytes: 0, firstArrival: undefined };
      this.buffers.set(spec.name, buf);
    }
    // Length-prefixed frames: records are opaque bytes and may hold any byte.
    const frames = records.flatMap((r) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(r.length);
      return [len, r];
    });
    fs.writeSync(buf.fd, Buffer.concat(frames));
    buf.bytes += records.reduce((n, r) => n + r.length, 0);
    buf.firstArrival ??= Date.now();
    this.counters.putCalls++;
    this.counters.records += records.length;
    for (const r of records) {
      this.counters.recordBytes += r.length;
      this.counters.billedBytes += Math.ceil(Math.max(r.length, 1) / 5120) * 5120;
    }
    if (buf.bytes >= spec.bufferingSizeBytes) this.flush(spec.name);
  }

  /** How long a stream buffers: its own interval from the template, unless overridden. Firehose's default is 300 s. */
  private intervalOf(spec: DeliveryStreamSpec): number {
    return this.bufferIntervalOverrideMs ?? spec.bufferingIntervalMs ?? 300_000;
  }

  private flushDue(): void {
    const now = Date.now();
    if (this.undelivered.length > 0 && now - this.lastRetry >= 1000) {
      this.lastRetry = now;
      this.retryUndelivered();
    }
    for (const [name, buf] of this.buffers) {
      const spec = this.streams.get(name);
      if (buf.firstArrival !== undefined && spec && now - buf.firstArrival >= this.intervalOf(spec)) this.flush(name);
    }
  }

  private flush(name: string): void {
    const buf = this.buffers.get(name);
    if (!buf) return;
    this.buffers.delete(name);
    fs.closeSync(buf.fd);
    this.deliverWal(this.streams.get(name) as DeliveryStreamSpec, buf.walPath, buf.firstArrival ?? Date.now());
  }

  private deliverWal(spec: DeliveryStreamSpec, walPath: string, arrival: number): void {
    const raw = fs.readFileSync(walPath);
    const records: Buffer[] = [];
    for (let pos = 0; pos + 4 <= raw.length;) {
      const len = raw.readUInt32BE(pos);
      if (pos + 4 + len > raw.length) break; // a torn final frame was never acknowledged
      records.push(raw.subarray(pos + 4, pos + 4 + len));
      pos += 4 + len;
    }
    if (records.length > 0) {
      const at = new Date(arrival);
      const data = Buffer.concat(records);
      const body = spec.compression === 'GZIP' ? zlib.gzipSync(data) : data;
      const stamp = at.toISOString().replace(/[-:T]/g, '-').slice(0, 19);
      const key = `${renderPrefix(spec.prefix, at)}${spec.name}-1-${stamp}-${randomUUID()}${spec.compression === 'GZIP' ? '.gz' : ''}`;
      // The delivery role writes the object: without s3:PutObject on it, nothing is delivered and
      // the records stay (Firehose, "Handle data delivery failures": S3.AccessDenied, retried).
      const denied = spec.roleArn ? this.authorizeRole?.(spec.roleArn, 's3:PutObject', `arn:aws:s3:::${spec.bucket}/${key}`) : undefined;
      if (denied) {
        this.deliveryErrors.push({ stream: spec.name, code: 'S3.AccessDenied', message: denied });
        if (this.deliveryErrors.length > 1000) this.deliveryErrors.shift();
        this.undelivered.push({ spec, walPath, arrival });
        return;
      }
      this.store.put(spec.bucket, key, body, { contentType: 'application/octet-stream' });
      this.counters.objects++;
    }
    fs.rmSync(walPath, { force: true });
  }
}

function decodeRecord(record: unknown): Buffer {
  const data = (record as { Data?: unknown } | undefined)?.Data;
  if (typeof data !== 'string') throw new AwsError('ValidationException', 'Record.Data is required');
  const buf = Buffer.from(data, 'base64');
  if (buf.length > MAX_RECORD_BYTES) throw new AwsError('ValidationException', `Record size ${buf.length} exceeds the limit of 1,000 KiB`);
  return buf;
}

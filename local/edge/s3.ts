import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { AwsError, type EdgeRequest, type EdgeResponse } from './http';
import type { ObjectStore, StoredObject } from './objectStore';
import type { Countdown } from '../faults';
import { type S3FaultRule } from '../faults';

/**
 * The S3 REST API subset the stack, the AWS CLI and `@aws-sdk/client-s3` use, path-style:
 * buckets (create, head, list, location), objects (put, get with Range, head, delete, copy,
 * DeleteObjects), ListObjectsV2 (prefix, delimiter, continuation, start-after, url encoding)
 * and multipart uploads. Bodies in `aws-chunked` encoding (the SDK's default for streamed
 * uploads, with a checksum trailer) are decoded and their checksum verified.
 */
export class S3Service {
  private readonly uploadsDir: string;
  /**
   * Fault injection: GETs of keys matching `pattern` answer 503 SlowDown, `times` times — what S3
   * does under throttling.
   */
  public readonly faults: { getSlowDown?: { pattern: RegExp; times: number }; rules: Array<Countdown<S3FaultRule>> } = { rules: [] };

  constructor(
    private readonly store: ObjectStore,
    workDir: string,
  ) {
    this.uploadsDir = path.join(workDir, 'multipart');
    fs.mkdirSync(this.uploadsDir, { recursive: true });
  }

  /**
   * Requests by S3's price tiers: PUT, COPY, POST and LIST (tier 1); GET, HEAD and the rest (tier 2);
   * DELETE is free. What the cost model counts.
   */
  public readonly counters = { tier1: 0, tier2: 0 };

  /**
   * Whether the function making a request may list a bucket (set where IAM is evaluated): a read of
   * a missing key answers 404 NoSuchKey only to a caller that may, 403 AccessDenied to any other.
   */
  public mayList?: (req: EdgeRequest, bucket: string) => boolean;

  handle(req: EdgeRequest): EdgeResponse {
    const key = req.url.pathname.split('/').slice(2).join('/');
    if (req.method === 'PUT' || req.method === 'POST' || (req.method === 'GET' && !key)) this.counters.tier1++;
    else if (req.method !== 'DELETE') this.counters.tier2++;
    try {
      return this.route(req);
    } catch (e) {
      if (e instanceof AwsError) return xmlError(e, req);
      throw e;
    }
  }

  private route(req: EdgeRequest): EdgeResponse {
    const { bucket, key } = bucketAndKey(req.url);
    const q = req.url.searchParams;
    const m = req.method;
    if (!bucket) {
      if (m === 'GET') return this.listBuckets();
      throw new AwsError('MethodNotAllowed', `${m} / is not supported`, 405);
    }
    if (!key) {
      if (m === 'PUT') {
        this.store.createBucket(bucket);
        return { status: 200, headers: { location: `/${bucket}` } };
      }
      if (m === 'HEAD') {
        if (!this.store.hasBucket(bucket)) return { status: 404 };
        return { status: 200, headers: { 'x-amz-bucket-region': 'us-east-1' } };
      }
      if (m === 'GET' && q.has('location')) {
        this.requireBucket(bucket);
        return xml('<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>');
      }
      if (m === 'GET') return this.listObjectsV2(bucket, q);
      if (m === 'POST' && q.has('delete')) return this.deleteObjects(bucket, req.body.toString('utf8'));
      throw new AwsError('NotImplemented', `${m} on a bucket with ?${q.toString()} is not supported by the local S3`, 501);
    }
    for (const rule of this.faults.rules) {
      if ((m === 'GET' || m === 'PUT') && rule.rule.method === m && new RegExp(rule.rule.key).test(key) && rule.take()) {
        throw rule.rule.code === 'SlowDown'
          ? new AwsError('SlowDown', 'Please reduce your request rate.', 503)
          : new AwsError('InternalError', 'We encountered an internal error. Please try again.', 500);
      }
    }
    if (m === 'PUT' && q.has('uploadId')) return this.uploadPart(q.get('uploadId') as string, Number(q.get('partNumber')), req);
    if (m === 'PUT' && req.headers['x-amz-copy-source']) return this.copyObject(bucket, key, String(req.headers['x-amz-copy-source']));
    if (m === 'PUT') {
      this.checkWritePreconditions(bucket, key, req);
      const meta = this.store.put(bucket, key, decodeBody(req), objectAttributes(req));
      return { status: 200, headers: { etag: meta.etag } };
    }
    if (m === 'POST' && q.has('uploads')) return this.createMultipartUpload(bucket, key, req);
    if (m === 'POST' && q.has('uploadId')) return this.completeMultipartUpload(bucket, key, q.get('uploadId') as string, req.body.toString('utf8'));
    if (m === 'DELETE' && q.has('uploadId')) {
      fs.rmSync(this.uploadDir(q.get('uploadId') as string), { recursive: true, force: true });
      return { status: 204 };
    }
    const slowDown = this.faults.getSlowDown;
    if (m === 'GET' && slowDown && slowDown.times > 0 && slowDown.pattern.test(key)) {
      slowDown.times--;
      throw new AwsError('SlowDown', 'Please reduce your request rate.', 503);
    }
    if (m === 'GET' || m === 'HEAD') return this.getObject(bucket, key, req);
    if (m === 'DELETE') {
      this.requireBucket(bucket);
      this.store.delete(bucket, key);
      return { status: 204 };
    }
    throw new AwsError('NotImplemented', `${m} on an object is not supported by the local S3`, 501);
  }

  private requireBucket(bucket: string): void {
    if (!this.store.hasBucket(bucket)) throw new AwsError('NoSuchBucket', `The specified bucket does not exist: ${bucket}`, 404);
  }

  /**
   * Conditional writes (S3 User Guide, "How to prevent object overwrites with conditional writes";
   * PutObject): `If-None-Match: *` writes only a new key (else 412 PreconditionFailed; any other
   * value is not implemented by S3); `If-Match: <etag>` only over that version (412 when the ETag
   * differs, 404 NoSuchKey when there is no object). Local requests run one at a time, so S3's 409
   * ConditionalRequestConflict between racing writes cannot happen here.
   */
  private checkWritePreconditions(bucket: string, key: string, req: EdgeRequest): void {
    const ifNoneMatch = req.headers['if-none-match'];
    const ifMatch = req.headers['if-match'];
    if (ifNoneMatch === undefined && ifMatch === undefined) return;
    this.requireBucket(bucket);
    let existing: { etag: string } | undefined;
    try {
      existing = this.store.head(bucket, key);
    } catch {
      existing = undefined;
    }
    const failed = () => new AwsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
    if (ifNoneMatch !== undefined) {
      if (String(ifNoneMatch).trim() !== '*')
        throw new AwsError('NotImplemented', 'A header you provided implies functionality that is not implemented (If-None-Match takes only "*")', 501);
      if (existing) throw failed();
    }
    if (ifMatch !== undefined) {
      if (!existing) throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404);
      const wanted = String(ifMatch).trim().replace(/^"|"$/g, '');
      if (existing.etag.replace(/^"|"$/g, '') !== wanted) throw failed();
    }
  }

  private listBuckets(): EdgeResponse {
    const buckets = this.store.bucketNames().map((name) => `<Bucket><Name>${esc(name)}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>`);
    return xml(
      `<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>local</ID></Owner><Buckets>${buckets.join('')}</Buckets></ListAllMyBucketsResult>`,
    );
  }

  private listObjectsV2(bucket: string, q: URLSearchParams): EdgeResponse {
    if (q.get('list-type') !== '2') throw new AwsError('NotImplemented', 'Only ListObjectsV2 (list-type=2) is supported by the local S3', 501);
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeys = Math.min(Math.max(Number(q.get('max-keys') ?? 1000), 0), 1000);
    const token = q.get('continuation-token');
    const startAfter = token ? Buffer.from(token, 'base64url').toString('utf8') : (q.get('start-after') ?? '');
    const urlEncode = q.get('encoding-type') === 'url';
    const enc = (s: string) => esc(urlEncode ? encodeURIComponent(s).replace(/%2F/g, '/') : s);

    const contents: StoredObject[] = [];
    const prefixes: string[] = [];
    let last = '';
    let truncated = false;
    for (const obj of this.store.keys(bucket, prefix, startAfter)) {
      let common: string | undefined;
      if (delimiter) {
        const at = obj.key.indexOf(delimiter, prefix.length);
        if (at >= 0) common = obj.key.slice(0, at + delimiter.length);
      }
      // Keys sharing a prefix are contiguous in S3 order, so a common prefix is one entry.
      if (common !== undefined && common === prefixes[prefixes.length - 1]) continue;
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (common !== undefined) {
        prefixes.push(common);
        last = `${common}\u{10FFFF}`; // the next page starts after every key under it
      } else {
        contents.push(obj);
        last = obj.key;
      }
    }
    const body = [
      `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`,
      `<Name>${esc(bucket)}</Name><Prefix>${enc(prefix)}</Prefix><KeyCount>${contents.length + prefixes.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys>`,
      delimiter ? `<Delimiter>${enc(delimiter)}</Delimiter>` : '',
      urlEncode ? '<EncodingType>url</EncodingType>' : '',
      `<IsTruncated>${truncated}</IsTruncated>`,
      token ? `<ContinuationToken>${esc(token)}</ContinuationToken>` : '',
      truncated ? `<NextContinuationToken>${Buffer.from(last, 'utf8').toString('base64url')}</NextContinuationToken>` : '',
      ...contents.map(
        (o) =>
          `<Contents><Key>${enc(o.key)}</Key><LastModified>${o.lastModified}</LastModified><ETag>${esc(o.etag)}</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      ),
      ...prefixes.map((p) => `<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`),
      '</ListBucketResult>',
    ].join('');
    return xml(body);
  }

  private getObject(bucket: string, key: string, req: EdgeRequest): EdgeResponse {
    let found;
    try {
      found = req.method === 'HEAD' ? { meta: this.store.head(bucket, key), body: Buffer.alloc(0) } : this.store.get(bucket, key);
    } catch (e) {
      if (e instanceof AwsError && e.code === 'NoSuchKey' && this.mayList && !this.mayList(req, bucket))
        throw new AwsError('AccessDenied', 'Access Denied', 403);
      throw e;
    }
    const { meta, body } = found;
    const headers: Record<string, string | number> = {
      etag: meta.etag,
      'last-modified': new Date(meta.lastModified).toUTCString(),
      'content-type': meta.contentType ?? 'binary/octet-stream',
      'accept-ranges': 'bytes',
    };
    if (meta.contentEncoding) headers['content-encoding'] = meta.contentEncoding;
    for (const [k, v] of Object.entries(meta.metadata ?? {})) headers[`x-amz-meta-${k}`] = v;
    const range = req.headers.range;
    if (typeof range === 'string' && req.method === 'GET') {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range);
      if (!m) throw new AwsError('InvalidRange', `Unsupported range ${range}`, 416);
      const start = m[1] === '' ? Math.max(meta.size - Number(m[2]), 0) : Number(m[1]);
      const end = m[1] === '' || m[2] === '' ? meta.size - 1 : Math.min(Number(m[2]), meta.size - 1);
      if (start >= meta.size || start > end) throw new AwsError('InvalidRange', 'The requested range is not satisfiable', 416);
      headers['content-range'] = `bytes ${start}-${end}/${meta.size}`;
      return { status: 206, headers, body: body.subarray(start, end + 1) };
    }
    headers['content-length'] = meta.size;
    return { status: 200, headers, body: req.method === 'HEAD' ? undefined : body };
  }

  private copyObject(bucket: string, key: string, source: string): EdgeResponse {
    const decoded = decodeURIComponent(source.replace(/^\//, '').split('?')[0]);
    const slash = decoded.indexOf('/');
    const { meta, body } = this.store.get(decoded.slice(0, slash), decoded.slice(slash + 1));
    const copy = this.store.put(bucket, key, body, { contentType: meta.contentType, contentEncoding: meta.contentEncoding, metadata: meta.metadata });
    return xml(`<CopyObjectResult><LastModified>${copy.lastModified}</LastModified><ETag>${esc(copy.etag)}</ETag></CopyObjectResult>`);
  }

  private deleteObjects(bucket: string, body: string): EdgeResponse {
    this.requireBucket(bucket);
    const keys = [...body.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => unesc(m[1]));
    if (keys.length > 1000) throw new AwsError('MalformedXML', 'DeleteObjects takes at most 1000 keys');
    const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(body);
    for (const key of keys) this.store.delete(bucket, key);
    const deleted = quiet ? '' : keys.map((k) => `<Deleted><Key>${esc(k)}</Key></Deleted>`).join('');
    return xml(`<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${deleted}</DeleteResult>`);
  }

  private uploadDir(uploadId: string): string {
    if (!/^[0-9a-f-]{36}$/.test(uploadId)) throw new AwsError('NoSuchUpload', 'The specified upload does not exist', 404);
    return path.join(this.uploadsDir, uploadId);
  }

  private createMultipartUpload(bucket: string, key: string, req: EdgeRequest): EdgeResponse {
    this.requireBucket(bucket);
    const uploadId = randomUUID();
    const dir = this.uploadDir(uploadId);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'upload.json'), JSON.stringify({ bucket, key, attributes: objectAttributes(req) }));
    return xml(
      `<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${esc(bucket)}</Bucket><Key>${esc(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
    );
  }

  private uploadPart(uploadId: string, partNumber: number, req: EdgeRequest): EdgeResponse {
    const dir = this.uploadDir(uploadId);
    if (!fs.existsSync(dir)) throw new AwsError('NoSuchUpload', 'The specified upload does not exist', 404);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000)
      throw new AwsError('InvalidArgument', 'Part number must be an integer between 1 and 10000');
    const body = decodeBody(req);
    fs.writeFileSync(path.join(dir, `part-${partNumber}`), body);
    return { status: 200, headers: { etag: `"${createHash('md5').update(body).digest('hex')}"` } };
  }

  private completeMultipartUpload(bucket: string, key: string, uploadId: string, body: string): EdgeResponse {
    const dir = this.uploadDir(uploadId);
    if (!fs.existsSync(dir)) throw new AwsError('NoSuchUpload', 'The specified upload does not exist', 404);
    const upload = JSON.parse(fs.readFileSync(path.join(dir, 'upload.json'), 'utf8'));
    const parts = [...body.matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) => Number(m[1]));
    if (parts.length === 0) throw new AwsError('MalformedXML', 'CompleteMultipartUpload lists no parts');
    const buffers = parts.map((n) => {
      const file = path.join(dir, `part-${n}`);
      if (!fs.existsSync(file)) throw new AwsError('InvalidPart', `Part ${n} was not uploaded`);
      return fs.readFileSync(file);
    });
    const md5s = Buffer.concat(buffers.map((b) => createHash('md5').update(b).digest()));
    const etag = `"${createHash('md5').update(md5s).digest('hex')}-${parts.length}"`;
    this.store.put(upload.bucket, upload.key, Buffer.concat(buffers), upload.attributes, etag);
    fs.rmSync(dir, { recursive: true, force: true });
    return xml(
      `<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${esc(bucket)}</Bucket><Key>${esc(key)}</Key><ETag>${esc(etag)}</ETag></CompleteMultipartUploadResult>`,
    );
  }
}

function objectAttributes(req: EdgeRequest): Omit<StoredObject, 'key' | 'size' | 'etag' | 'lastModified'> {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-amz-meta-') && typeof v === 'string') metadata[k.slice(11)] = v;
  const encoding =
    typeof req.headers['content-encoding'] === 'string'
      ? req.headers['content-encoding']
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s && s !== 'aws-chunked')
          .join(', ')
      : '';
  return {
    contentType: typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : undefined,
    contentEncoding: encoding || undefined,
    metadata: Object.keys(metadata).length ? metadata : undefined,
  };
}

/** Whether a request body uses the `aws-chunked` framing. */
function isAwsChunked(req: EdgeRequest): boolean {
  const sha = String(req.headers['x-amz-content-sha256'] ?? '');
  const encoding = String(req.headers['content-encoding'] ?? '');
  return sha.startsWith('STREAMING-') || encoding.split(',').some((e) => e.trim() === 'aws-chunked');
}

/** The object bytes of a PutObject/UploadPart body, decoded from aws-chunked and checksum-verified. */
/** The bucket and key of a path-style S3 URL (`/bucket/key…`), decoded. */
export function bucketAndKey(url: URL): { bucket: string; key: string } {
  const segments = url.pathname.split('/');
  return { bucket: decodeURIComponent(segments[1] ?? ''), key: segments.slice(2).map(decodeURIComponent).join('/') };
}

export function decodeBody(req: EdgeRequest): Buffer {
  let body = req.body;
  const trailers: Record<string, string> = {};
  if (isAwsChunked(req)) {
    const decoded = decodeAwsChunked(req.body);
    body = decoded.body;
    Object.assign(trailers, decoded.trailers);
    const expected = req.headers['x-amz-decoded-content-length'];
    if (expected !== undefined && Number(expected) !== body.length) {
      throw new AwsError('IncompleteBody', `Decoded ${body.length} bytes, x-amz-decoded-content-length says ${expected}`);
    }
  }
  for (const [name, value] of Object.entries({ ...req.headers, ...trailers })) {
    if (!name.startsWith('x-amz-checksum-') || typeof value !== 'string' || name === 'x-amz-checksum-type' || name === 'x-amz-checksum-algorithm') continue;
    const actual = checksum(name.slice('x-amz-checksum-'.length), body);
    if (actual !== undefined && actual !== value) {
      throw new AwsError('BadDigest', `The ${name} you specified did not match the calculated checksum (${actual})`);
    }
  }
  return body;
}

function checksum(algorithm: string, body: Buffer): string | undefined {
  switch (algorithm) {
    case 'crc32': {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(zlib.crc32(body) >>> 0);
      return out.toString('base64');
    }
    case 'sha256':
    case 'sha1':
      return createHash(algorithm).update(body).digest('base64');
    default:
      return undefined; // crc32c / crc64nvme: accepted without verification
  }
}

/** Decodes `aws-chunked`: `<hex-size>[;chunk-signature=…]\r\n<data>\r\n` … `0\r\n<trailers>\r\n\r\n`. */
export function decodeAwsChunked(raw: Buffer): { body: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let pos = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', pos);
    if (eol < 0) throw new AwsError('IncompleteBody', 'aws-chunked body ends inside a chunk header');
    const header = raw.subarray(pos, eol).toString('latin1');
    const size = parseInt(header.split(';')[0], 16);
    if (!Number.isFinite(size) || size < 0) throw new AwsError('InvalidRequest', `Bad aws-chunked chunk header: ${header.slice(0, 40)}`);
    pos = eol + 2;
    if (size === 0) break;
    if (pos + size > raw.length) throw new AwsError('IncompleteBody', 'aws-chunked body is shorter than its chunk sizes');
    parts.push(raw.subarray(pos, pos + size));
    pos += size + 2;
  }
  for (const line of raw.subarray(pos).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { body: Buffer.concat(parts), trailers };
}

function xml(body: string, status = 200): EdgeResponse {
  return { status, headers: { 'content-type': 'application/xml' }, body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}` };
}

function xmlError(e: AwsError, req: EdgeRequest): EdgeResponse {
  if (req.method === 'HEAD') return { status: e.status, headers: { 'x-amz-error-code': e.code } };
  return xml(`<Error><Code>${esc(e.code)}</Code><Message>${esc(e.message)}</Message><RequestId>local</RequestId></Error>`, e.status);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function unesc(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');
}

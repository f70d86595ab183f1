/**
 * The CloudWatch metrics the functions publish, as CloudWatch would read them: Powertools prints
 * embedded-metric-format (EMF) lines to stdout; local mode takes each line off stdout and keeps
 * it (namespace, name, exact dimension set, value), so tests can match alarms to what the code
 * really emits — as CloudWatch does, by namespace, name and the exact set of dimensions.
 */
export interface EmittedMetric {
  readonly namespace: string;
  readonly name: string;
  /** Dimension names, sorted: CloudWatch matches the whole set. */
  readonly dimensions: ReadonlyArray<string>;
  readonly dimensionValues: Readonly<Record<string, string>>;
  readonly value: number;
  readonly unit?: string;
  readonly timestamp: number;
}

const emitted: EmittedMetric[] = [];
let installed = false;

interface EmfLine {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit?: string }> }> };
  [key: string]: unknown;
}

/** Parses one EMF document into the metrics it publishes (one per dimension set and metric). */
export function parseEmf(text: string): EmittedMetric[] {
  const doc = JSON.parse(text) as EmfLine;
  const out: EmittedMetric[] = [];
  for (const directive of doc._aws?.CloudWatchMetrics ?? []) {
    for (const dims of directive.Dimensions) {
      for (const m of directive.Metrics) {
        const raw = doc[m.Name];
        for (const value of Array.isArray(raw) ? raw : [raw]) {
          out.push({
            namespace: directive.Namespace,
            name: m.Name,
            dimensions: [...dims].sort(),
            dimensionValues: Object.fromEntries(dims.map((d) => [d, String(doc[d])])),
            value: Number(value),
            unit: m.Unit,
            timestamp: doc._aws.Timestamp,
          });
        }
      }
    }
  }
  return out;
}

/**
 * Takes EMF lines off this process's stdout from now on (set CLICKSTREAM_SHOW_METRICS=1 to see
 * them printed as well). Idempotent: every local stack of the process shares the one record.
 */
export function captureMetrics(): void {
  if (installed) return;
  installed = true;
  const write = process.stdout.write.bind(process.stdout) as (chunk: unknown, ...rest: unknown[]) => boolean;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
    if (text.startsWith('{"_aws":')) {
      for (const line of text.split('\n').filter(Boolean)) {
        try {
          emitted.push(...parseEmf(line));
        } catch {
          // not EMF after all
        }
      }
      if (!process.env.CLICKSTREAM_SHOW_METRICS) {
        const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      }
    }
    return write(chunk, ...rest);
  }) as typeof process.stdout.write;
}

/** Every metric published since capture started (optionally since a timestamp). */
export function emittedMetrics(since = 0): EmittedMetric[] {
  return emitted.filter((m) => m.timestamp >= since);
}

/**
 * Metrics AWS services publish themselves, with their documented dimension sets: an alarm on one
 * of these must use one of the sets.
 */
export const SERVICE_METRICS: Record<string, { readonly page: string; readonly metrics: Record<string, ReadonlyArray<ReadonlyArray<string>>> }> = {
  'AWS/States': {
    page: 'https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html (execution metrics: StateMachineArn)',
    metrics: { ExecutionsFailed: [['StateMachineArn']], ExecutionsTimedOut: [['StateMachineArn']], ExecutionsAborted: [['StateMachineArn']] },
  },
  'AWS/Firehose': {
    page: 'https://docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-metrics.html (DeliveryStreamName)',
    metrics: { 'DeliveryToS3.Success': [['DeliveryStreamName']], 'DeliveryToS3.DataFreshness': [['DeliveryStreamName']] },
  },
  'AWS/Lambda': {
    page: 'https://docs.aws.amazon.com/lambda/latest/dg/urls-monitoring.html (Url4xxCount/Url5xxCount by FunctionName, Resource)',
    metrics: {
      Url5xxCount: [['FunctionName'], ['FunctionName', 'Resource']],
      Errors: [['FunctionName'], ['FunctionName', 'Resource']],
      Throttles: [['FunctionName']],
    },
  },
  'AWS/ApiGateway': {
    page: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html (HTTP APIs: ApiId, Stage)',
    metrics: { '5xx': [['ApiId'], ['ApiId', 'Stage']], '4xx': [['ApiId'], ['ApiId', 'Stage']] },
  },
};

export interface AlarmMetric {
  readonly alarm: string;
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: ReadonlyArray<string>;
}

/** Alarms whose metric nobody publishes with that exact namespace, name and dimension set. */
export function alarmsWithoutMetric(
  alarms: ReadonlyArray<AlarmMetric>,
  metrics: ReadonlyArray<Pick<EmittedMetric, 'namespace' | 'name' | 'dimensions'>>,
): string[] {
  const key = (ns: string, name: string, dims: ReadonlyArray<string>) => `${ns}|${name}|${[...dims].sort().join(',')}`;
  const published = new Set(metrics.map((m) => key(m.namespace, m.name, m.dimensions)));
  for (const [ns, service] of Object.entries(SERVICE_METRICS)) {
    for (const [name, sets] of Object.entries(service.metrics)) for (const dims of sets) published.add(key(ns, name, dims));
  }
  return alarms
    .filter((a) => !published.has(key(a.namespace, a.name, a.dimensions)))
    .map(
      (a) =>
        `${a.alarm}: ${a.namespace} ${a.name} {${[...a.dimensions].sort().join(', ')}} is published by nothing${
          a.namespace.startsWith('AWS/')
            ? ` (documented sets: ${JSON.stringify(SERVICE_METRICS[a.namespace]?.metrics[a.name] ?? [])})`
            : ` (emitted: ${
                metrics
                  .filter((m) => m.namespace === a.namespace && m.name === a.name)
                  .map((m) => `{${m.dimensions.join(', ')}}`)
                  .join(' ') || 'none'
              })`
        }`,
    );
}

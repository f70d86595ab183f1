/** CloudWatch namespace and metric names that the functions emit and the alarms watch. */
export const METRICS_NAMESPACE = 'Clickstream';

export const METRIC_NAMES = {
  /** Age in seconds of the oldest raw object not yet loaded, per source (emitted by PlanLoad). */
  oldestPendingObjectAge: 'OldestPendingObjectAgeSeconds',
  /** Events accepted by the collector, per source. */
  eventsAccepted: 'EventsAccepted',
  /** Events the collector quarantined as invalid, per source. */
  eventsQuarantined: 'EventsQuarantined',
  /** Rows loaded into the warehouse, per source. */
  rowsLoaded: 'RowsLoaded',
  /** Rows sent to `_discards`, per source. */
  rowsDiscarded: 'RowsDiscarded',
  /** Pending loads that found the source's load running and ended at once, per source (PlanLoad). */
  loadsSkipped: 'LoadsSkipped',
  /** Raw objects set aside after failing loads on their own, per source (PlanLoad; core/isolation.ts). */
  objectsSetAside: 'ObjectsSetAside',
} as const;

/**
 * Powertools Metrics publishes every metric with a `service` dimension (its `serviceName`): an
 * alarm must name the exact dimension set a metric is published with, so the services live here.
 */
export const METRIC_SERVICES = {
  collector: 'collector',
  loader: 'loader',
} as const;

/**
 * `npm run bench`: every benchmark of the repository, one after the other, each printing ratios
 * measured side by side in the same run. Select some with `npm run bench -- collector load`.
 * Sizes: BENCH_EVENTS (load, default 200000), BENCH_MERGE_ROWS (merge, history rows at 1×, default 100000), BENCH_BATCHES (collector, default 300),
 * BENCH_IMPORT_EVENTS (import, default 1000000), BENCH_FORGET_EVENTS (forget, default 1000000), BENCH_FRESHNESS ("60:60,300:60": load interval : Firehose buffer, seconds; ~20 minutes in real time).
 * `cost` re-measures the profile `npx clickstream cost` reads (cli/cost-profile.json).
 */
import { benchCollector } from './collector';
import { benchCostProfile } from './costProfile';
import { benchFreshness } from './freshness';
import { benchForget } from './forget';
import { benchImport } from './import';
import { benchLoad } from './load';
import { benchLocalStart } from './localStart';
import { benchMerge } from './merge';
import { benchStrictness } from './strictness';

const BENCHES: Record<string, () => Promise<Record<string, number | string>>> = {
  'local-start': benchLocalStart,
  collector: benchCollector,
  load: benchLoad,
  merge: benchMerge,
  cost: benchCostProfile,
  freshness: benchFreshness,
  strictness: benchStrictness,
  import: benchImport,
  forget: benchForget,
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  for (const [name, run] of Object.entries(BENCHES)) {
    if (wanted.length && !wanted.includes(name)) continue;
    console.log(`\n== ${name} ==`);
    console.table(await run());
  }
}

void main().then(() => process.exit(0));

/** Adds the counts of `from` into `into`, key by key (missing keys count 0); returns `into`. */
export function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): Record<string, number> {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
  return into;
}

import { stagedOrder, stagedSql, stagedTime, stagedValue, tagOf, warehouseTime } from '../../../lambdas/core/staged';

/** The staged-value format, written by the transform and read back by the load's SQL by position. */
describe('staged values', () => {
  it('writes each value behind its tag; a time at a fixed width, then the text as sent', () => {
    expect(stagedValue('i', '42')).toBe('i:42');
    expect(stagedValue('s', 'a|b')).toBe('s:a|b');
    const t = stagedTime(new Date('2026-11-20T10:00:00.5+02:00'), '2026-11-20T10:00:00.5+02:00');
    expect(t).toBe('t:2026-11-20 08:00:00.500|2026-11-20T10:00:00.5+02:00');
    expect(tagOf(t)).toBe('t');
    expect(warehouseTime(new Date('0007-01-01T00:00:00Z'))).toBe('0007-01-01 00:00:00.000');
    expect(() => stagedTime('2026-11-20 08:00', 'x')).toThrow(/23 characters/);
    expect(stagedOrder('2026-11-20 08:00:00.500', 'web/2026/11/20/08/a.gz', 7)).toBe('2026-11-20 08:00:00.500|web/2026/11/20/08/a.gz|000000007');
  });

  it('reads them back by the positions the SQL uses (1-based SUBSTRING, as Redshift and Postgres count)', () => {
    const t = stagedTime(new Date('2026-11-20T08:00:00.5Z'), 'original');
    // Evaluate the generated SUBSTRING/LEFT/SPLIT_PART expressions on a string, as the warehouse would.
    const run = (sql: string, value: string): string => {
      let m = /^SUBSTRING\(v, (\d+)(?:, (\d+))?\)$/.exec(sql);
      if (m) return value.substr(Number(m[1]) - 1, m[2] === undefined ? undefined : Number(m[2]));
      m = /^LEFT\(v, (\d+)\)$/.exec(sql);
      if (m) return value.slice(0, Number(m[1]));
      m = /^SPLIT_PART\(v, '\|', (\d+)\)$/.exec(sql);
      if (m) return value.split('|')[Number(m[1]) - 1];
      throw new Error(`unexpected ${sql}`);
    };
    expect(run(stagedSql.tagOf('v'), t)).toBe('t:');
    expect(stagedSql.tag('t')).toBe("'t:'");
    expect(run(stagedSql.time('v'), t)).toBe('2026-11-20 08:00:00.500');
    expect(run(stagedSql.original('v'), t)).toBe('original');
    expect(run(stagedSql.value('v'), stagedValue('f', '1.5'))).toBe('1.5');
    expect(run(stagedSql.tagLetter('v'), stagedValue('j', '[]'))).toBe('j');
    expect(run(stagedSql.orderObject('v'), stagedOrder('2026-11-20 08:00:00.500', 'web/2026/11/20/08/a.gz', 1))).toBe('web/2026/11/20/08/a.gz');
  });
});

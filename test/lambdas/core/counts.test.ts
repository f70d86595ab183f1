import { addCounts } from '../../../lambdas/core/counts';

describe('core/counts', () => {
  it('adds counts key by key, missing keys counting 0, into the first record', () => {
    const into: Record<string, number> = { a: 1, b: 2 };
    expect(addCounts(into, { b: 3, c: 4 })).toBe(into);
    expect(into).toEqual({ a: 1, b: 5, c: 4 });
    expect(addCounts({}, {})).toEqual({});
  });
});

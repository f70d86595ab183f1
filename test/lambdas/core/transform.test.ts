import fc from 'fast-check';
import { MAX_DISCARD_VALUE_BYTES, mapEvent, truncateUtf8 } from '../../../lambdas/core/transform';

describe('truncateUtf8', () => {
  it('never exceeds the byte budget, never splits a character, and keeps a prefix', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.integer({ min: 0, max: 400 }), (s, max) => {
        const out = truncateUtf8(s, max);
        expect(Buffer.byteLength(out, 'utf8')).toBeLessThanOrEqual(max);
        expect(s.startsWith(out)).toBe(true);
        expect(out).not.toMatch(/[\uD800-\uDBFF]$/); // no lone high surrogate at the cut
        if (Buffer.byteLength(s, 'utf8') <= max) expect(out).toBe(s);
      }),
    );
  });
});

describe('mapEvent discards', () => {
  it("keeps a discarded value within Redshift's VARCHAR bytes, even when every character takes 3 bytes", () => {
    const euros = '€'.repeat(30_000); // 90,000 bytes, 30,000 characters
    const event = {
      type: 'track',
      event: 'Big',
      messageId: 'm1',
      userId: 'u',
      receivedAt: '2026-11-20T10:00:00.000Z',
      timestamp: '2026-11-20T10:00:00.000Z',
      properties: { n: 1 },
    };
    const first = mapEvent(event, { object: 'o', line: 1 });
    expect(first.discarded).toBe(false);
    // 90,000 bytes do not fit a VARCHAR(65535) column: the value goes to _discards, cut to fit.
    const big = mapEvent({ ...event, properties: { note: euros } }, { object: 'o', line: 1 });
    const d = big.discards.find((x) => x.column_name === 'note');
    expect(d?.value).toBeDefined();
    expect(Buffer.byteLength(d?.value ?? '', 'utf8')).toBeLessThanOrEqual(MAX_DISCARD_VALUE_BYTES);
    expect(euros.startsWith(d?.value ?? 'x')).toBe(true);
  });
});

describe('mapEvent event types', () => {
  it.each(['valueOf', 'constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'discards an event of type "%s" as unknown (found by fuzzing: inherited keys of the type table)',
    (type) => {
      const mapped = mapEvent({ type, messageId: 'm', receivedAt: '2026-11-20T10:00:00.000Z' }, { object: 'o', line: 1 });
      expect(mapped).toMatchObject({ discarded: true, rows: [] });
      expect(mapped.discards[0].reason).toBe(`unknown event type ${JSON.stringify(type)}`);
    },
  );
});

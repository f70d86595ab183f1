import fc from 'fast-check';
import { applyIpPolicy, correctedTimestamp, enrichMessage, mergeUnder, parseIsoDate, validateMessage } from '../../../lambdas/core/segment';

const MIN = Date.parse('1971-01-01T00:00:00Z');
const MAX = Date.parse('2100-01-01T00:00:00Z');
const date = fc.integer({ min: MIN, max: MAX }).map((ms) => new Date(ms));

describe('correctedTimestamp', () => {
  it('removes the client clock skew: timestamp − originalTimestamp = receivedAt − sentAt', () => {
    fc.assert(
      fc.property(date, fc.integer({ min: -86_400_000, max: 86_400_000 }), fc.integer({ min: 0, max: 3_600_000 }), (received, skew, age) => {
        const sentAt = new Date(received.getTime() + skew); // client clock off by `skew`
        const original = new Date(sentAt.getTime() - age); // event happened `age` before sending
        const corrected = correctedTimestamp(received, sentAt, original);
        expect(corrected.getTime()).toBe(received.getTime() - age);
      }),
    );
  });

  it('falls back to originalTimestamp without sentAt, and to receivedAt without either', () => {
    fc.assert(
      fc.property(date, date, (received, original) => {
        expect(correctedTimestamp(received, undefined, original)).toEqual(original);
        expect(correctedTimestamp(received, undefined, undefined)).toEqual(received);
      }),
    );
  });

  it('never produces an invalid date, whatever the client clock says', () => {
    fc.assert(
      fc.property(date, fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.integer({ min: -8.64e15, max: 8.64e15 }), (received, s, o) => {
        const out = correctedTimestamp(received, new Date(s), new Date(o));
        expect(Number.isNaN(out.getTime())).toBe(false);
        expect(() => out.toISOString()).not.toThrow();
      }),
    );
  });
});

describe('mergeUnder', () => {
  const json = fc.jsonValue({ maxDepth: 3 });
  it("keeps every value of the message's own context", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json), fc.dictionary(fc.string(), json), (batch, own) => {
        const merged = mergeUnder(batch, own) as Record<string, unknown>;
        for (const [k, v] of Object.entries(own)) {
          if (v !== null && typeof v === 'object' && !Array.isArray(v)) expect(merged[k]).toEqual(expect.objectContaining(v));
          else expect(merged[k]).toEqual(v);
        }
      }),
    );
  });
  it('keeps a key named __proto__ as data (found by the property above)', () => {
    const merged = mergeUnder(JSON.parse('{"a":1}'), JSON.parse('{"__proto__":"x","b":{"__proto__":{"c":2}}}')) as Record<string, unknown>;
    expect(JSON.parse(JSON.stringify(merged))).toEqual(JSON.parse('{"a":1,"__proto__":"x","b":{"__proto__":{"c":2}}}'));
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
  });
  it('keeps batch keys the message does not have', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json), fc.dictionary(fc.string(), json), (batch, own) => {
        const merged = mergeUnder(batch, own) as Record<string, unknown>;
        for (const [k, v] of Object.entries(batch)) if (!(k in own)) expect(merged[k]).toEqual(v);
      }),
    );
  });
  it('does not modify its inputs', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json), fc.dictionary(fc.string(), json), (batch, own) => {
        const [b, o] = [structuredClone(batch), structuredClone(own)];
        mergeUnder(batch, own);
        expect([batch, own]).toEqual([b, o]);
      }),
    );
  });
});

describe('enrichMessage', () => {
  it('sets receivedAt, messageId, timestamp and context.ip and drops writeKey', () => {
    const receivedAt = new Date('2026-11-21T10:00:00.000Z');
    const out = enrichMessage(
      { type: 'track', event: 'E', userId: 'u', writeKey: 'secret', timestamp: '2026-11-21T09:59:00.000Z', sentAt: '2026-11-21T10:00:30.000Z' },
      { receivedAt, ip: '203.0.113.9' },
    );
    expect(out).toEqual({
      type: 'track',
      event: 'E',
      userId: 'u',
      receivedAt: '2026-11-21T10:00:00.000Z',
      messageId: expect.any(String),
      sentAt: '2026-11-21T10:00:30.000Z',
      originalTimestamp: '2026-11-21T09:59:00.000Z',
      timestamp: '2026-11-21T09:58:30.000Z',
      context: { ip: '203.0.113.9' },
    });
  });

  it("keeps the client's context.ip", () => {
    const out = enrichMessage({ type: 'page', anonymousId: 'a', context: { ip: '198.51.100.1' } }, { receivedAt: new Date(), ip: '127.0.0.1' });
    expect(out.context).toEqual({ ip: '198.51.100.1' });
  });
});

describe('validateMessage / parseIsoDate', () => {
  it('never throws on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = validateMessage(v);
        expect(r === undefined || typeof r === 'string').toBe(true);
      }),
    );
  });
  it('accepts only zoned ISO-8601 date-times within years 1–9999', () => {
    expect(parseIsoDate('2026-11-21T10:00:00Z')?.toISOString()).toBe('2026-11-21T10:00:00.000Z');
    expect(parseIsoDate('2026-11-21T10:00:00.123456+02:00')?.toISOString()).toBe('2026-11-21T08:00:00.123Z');
    for (const bad of ['2026-11-21', '2026-11-21T10:00:00', 'yesterday', '2026-13-45T99:00:00Z', 12345, null]) expect(parseIsoDate(bad)).toBeUndefined();
  });
});

describe('applyIpPolicy', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0'],
    ['::ffff:198.51.100.9', '198.51.100.0'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['2001:db8::1', '2001:db8::'],
    ['fe80::1%eth0', 'fe80::'],
    ['::1', '::'],
    ['999.1.1.1', undefined],
    ['not an address', undefined],
  ])('truncate %s → %s', (ip, expected) => {
    expect(applyIpPolicy(ip, 'truncate')).toBe(expected);
  });
  it('drop gives nothing and keep gives the value as sent', () => {
    expect(applyIpPolicy('203.0.113.77', 'drop')).toBeUndefined();
    expect(applyIpPolicy('anything', 'keep')).toBe('anything');
  });
});

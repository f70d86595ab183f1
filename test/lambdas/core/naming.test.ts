import fc from 'fast-check';
import { eventTableName, identifier, MAX_IDENTIFIER_BYTES, quoteIdent, RESERVED_WORDS, snakeCase } from '../../../lambdas/core/naming';
import { GO_SNAKECASE_VECTORS } from '../../support/goSnakecaseVectors';

describe('naming', () => {
  it.each(GO_SNAKECASE_VECTORS)("snake_cases %j as Segment does: %j (go-snakecase's own vectors)", (input, expected) => {
    expect(snakeCase(input)).toBe(expected);
  });

  it.each([
    ['Order Completed', 'order_completed'],
    ['orderCompleted', 'order_completed'],
    ['order-completed', 'order_completed'],
    // A run of capitals stays one word, as in Segment's warehouses.
    ['HTTPServer', 'httpserver'],
    ['userID', 'user_id'],
    ['E2E Checked', 'e2e_checked'],
    ['  spaced  out  ', 'spaced_out'],
    // Non-ASCII characters only separate words, as in Segment's warehouses.
    ['Größe in cm', 'gr_e_in_cm'],
  ])('snake_cases %j as %j', (input, expected) => {
    expect(snakeCase(input)).toBe(expected);
  });

  it('prefixes reserved words and collisions with our tables with _, names empty names by a hash, keeps a leading digit as Segment does', () => {
    expect(identifier('select')).toBe('_select');
    expect(identifier('2FA Enabled')).toBe('2fa_enabled');
    expect(identifier('!!!')).toMatch(/^_[0-9a-f]{8}$/);
    expect(identifier('Größe')).toBe('gr_e');
    expect(identifier('ключ')).toMatch(/^_[0-9a-f]{8}$/);
    expect(eventTableName('Tracks')).toBe('_tracks');
    expect(eventTableName('users')).toBe('_users');
  });

  it('makes a valid identifier of any string: ≤ 127 bytes, accepted by the quoting, never a reserved word', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (name) => {
        const id = identifier(name);
        expect(Buffer.byteLength(id, 'utf8')).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
        expect(() => quoteIdent(id)).not.toThrow();
        expect(RESERVED_WORDS.has(id)).toBe(false);
        expect(id).toMatch(/^[a-z0-9_]+$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('is stable: the same name gives the same identifier, load after load', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (name) => {
        const first = identifier(name);
        for (let i = 0; i < 20; i++) identifier(`${name}-${i}`); // other names in between
        expect(identifier(name)).toBe(first);
      }),
    );
  });

  it('cuts long names with a hash of the whole name, so different long names stay different', () => {
    const a = identifier(`${'x'.repeat(200)}a`);
    const b = identifier(`${'x'.repeat(200)}b`);
    expect(a).not.toBe(b);
    expect(a).toMatch(/_[0-9a-f]{8}$/);
    expect(Buffer.byteLength(identifier('ключ'.repeat(100)))).toBeLessThanOrEqual(127);
  });
});

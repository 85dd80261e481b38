import fc from 'fast-check';
import { expect, it } from 'vitest';
import { fromHex, toHex } from '../src/index.js';

it('fromHex inverts toHex and reads either case', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
      expect(fromHex(toHex(bytes))).toEqual(bytes);
      expect(fromHex(toHex(bytes).toUpperCase())).toEqual(bytes);
    }),
  );
  expect(fromHex('00ff7fA0')).toEqual(Uint8Array.of(0, 255, 127, 160));
});

it('fromHex refuses odd lengths and every non-hex character', () => {
  expect(() => fromHex('abc')).toThrow(/odd length/);
  for (const bad of [
    '0g',
    'g0',
    ' 0',
    '0x',
    '+1',
    '-1',
    '@0',
    '0`',
    '0G',
    '/0',
    ':0',
    '\u0660\u0661',
    'é0',
  ]) {
    expect(() => fromHex(bad), bad).toThrow(TypeError);
  }
  // Every ASCII character outside [0-9a-fA-F] is refused in either position.
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    if (/[0-9a-fA-F]/.test(ch)) continue;
    expect(() => fromHex(`${ch}0`)).toThrow(TypeError);
    expect(() => fromHex(`0${ch}`)).toThrow(TypeError);
  }
});

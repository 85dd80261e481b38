/**
 * The binary codec every Skymesh wire format is built on: a bounds-checked
 * Reader, a capped Writer, strict base64url for JSON forms.
 */
export { fromBase64Url, toBase64Url } from './base64url.js';
export { type LengthPrefix, Reader } from './reader.js';
export { Writer, type WriterOptions } from './writer.js';

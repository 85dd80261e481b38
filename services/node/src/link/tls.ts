/**
 * A self-signed certificate for the wss listener, made on first start with
 * the openssl command line and kept in the node's data directory. The
 * certificate proves nothing (the Noise handshake authenticates nodes); it
 * exists so the listener can speak TLS like any web server. Its subject is
 * a random name so certificates of Skymesh nodes share no constant text.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LinkManagerError } from './errors.js';

/**
 * Loads `dir/link-cert.pem` and `dir/link-key.pem`, creating them when absent.
 * @throws LinkManagerError LINK_TLS_UNAVAILABLE when openssl cannot be run.
 */
export async function loadOrCreateSelfSignedCert(
  dir: string,
): Promise<{ cert: string; key: string }> {
  const certPath = join(dir, 'link-cert.pem');
  const keyPath = join(dir, 'link-key.pem');
  try {
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
  } catch {
    // Not there yet: make it.
  }
  await mkdir(dir, { recursive: true });
  const name = `${randomBytes(6).toString('hex')}.net`;
  const days = String(365 + (randomBytes(2).readUInt16BE() % 730));
  await new Promise<void>((resolve, reject) => {
    execFile(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        days,
        '-subj',
        `/CN=${name}`,
        '-keyout',
        keyPath,
        '-out',
        certPath,
      ],
      { timeout: 20_000 },
      (err) =>
        err
          ? reject(new LinkManagerError('LINK_TLS_UNAVAILABLE', `openssl failed: ${err.message}`))
          : resolve(),
    );
  });
  await chmod(keyPath, 0o600);
  return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
}

// A throwaway CA and a serving certificate for the playground API server, signed at start with
// the `openssl` CLI (node:crypto cannot sign X.509; .ci/setup.sh installs openssl). Clients
// verify the server against the CA put in the kubeconfig: nothing skips TLS verification.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ServingCert {
  /** PEM of the CA that signed `cert`: the kubeconfig's certificate-authority-data. */
  ca: string;
  cert: string;
  key: string;
}

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT')
      throw new Error('the playground API server needs openssl (run .ci/setup.sh)', { cause: e });
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString() ?? err.message}`, { cause: e });
  }
}

/** Writes ca.{key,crt} and apiserver.{key,crt} (SANs: `host`, localhost, 127.0.0.1) under `dir`. */
export function makeServingCert(dir: string, host = '127.0.0.1'): ServingCert {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const caExt = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'].flatMap((e) => [
    '-addext',
    e,
  ]);
  openssl(dir, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '30',
    '-subj',
    '/CN=playground-ca',
    ...caExt,
  ]);
  openssl(dir, ['req', ...ec, '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver']);
  const ip = /^[\d.]+$|:/.test(host);
  const sans = [
    ...new Set(['IP:127.0.0.1', 'DNS:localhost', 'DNS:kubernetes.default.svc', `${ip ? 'IP' : 'DNS'}:${host}`]),
  ];
  writeFileSync(
    join(dir, 'ext.cnf'),
    `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
  );
  openssl(
    dir,
    ['x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
      '-out',
      'apiserver.crt',
      '-days',
      '30',
      '-extfile',
      'ext.cnf',
    ]),
  );
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return { ca: read('ca.crt'), cert: read('apiserver.crt'), key: read('apiserver.key') };
}

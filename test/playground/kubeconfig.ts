// The playground's kubeconfig, apart from playground.ts: unit tests that start only the API server
// (apiserver/testing.ts) import it without the operator emulator and S3 that playground.ts loads.
/** With `ca` (the API server's CA, PEM) clients verify the server; without, a plain-HTTP test server. */
export function kubeconfigYaml(server: string, token = 'playground-token', ca?: string): string {
  const trust = ca
    ? `    certificate-authority-data: ${Buffer.from(ca).toString('base64')}`
    : '    insecure-skip-tls-verify: true';
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: playground',
    '  cluster:',
    `    server: ${server}`,
    trust,
    'users:',
    '- name: playground',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: playground',
    '  context:',
    '    cluster: playground',
    '    user: playground',
    '    namespace: default',
    'current-context: playground',
    '',
  ].join('\n');
}

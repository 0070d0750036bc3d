// Dialling the "pod" for every port-forward protocol: the local listener standing in for the pod's
// port, and kubelet's error texts when it is not there.
import net from 'node:net';

export interface PortForwardTarget {
  namespace: string;
  pod: string;
  resolve: (containerPort: number) => { host: string; port: number } | undefined;
}

export type Dial = { socket: net.Socket } | { error: string };

export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}

function forwardError(target: PortForwardTarget, port: number, detail: string): string {
  // kubelet's wording (CRI runtimes report the sandbox as "pod" and leave uid empty).
  return `error forwarding port ${port} to pod ${target.namespace}/${target.pod}, uid : ${detail}`;
}

/** Node error -> the Go net error text kubectl users know. */
function goNetError(err: NodeJS.ErrnoException, host: string, port: number): string {
  const texts: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset by peer',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'no route to host',
    EPIPE: 'broken pipe',
  };
  const text = (err.code && texts[err.code]) ?? err.message;
  const op = err.syscall === 'connect' ? 'dial' : err.syscall === 'write' ? 'write' : 'read';
  return `${op} tcp4 ${host}:${port}: ${err.syscall ?? 'read'}: ${text}`;
}

function connectFailure(target: PortForwardTarget, port: number, cause: string): string {
  return forwardError(
    target,
    port,
    `failed to connect to localhost:${port} inside namespace "${target.namespace}/${target.pod}", IPv4: ${cause}`,
  );
}

/**
 * Opens the TCP connection for one forwarded stream. Connection failures arrive later as the
 * socket's 'error'; `describeError` turns them into the message for the error stream.
 */
export function dialTarget(
  target: PortForwardTarget,
  port: number,
  allowHalfOpen: boolean,
): Dial & { describeError?: (err: Error) => string } {
  const address = target.resolve(port);
  // Nothing registered for the port: in a real pod nothing would listen on it.
  if (!address)
    return { error: connectFailure(target, port, `dial tcp4 127.0.0.1:${port}: connect: connection refused`) };
  const socket = net.connect({ host: address.host, port: address.port, allowHalfOpen });
  socket.setNoDelay(true);
  const describeError = (err: NodeJS.ErrnoException): string => {
    const cause = goNetError(err, address.host, address.port);
    return err.syscall === 'connect' ? connectFailure(target, port, cause) : forwardError(target, port, cause);
  };
  return { socket, describeError };
}

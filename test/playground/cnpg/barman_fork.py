"""barman-cloud from a warm interpreter: the same barman-cloud code, without paying its imports per call.

Every barman-cloud command is a fresh Python that imports boto3 and barman (about 0.45 s of CPU) before
it does any work, and PostgreSQL runs one per WAL segment archived or restored: on the playground's two
cores that was most of the suite's CPU. `serve` imports barman and boto3 once; for each call it forks a
worker that runs the command's own console-script entry point with the caller's argv, environment,
working directory and stdin/stdout/stderr, and the caller exits as the command did. Nothing is shared
between calls: each worker is a fresh fork of the interpreter as it stood after the imports, and builds
its own boto3 session from its own environment.

`client SOCKET TOOL ARGS...` is what the playground and PostgreSQL's archive/restore commands run. When
no server answers it execs TOOL itself, so a command line behaves the same with or without the server.
Signals sent to the client reach the command; a client killed outright takes the command with it.
"""

import json
import os
import select
import signal
import socket
import struct
import sys

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


def forward(s, n):
    try:
        s.send(bytes([n]))
    except OSError:
        pass  # the server is gone: the status read below ends the client


def client(sock_path, argv):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sock_path)
    except OSError:
        os.execvp(argv[0], argv)
    # What the command inherits from its caller besides argv and env: the working directory as a descriptor
    # (it may be deleted, or not reachable by name), and the signals the caller ignores (PostgreSQL's
    # archiver and startup process ignore SIGINT: so does their archive_command/restore_command).
    cwd = os.open(".", os.O_PATH | os.O_DIRECTORY)
    ignored = [sig for sig in FORWARDED if signal.getsignal(sig) == signal.SIG_IGN]
    request = json.dumps({"argv": argv, "env": dict(os.environ), "ignored": ignored}).encode()
    socket.send_fds(s, [struct.pack("!I", len(request)) + request], [0, 1, 2, cwd])
    os.close(cwd)
    for sig in FORWARDED:
        if sig not in ignored:
            signal.signal(sig, lambda n, _f: forward(s, n))
    status = b""
    while len(status) < 8:
        try:
            chunk = s.recv(8 - len(status))
        except InterruptedError:
            continue
        if not chunk:
            os._exit(1)  # the server went away: the command's fate is unknown, so it failed
        status += chunk
    code, sig = struct.unpack("!ii", status)
    if sig:
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # SIGKILL and SIGSTOP have no handler to reset
        os.kill(os.getpid(), sig)
    os._exit(code)


def entry_points():
    from importlib.metadata import entry_points as eps

    return {e.name: e for e in eps(group="console_scripts") if e.name.startswith("barman-cloud-")}


def share_botocore_data():
    """One botocore data loader for every session: each new session would read and parse the same JSON
    models again (most of what is left of a call's CPU). The warm-up client fills it; each worker has its
    own copy-on-write copy, so nothing one call does reaches another. A custom AWS_DATA_PATH keeps its own."""
    import botocore.loaders
    import botocore.session

    shared = botocore.loaders.create_loader()
    own = botocore.session.create_loader
    botocore.session.create_loader = lambda path=None: own(path) if path else shared


def warm(points):
    """Imports every command's module and boto3's lazily imported client machinery."""
    mains = {name: e.load() for name, e in points.items()}
    share_botocore_data()
    import barman.cloud_providers.aws_s3  # noqa: F401 (imported by get_cloud_interface on every call)
    import boto3

    boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1").client(
        "s3", endpoint_url="http://127.0.0.1:9"
    )
    return mains


def recv_request(conn):
    head, fds, _flags, _addr = socket.recv_fds(conn, 4, 4)
    (size,) = struct.unpack("!I", head)
    body = b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise EOFError("client closed before its request")
        body += chunk
    return json.loads(body), fds


def run_worker(mains, req, fds):
    """In the forked worker: becomes the command, as its console script would run it."""
    for sig in (signal.SIGCHLD, *FORWARDED):
        signal.signal(sig, signal.SIG_IGN if sig in req["ignored"] else signal.SIG_DFL)
    if signal.SIGINT not in req["ignored"]:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as Python starts: KeyboardInterrupt
    *stdio, cwd = fds
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
        os.close(fd)
    os.fchdir(cwd)
    os.close(cwd)
    os.environ.clear()
    os.environ.update(req["env"])
    import random

    random.seed()
    sys.argv = req["argv"]
    code = 0
    try:
        result = mains[os.path.basename(req["argv"][0])]()
        code = result if isinstance(result, int) else 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
    except KeyboardInterrupt:
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)  # as Python ends on an uncaught KeyboardInterrupt
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    os._exit(exit_flushed(code))


def exit_flushed(code):
    """The exit status after flushing stdout and stderr, as the interpreter's own exit: 120 when that fails."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        return 120
    return code & 0xFF


def supervise(conn, mains):
    """In the per-call supervisor: forks the worker, relays signals in and the exit status out."""
    req, fds = recv_request(conn)
    if os.path.basename(req["argv"][0]) not in mains:
        conn.sendall(struct.pack("!ii", 127, 0))
        return
    pid = os.fork()
    if pid == 0:
        conn.close()
        try:
            run_worker(mains, req, fds)
        finally:
            os._exit(1)  # what escapes the worker's set-up is a failure, never the supervisor's exit 0
    for fd in fds:
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    while True:
        ready, _, _ = select.select([conn, pidfd], [], [])
        if pidfd in ready:
            _, status = os.waitpid(pid, 0)
            sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 0
            conn.sendall(struct.pack("!ii", code, sig))
            return
        data = conn.recv(16)
        if not data:
            kill_tree(pid)  # the client was killed: so is the command, with what it started
            os.waitpid(pid, 0)
            return
        for n in data:
            os.kill(pid, n)


def kill_tree(pid):
    """SIGKILLs `pid` and every process below it (barman-cloud-backup's upload workers): killed alone, they would
    be orphans waiting on their queue until the playground stops. The worker is stopped first, so it starts no
    more while its tree is read."""
    os.kill(pid, signal.SIGSTOP)
    parents = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += [c for c, parent in parents.items() if parent == p]
    for p in tree:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def reap(*_):
    """Waits for finished supervisors, so their CPU (with their workers') counts as this server's children's."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(sock_path):
    mains = warm(entry_points())
    signal.signal(signal.SIGCHLD, reap)
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    os.umask(0o077)  # only the user PostgreSQL runs as may call it
    srv.bind(sock_path)
    srv.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        if os.fork() == 0:
            srv.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                supervise(conn, mains)
            finally:
                os._exit(0)
        conn.close()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        client(sys.argv[2], sys.argv[3:])

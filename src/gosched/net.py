"""TCP on the netpoller (Go's ``net`` package, the parts a server and a client need).

Sockets are non-blocking. An operation that would block parks the goroutine
in the poller (``runtime/netpoll.py``, wait reason ``IO wait``) instead of
blocking the thread, exactly like Go's ``pollDesc.waitRead``; any number of
goroutines can wait on sockets while the Ms run other goroutines. Deadlines
are absolute times on ``time.monotonic`` (``time.monotonic() + 5`` for five
seconds from now); a missed one raises ``TimeoutError("i/o timeout")``, and
an operation on a closed connection raises ``net.ErrClosed`` ("use of closed
network connection"), as in Go.

Name resolution (``getaddrinfo``) may block, so ``dial`` runs it as a system
call (``gosched.syscall``); numeric addresses never wait.

    ln = await net.listen("tcp", "127.0.0.1:0")
    conn = await net.dial("tcp", ln.addr)
    server = await ln.accept()
    await conn.write(b"ping")
    await server.read(4)            # b"ping"
"""

from __future__ import annotations

import errno
import os
import socket
import types
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from .runtime.netpoll import (
    ErrClosed,
    PollDesc,
    netpollblock,
    netpollcheckerr,
    pollclose,
    setdeadline,
)
from .runtime.proc import syscall
from .runtime.sema import Sema, semacquire, semrelease
from .runtime.timers import nanotime

__all__ = ["Conn", "ErrClosed", "Listener", "dial", "listen"]

T = TypeVar("T")

_NETWORKS = {"tcp": socket.AF_UNSPEC, "tcp4": socket.AF_INET, "tcp6": socket.AF_INET6}


def splithostport(address: str) -> tuple[str, int]:
    """``"host:port"`` or ``"[v6]:port"`` -> ``(host, port)`` (Go's ``net.SplitHostPort``,
    then its ``parsePort``: decimal digits with an optional sign, 0 to 65535)."""
    if not isinstance(address, str):
        raise TypeError(f"address must be a str, not {type(address).__name__}")
    host, sep, port = address.rpartition(":")
    if not sep:
        raise ValueError(f"address {address}: missing port in address")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"address {address}: too many colons in address")
    digits = port[1:] if port[:1] in ("+", "-") else port
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"address {address}: invalid port")
    n = int(port)
    if not 0 <= n <= 0xFFFF:
        raise ValueError(f"address {port}: invalid port")
    return host, n


def joinhostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _family(network: str) -> int:
    try:
        return _NETWORKS[network]
    except KeyError:
        raise ValueError(f"unknown network {network}") from None


class _FD:
    """A non-blocking socket and its poll descriptor (Go's ``netFD``), with the
    two parts of Go's ``fdMutex`` that matter here:

    - one reader and one writer at a time: ``rsema``/``wsema`` are binary
      semaphores held for a whole read, write or accept, parked waits
      included, so goroutines reading one connection (or accepting on one
      listener) take turns, waiting in ``semacquire`` as in Go, and each
      write goes out whole;
    - a count of the system calls in progress (``refs``, guarded by
      ``pd.lock``): ``close`` marks the descriptor closed and wakes its
      waiters at once, but the socket itself is closed by whoever drops the
      last reference, so a close racing with a ``recv`` on another thread
      never hands it a closed (or already reused) descriptor.
    """

    __slots__ = ("pd", "refs", "rsema", "sock", "wsema")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.pd = PollDesc(sock.fileno())
        self.refs = 0
        self.rsema = Sema(1)
        self.wsema = Sema(1)

    def close(self) -> None:
        pd = self.pd
        with pd.lock:
            if pd.closing:
                raise ErrClosed()
            pd.closing = True
            self.refs += 1  # close's own: the socket outlives pollclose's unregister
        pollclose(pd)
        self.decref()

    def incref(self, mode: str) -> None:
        """Take a reference for one system call, failing first if the descriptor is
        closed or the deadline for ``mode`` has passed (Go's ``pollDesc.prepare``):
        data already waiting must not let an expired deadline through."""
        pd = self.pd
        with pd.lock:
            err = netpollcheckerr(pd, mode)
            if err is None:
                self.refs += 1
        if err is not None:
            raise err

    def decref(self) -> None:
        pd = self.pd
        with pd.lock:
            self.refs -= 1
            last = pd.closing and not self.refs
        if last:
            self.sock.close()

    @types.coroutine
    def io(self, mode: str, call: Callable[[], T]) -> Generator[Any, Any, T]:
        """``call()`` (one non-blocking system call) under a reference, parking in
        the poller for ``mode`` while it would block (Go's ``pollDesc.wait`` loop)."""
        while True:
            self.incref(mode)
            try:
                return call()
            except (BlockingIOError, InterruptedError):
                pass
            finally:
                self.decref()
            yield from netpollblock(self.pd, mode)


class Conn:
    """A TCP connection (Go's ``net.TCPConn``). Safe to use from several goroutines:
    one may read while another writes."""

    __slots__ = ("_fd", "local_addr", "remote_addr")

    def __init__(self, fd: _FD, peer: Any = None) -> None:
        self._fd = fd
        self.local_addr = _addr(fd.sock.getsockname())
        # accept's own address of the peer: a peer that has already reset the
        # connection has none left to ask for (getpeername: ENOTCONN).
        self.remote_addr = _addr(peer if peer is not None else fd.sock.getpeername())

    @types.coroutine
    def read(self, n: int = 65536) -> Generator[Any, Any, bytes]:
        """Read up to ``n`` bytes; ``b""`` at end of stream."""
        fd = self._fd
        yield from semacquire(fd.rsema)
        try:
            return (yield from fd.io("r", lambda: fd.sock.recv(n)))
        finally:
            semrelease(fd.rsema)

    @types.coroutine
    def write(self, data: bytes | bytearray | memoryview) -> Generator[Any, Any, int]:
        """Write all of ``data``, in one piece with respect to other writers; return its length."""
        fd = self._fd
        view = memoryview(data).cast("B")
        sent = 0
        yield from semacquire(fd.wsema)
        try:
            while True:  # at least once: with no data, a closed connection still fails
                sent += yield from fd.io("w", lambda rest=view[sent:]: fd.sock.send(rest))
                if sent == len(view):
                    return sent
        finally:
            semrelease(fd.wsema)

    def close(self) -> None:
        """Close the connection; goroutines blocked on it raise ``ErrClosed``."""
        self._fd.close()

    def set_deadline(self, t: float | None) -> None:
        """Set the read and write deadlines (monotonic time; None clears)."""
        setdeadline(self._fd.pd, "r", t)
        setdeadline(self._fd.pd, "w", t)

    def set_read_deadline(self, t: float | None) -> None:
        setdeadline(self._fd.pd, "r", t)

    def set_write_deadline(self, t: float | None) -> None:
        setdeadline(self._fd.pd, "w", t)

    async def __aenter__(self) -> Conn:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if not self._fd.pd.closing:
            self.close()

    def __repr__(self) -> str:
        return f"<Conn {self.local_addr} -> {self.remote_addr}>"


class Listener:
    """A TCP listener (Go's ``net.TCPListener``)."""

    __slots__ = ("_fd", "addr")

    def __init__(self, sock: socket.socket) -> None:
        self._fd = _FD(sock)
        self.addr = _addr(sock.getsockname())

    @types.coroutine
    def accept(self) -> Generator[Any, Any, Conn]:
        """Wait for and return the next connection."""
        fd = self._fd
        yield from semacquire(fd.rsema)
        try:
            while True:
                try:
                    sock, peer = yield from fd.io("r", fd.sock.accept)
                    break
                except ConnectionAbortedError:
                    continue  # it left the queue before we took it: take the next (as Go)
        finally:
            semrelease(fd.rsema)
        return Conn(_FD(sock), peer)

    def close(self) -> None:
        """Stop listening; goroutines blocked in ``accept`` raise ``ErrClosed``."""
        self._fd.close()

    def set_deadline(self, t: float | None) -> None:
        setdeadline(self._fd.pd, "r", t)

    def __repr__(self) -> str:
        return f"<Listener {self.addr}>"


def _addr(sockaddr: Any) -> str:
    host = sockaddr[0]
    if host.startswith("::ffff:") and "." in host:  # IPv4-mapped: Go prints the IPv4 address
        host = host[7:]
    return joinhostport(host, sockaddr[1])


@types.coroutine
def listen(network: str, address: str) -> Generator[Any, Any, Listener]:
    """Listen on ``address`` (``"127.0.0.1:0"``, ``":8080"``, ``"[::1]:0"``).

    An empty host on ``"tcp"`` listens on every address, IPv4 and IPv6 alike
    where the system has both, as Go's does (``addr`` is then ``"[::]:port"``).
    """
    family = _family(network)
    host, port = splithostport(address)
    if not host and family == socket.AF_UNSPEC and socket.has_dualstack_ipv6():
        # Go's wildcard listen: one IPv6 socket that takes IPv4 too ("[::]:port").
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sockaddr: Any = ("::", port)
        dualstack = True
    else:
        infos = yield from _lookup("listen", network, address, host or None, port, family,
                                   socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
        af, kind, proto, _, sockaddr = infos[0]
        sock = socket.socket(af, kind, proto)
        dualstack = False
    try:
        if dualstack:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(socket.SOMAXCONN)
    except BaseException:
        sock.close()
        raise
    return Listener(sock)


@types.coroutine
def dial(network: str, address: str, timeout: float | None = None) -> Generator[Any, Any, Conn]:
    """Connect to ``address``; ``timeout`` (seconds) bounds the whole dial.

    As with Go's ``DialTimeout``, a timeout of ``None`` or 0 means none.
    """
    family = _family(network)
    host, port = splithostport(address)
    deadline = nanotime() + timeout if timeout else None
    infos = yield from _lookup("dial", network, address, host or "localhost", port, family,
                               socket.SOCK_STREAM)
    first: Exception | None = None
    for i, (af, kind, proto, _, sockaddr) in enumerate(infos):
        attempt = None
        if deadline is not None:
            attempt = partialdeadline(nanotime(), deadline, len(infos) - i)
            if attempt is None:
                raise first or TimeoutError(f"dial {network} {address}: i/o timeout")
        sock = socket.socket(af, kind, proto)
        fd = _FD(sock)
        try:
            code = sock.connect_ex(sockaddr)
            if code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
                if attempt is not None:
                    setdeadline(fd.pd, "w", attempt)
                try:
                    yield from netpollblock(fd.pd, "w")
                except TimeoutError:
                    raise TimeoutError(f"dial {network} {address}: i/o timeout") from None
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                reason = os.strerror(code).lower()
                raise OSError(code, f"dial {network} {address}: connect: {reason}")
            setdeadline(fd.pd, "w", None)
            return Conn(fd)
        except BaseException as e:
            fd.close()
            if not isinstance(e, Exception):
                raise  # the goroutine is being closed (GeneratorExit) or exits: no next address
            if first is None:
                first = e
    raise first if first is not None else OSError(f"dial {network} {address}: no addresses")


@types.coroutine
def _lookup(op: str, network: str, address: str, host: str | None,
            *args: Any) -> Generator[Any, Any, list]:
    """``getaddrinfo`` as a system call, its failure named as Go names it
    (``dial tcp nosuch.invalid:80: lookup nosuch.invalid: ...``)."""
    try:
        return (yield from syscall(socket.getaddrinfo, host, *args))
    except socket.gaierror as e:
        raise socket.gaierror(e.errno, f"{op} {network} {address}: lookup {host}: "
                                       f"{str(e.strerror).lower()}") from None


def partialdeadline(now: float, deadline: float, remaining: int) -> float | None:
    """The deadline for one of ``remaining`` addresses still to try (Go's
    ``partialDeadline``): an equal share of the time left, but at least two
    seconds when that much is left; None once the deadline has passed."""
    left = deadline - now
    if left <= 0:
        return None
    share = left / remaining
    if share < 2.0:
        share = min(left, 2.0)
    return now + share

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
from collections.abc import Generator
from typing import Any

from .runtime.netpoll import (
    ErrClosed,
    PollDesc,
    netpollblock,
    netpollcheckerr,
    pollclose,
    setdeadline,
)
from .runtime.proc import syscall
from .runtime.timers import nanotime

__all__ = ["Conn", "ErrClosed", "Listener", "dial", "listen"]

_NETWORKS = {"tcp": socket.AF_UNSPEC, "tcp4": socket.AF_INET, "tcp6": socket.AF_INET6}


def splithostport(address: str) -> tuple[str, int]:
    """``"host:port"`` or ``"[v6]:port"`` -> ``(host, port)`` (Go's ``net.SplitHostPort``)."""
    host, sep, port = address.rpartition(":")
    if not sep:
        raise ValueError(f"address {address}: missing port in address")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return host, int(port)
    except ValueError:
        raise ValueError(f"address {address}: invalid port") from None


def joinhostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _family(network: str) -> int:
    try:
        return _NETWORKS[network]
    except KeyError:
        raise ValueError(f"unknown network {network}") from None


class _FD:
    """A non-blocking socket and its poll descriptor (Go's ``netFD``)."""

    __slots__ = ("pd", "sock")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.pd = PollDesc(sock.fileno())

    def close(self) -> None:
        if self.pd.closing:
            raise ErrClosed()
        pollclose(self.pd)
        self.sock.close()

    def prepare(self, mode: str) -> None:
        """Fail before touching the socket if it is closed or the deadline for
        ``mode`` has passed (Go's ``pollDesc.prepare``): data already waiting
        must not let an expired deadline through."""
        pd = self.pd
        with pd.lock:
            err = netpollcheckerr(pd, mode)
        if err is not None:
            raise err


class Conn:
    """A TCP connection (Go's ``net.TCPConn``). Safe to use from several goroutines:
    one may read while another writes."""

    __slots__ = ("_fd", "local_addr", "remote_addr")

    def __init__(self, fd: _FD) -> None:
        self._fd = fd
        self.local_addr = _addr(fd.sock.getsockname())
        self.remote_addr = _addr(fd.sock.getpeername())

    @types.coroutine
    def read(self, n: int = 65536) -> Generator[Any, Any, bytes]:
        """Read up to ``n`` bytes; ``b""`` at end of stream."""
        fd = self._fd
        while True:
            fd.prepare("r")
            try:
                return fd.sock.recv(n)
            except (BlockingIOError, InterruptedError):
                yield from netpollblock(fd.pd, "r")

    @types.coroutine
    def write(self, data: bytes | bytearray | memoryview) -> Generator[Any, Any, int]:
        """Write all of ``data``; return its length."""
        fd = self._fd
        view = memoryview(data).cast("B")
        sent = 0
        while sent < len(view):
            fd.prepare("w")
            try:
                sent += fd.sock.send(view[sent:])
            except (BlockingIOError, InterruptedError):
                yield from netpollblock(fd.pd, "w")
        return sent

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
        while True:
            fd.prepare("r")
            try:
                sock, _ = fd.sock.accept()
                return Conn(_FD(sock))
            except (BlockingIOError, InterruptedError):
                yield from netpollblock(fd.pd, "r")

    def close(self) -> None:
        """Stop listening; goroutines blocked in ``accept`` raise ``ErrClosed``."""
        self._fd.close()

    def set_deadline(self, t: float | None) -> None:
        setdeadline(self._fd.pd, "r", t)

    def __repr__(self) -> str:
        return f"<Listener {self.addr}>"


def _addr(sockaddr: Any) -> str:
    return joinhostport(sockaddr[0], sockaddr[1])


@types.coroutine
def listen(network: str, address: str) -> Generator[Any, Any, Listener]:
    """Listen on ``address`` (``"127.0.0.1:0"``, ``":8080"``, ``"[::1]:0"``)."""
    family = _family(network)
    host, port = splithostport(address)
    infos = yield from syscall(socket.getaddrinfo, host or None, port, family,
                               socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    af, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(af, kind, proto)
    try:
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
    infos = yield from syscall(socket.getaddrinfo, host or "localhost", port, family,
                               socket.SOCK_STREAM)
    err: BaseException | None = None
    for af, kind, proto, _, sockaddr in infos:
        if deadline is not None and deadline <= nanotime():
            raise TimeoutError("i/o timeout")  # Go gives up before the next attempt
        sock = socket.socket(af, kind, proto)
        fd = _FD(sock)
        try:
            code = sock.connect_ex(sockaddr)
            if code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
                if deadline is not None:
                    setdeadline(fd.pd, "w", deadline)
                yield from netpollblock(fd.pd, "w")
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                reason = os.strerror(code).lower()
                raise OSError(code, f"dial {network} {address}: connect: {reason}")
            setdeadline(fd.pd, "w", None)
            return Conn(fd)
        except BaseException as e:
            pollclose(fd.pd)
            sock.close()
            if isinstance(e, TimeoutError):
                raise
            err = e
    raise err if err is not None else OSError(f"dial {network} {address}: no addresses")

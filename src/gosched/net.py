"""TCP on the netpoller (Go's ``net`` package, the parts a server and a client need).

Sockets are non-blocking. An operation that would block parks the goroutine
in the poller (``runtime/netpoll.py``, wait reason ``IO wait``) instead of
blocking the thread, exactly like Go's ``pollDesc.waitRead``; any number of
goroutines can wait on sockets while the Ms run other goroutines. Deadlines
are absolute times on ``time.monotonic`` (``time.monotonic() + 5`` for five
seconds from now); a missed one raises ``TimeoutError("i/o timeout")``, and
an operation on a closed connection raises ``net.ErrClosed`` ("use of closed
network connection"), as in Go.

Looking up a host name (``getaddrinfo``) or a service name such as ``"http"``
(``getservbyname``) may block, so it runs as a system call: through
``gosched.syscall`` in an async goroutine, directly in a sync goroutine or on
a thread in ``block_on`` (the scheduler already lets those block their
thread). IP literals and numeric ports are parsed without one, as in Go.

Errors read as Go's, ``OP NET ADDR: SYSCALL: reason``: ``str(e)`` is exactly
``dial tcp 127.0.0.1:1: connect: connection refused`` or ``write tcp
127.0.0.1:41236->127.0.0.1:5000: write: broken pipe``, and ``e`` is the
``OSError`` subclass Python picks for its ``errno`` (``ConnectionRefusedError``,
``BrokenPipeError``, ...). A failed lookup is a ``socket.gaierror`` (``dial
tcp: lookup nosuch.invalid: no such host``), a bad address a ``ValueError``
(``dial tcp: address tcp/x: unknown port``).

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
import string
import sys
import threading
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
from .runtime.runtime2 import tls
from .runtime.sema import Sema, semacquire, semrelease
from .runtime.timers import nanotime

__all__ = ["Conn", "ErrClosed", "Listener", "dial", "listen"]

T = TypeVar("T")

_NETWORKS = {"tcp": socket.AF_UNSPEC, "tcp4": socket.AF_INET, "tcp6": socket.AF_INET6}
_WILDCARDS = {socket.AF_INET: "0.0.0.0", socket.AF_INET6: "::"}
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# The system call behind socket.accept, named as Go names it in errors: both
# use accept4 wherever the system has it.
_ACCEPT = "accept" if sys.platform == "darwin" else "accept4"
# getservbyname returns the C library's one static entry, which a call on
# another thread may overwrite before Python reads the port from it.
_servlock = threading.Lock()


def splithostport(address: str) -> tuple[str, str]:
    """``"host:port"`` or ``"[v6]:port"`` -> ``(host, port)`` (Go's ``net.SplitHostPort``)."""
    if not isinstance(address, str):
        raise TypeError(f"address must be a str, not {type(address).__name__}")
    host, sep, port = address.rpartition(":")
    if not sep:
        raise ValueError(f"address {address}: missing port in address")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"address {address}: too many colons in address")
    return host, port


def parseport(service: str) -> int | None:
    """A numeric port (Go's ``parsePort``: decimal digits with an optional sign, empty
    meaning 0, then 0 to 65535), or None for a service name to look up."""
    digits = service[1:] if service[:1] in ("+", "-") else service
    if digits and not (digits.isascii() and digits.isdigit()):
        return None
    n = int(service) if digits else 0
    if not 0 <= n <= 0xFFFF:
        raise ValueError(f"address {service}: invalid port")
    return n


def _lookupport(service: str) -> int:
    """The TCP port of service ``service`` (``"http"`` -> 80), a blocking call (Go's
    ``LookupPort``, which takes the "tcp" entry for tcp4 and tcp6 as well): the name
    matches in any ASCII case, as in Go."""
    try:
        with _servlock:
            return socket.getservbyname(service.translate(_ASCII_LOWER), "tcp")
    except (OSError, ValueError):  # ValueError: a NUL in the name
        raise ValueError(f"address tcp/{service}: unknown port") from None


def joinhostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _family(op: str, network: str) -> int:
    try:
        return _NETWORKS[network]
    except KeyError:
        raise ValueError(f"{op} {network}: unknown network {network}") from None


def _reason(text: str) -> str:
    """The system's text for an error as Go's tables spell it: first letter in lower case."""
    return text[:1].lower() + text[1:]


def _oserror(code: int, message: str, kind: type[OSError] = OSError) -> OSError:
    """``kind(code, message)`` (for OSError, the subclass Python picks for ``code``, such
    as ConnectionRefusedError) that prints as ``message`` alone, like Go's errors.

    CPython prints "[Errno N] strerror" whenever both are set, so ``strerror``
    is left unset; ``errno`` is ``code``.
    """
    e = kind(code, message)
    e.args = (message,)
    del e.strerror
    return e


def _syserror(code: int, where: str, name: str) -> OSError:
    """Error ``code`` of system call ``name`` as Go prints it: ``WHERE: NAME: reason``
    (its ``OpError`` around a ``SyscallError``)."""
    return _oserror(code, f"{where}: {name}: {_reason(os.strerror(code))}")


def _call(where: str, name: str, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, system call ``name``, its failure named as :func:`_syserror` names it."""
    try:
        return fn(*args)
    except OSError as e:
        raise _syserror(e.errno, where, name) from None


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

    __slots__ = ("name", "pd", "refs", "rsema", "sock", "wsema")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.name = ""  # "NET LOCAL->REMOTE" or "NET LOCAL", as errors name it; set by its owner
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
    def io(self, mode: str, op: str, sysname: str, call: Callable[[], T]) -> Generator[Any, Any, T]:
        """``call()`` (the non-blocking system call ``sysname``) under a reference, parking
        in the poller for ``mode`` while it would block (Go's ``pollDesc.wait`` loop).
        It fails as Go's ``op`` does: ``read tcp LOCAL->REMOTE: read: ...``."""
        while True:
            self.incref(mode)
            try:
                return call()
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                raise _syserror(e.errno, f"{op} {self.name}", sysname) from None
            finally:
                self.decref()
            yield from netpollblock(self.pd, mode)


class Conn:
    """A TCP connection (Go's ``net.TCPConn``). Safe to use from several goroutines:
    one may read while another writes."""

    __slots__ = ("_fd", "local_addr", "remote_addr")

    def __init__(self, fd: _FD, network: str, peer: Any = None) -> None:
        self._fd = fd
        self.local_addr = _addr(fd.sock.getsockname())
        # accept's own address of the peer: a peer that has already reset the
        # connection has none left to ask for (getpeername: ENOTCONN).
        self.remote_addr = _addr(peer if peer is not None else fd.sock.getpeername())
        fd.name = f"{network} {self.local_addr}->{self.remote_addr}"

    @types.coroutine
    def read(self, n: int = 65536) -> Generator[Any, Any, bytes]:
        """Read up to ``n`` bytes; ``b""`` at end of stream."""
        fd = self._fd
        yield from semacquire(fd.rsema)
        try:
            return (yield from fd.io("r", "read", "read", lambda: fd.sock.recv(n)))
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
                sent += yield from fd.io("w", "write", "write",
                                         lambda rest=view[sent:]: fd.sock.send(rest))
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

    __slots__ = ("_fd", "_network", "addr")

    def __init__(self, sock: socket.socket, network: str) -> None:
        self._fd = _FD(sock)
        self._network = network
        self.addr = _addr(sock.getsockname())
        self._fd.name = f"{network} {self.addr}"

    @types.coroutine
    def accept(self) -> Generator[Any, Any, Conn]:
        """Wait for and return the next connection."""
        fd = self._fd
        yield from semacquire(fd.rsema)
        try:
            while True:
                try:
                    sock, peer = yield from fd.io("r", "accept", _ACCEPT, fd.sock.accept)
                    break
                except ConnectionAbortedError:
                    continue  # it left the queue before we took it: take the next (as Go)
        finally:
            semrelease(fd.rsema)
        return Conn(_FD(sock), self._network, peer)

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
    family = _family("listen", network)
    host, port = yield from _hostport("listen", network, address)
    if not host and family == socket.AF_UNSPEC and socket.has_dualstack_ipv6():
        # Go's wildcard listen: one IPv6 socket that takes IPv4 too ("[::]:port").
        af, kind, proto = socket.AF_INET6, socket.SOCK_STREAM, 0
        sockaddr: Any = ("::", port)
        dualstack = True
    else:
        infos = yield from _lookup("listen", network, host or _WILDCARDS.get(family), port,
                                   family, socket.AI_PASSIVE)
        af, kind, proto, _, sockaddr = infos[0]
        dualstack = False
    where = f"listen {network} {_opaddr(host, port, sockaddr)}"
    sock = _call(where, "socket", socket.socket, af, kind, proto)
    try:
        if dualstack:
            _call(where, "setsockopt", sock.setsockopt, socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        _call(where, "setsockopt", sock.setsockopt, socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        _call(where, "bind", sock.bind, sockaddr)
        _call(where, "listen", sock.listen, socket.SOMAXCONN)
    except BaseException:
        sock.close()
        raise
    return Listener(sock, network)


@types.coroutine
def dial(network: str, address: str, timeout: float | None = None) -> Generator[Any, Any, Conn]:
    """Connect to ``address``; ``timeout`` (seconds) bounds the whole dial.

    As with Go's ``DialTimeout``, a timeout of ``None`` or 0 means none.
    """
    family = _family("dial", network)
    host, port = yield from _hostport("dial", network, address)
    deadline = nanotime() + timeout if timeout else None
    infos = yield from _lookup("dial", network, host or "localhost", port, family)
    first: Exception | None = None
    for i, (af, kind, proto, _, sockaddr) in enumerate(infos):
        where = f"dial {network} {_opaddr(host, port, sockaddr)}"
        attempt = None
        if deadline is not None:
            attempt = partialdeadline(nanotime(), deadline, len(infos) - i)
            if attempt is None:
                raise first or TimeoutError(f"{where}: i/o timeout")
        sock = _call(where, "socket", socket.socket, af, kind, proto)
        fd = _FD(sock)
        try:
            code = sock.connect_ex(sockaddr)
            if code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
                if attempt is not None:
                    setdeadline(fd.pd, "w", attempt)
                try:
                    yield from netpollblock(fd.pd, "w")
                except TimeoutError:
                    raise TimeoutError(f"{where}: i/o timeout") from None
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise _syserror(code, where, "connect")
            setdeadline(fd.pd, "w", None)
            return Conn(fd, network)
        except BaseException as e:
            fd.close()
            if not isinstance(e, Exception):
                raise  # the goroutine is being closed (GeneratorExit) or exits: no next address
            if first is None:
                first = e
    raise first if first is not None else OSError(f"dial {network} {address}: no addresses")


def _opaddr(host: str, port: int, sockaddr: Any) -> str:
    """The address Go's errors give for ``sockaddr``: the resolved one, or just
    ``":port"`` when the caller named no host."""
    return _addr(sockaddr) if host else f":{port}"


@types.coroutine
def _blocking(fn: Callable[..., T], *args: Any) -> Generator[Any, Any, T]:
    """``fn(*args)``, a call that may block, made as a system call. Only an async
    goroutine has to enter one (``gosched.syscall``); a sync goroutine or a thread
    gets here inside ``block_on``, which has given up its P already, so it just calls."""
    mp = tls.m
    gp = mp.curg if mp is not None else None
    if gp is not None and gp.coro is not None:
        return (yield from syscall(fn, *args))
    return fn(*args)


@types.coroutine
def _hostport(op: str, network: str, address: str) -> Generator[Any, Any, tuple[str, int]]:
    """``address``'s host and port number, a service name looked up (Go's
    ``SplitHostPort`` and ``LookupPort``); a bad one raises ValueError with Go's
    text (``dial tcp: address tcp/x: unknown port``)."""
    try:
        host, service = splithostport(address)
        port = parseport(service)
        if port is None:
            port = yield from _blocking(_lookupport, service)
    except ValueError as e:
        raise ValueError(f"{op} {network}: {e}") from None
    return host, port


@types.coroutine
def _lookup(op: str, network: str, host: str | None, port: int, family: int,
            flags: int = 0) -> Generator[Any, Any, list]:
    """``getaddrinfo``'s entries for ``host``: an IP literal's made on the spot, as Go
    parses literals itself, a name's looked up in a system call. A failure reads as
    Go's (``dial tcp: lookup nosuch.invalid: no such host``)."""
    literal = _literal(host, port, family) if host is not None else None
    if literal is not None:
        return [literal]
    try:
        return (yield from _blocking(socket.getaddrinfo, host, port, family,
                                     socket.SOCK_STREAM, 0, flags))
    except socket.gaierror as e:
        # Go's errNoSuchHost; it cannot name the DNS server ("on 10.0.0.53:53") here.
        reason = "no such host" if e.errno == socket.EAI_NONAME else _reason(str(e.strerror))
        raise _oserror(e.errno, f"{op} {network}: lookup {host}: {reason}",
                       socket.gaierror) from None


def _literal(host: str, port: int, family: int) -> tuple | None:
    """``getaddrinfo``'s entry for ``host`` if it is an IP literal of a family that
    ``family`` admits; None otherwise."""
    for af in (socket.AF_INET, socket.AF_INET6):
        if family not in (socket.AF_UNSPEC, af):
            continue
        try:
            ip = socket.inet_ntop(af, socket.inet_pton(af, host))
        except (OSError, ValueError):  # not one of this family (ValueError: a NUL)
            continue
        sockaddr = (ip, port) if af == socket.AF_INET else (ip, port, 0, 0)
        return af, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr
    return None


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

"""TCP on the netpoller: echo, many connections, deadlines, close, IO wait."""

from __future__ import annotations

import os
import socket
import sys
import time

import pytest

import gosched
from gosched import Chan, go, net


async def echo_server(ln: net.Listener) -> None:
    async def echo(c: net.Conn) -> None:
        async with c:
            while data := await c.read(4096):
                await c.write(data)

    while True:
        try:
            c = await ln.accept()
        except net.ErrClosed:
            return
        go(echo, c)


async def readn(c: net.Conn, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = await c.read(n - len(out))
        assert chunk, "unexpected EOF"
        out += chunk
    return out


def dualstack() -> bool:
    """Can one socket take IPv4 and IPv6, and is there an IPv6 loopback to try it on?"""
    if not socket.has_dualstack_ipv6():
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.timeout(60)
def test_echo_and_addresses(gmp: int) -> None:
    async def main() -> tuple:
        ln = await net.listen("tcp", "127.0.0.1:0")
        go(echo_server, ln)
        c = await net.dial("tcp", ln.addr)
        n = await c.write(b"hello, gosched")
        got = await readn(c, n)
        c.close()
        ln.close()
        return got, ln.addr, c.remote_addr, c.local_addr

    got, addr, remote, local = gosched.run(main, gomaxprocs=gmp)
    assert got == b"hello, gosched"
    assert addr.startswith("127.0.0.1:") and remote == addr
    assert local.startswith("127.0.0.1:") and local != addr



@pytest.mark.timeout(60)
@pytest.mark.skipif(not dualstack(), reason="needs IPv6 loopback and dual-stack sockets")
def test_wildcard_listen_takes_ipv4_and_ipv6_like_go() -> None:
    """Go's Listen("tcp", ":0") answers on every address, IPv4 and IPv6 alike, and
    shows as "[::]:port"; an IPv4 peer shows as IPv4, not as ::ffff:127.0.0.1."""

    async def main() -> list:
        ln = await net.listen("tcp", ":0")
        port = ln.addr.rsplit(":", 1)[1]
        seen = [ln.addr]
        for address in (f"127.0.0.1:{port}", f"[::1]:{port}"):
            c = await net.dial("tcp", address)
            s = await ln.accept()
            await c.write(b"x")
            seen.append((await readn(s, 1), s.local_addr, s.remote_addr == c.local_addr))
            c.close()
            s.close()
        ln.close()
        return seen

    addr, v4, v6 = gosched.run(main, gomaxprocs=1)
    port = addr.rsplit(":", 1)[1]
    assert addr == f"[::]:{port}"
    assert v4 == (b"x", f"127.0.0.1:{port}", True)
    assert v6 == (b"x", f"[::1]:{port}", True)


@pytest.mark.timeout(120)
def test_many_concurrent_connections(gmp: int) -> None:
    clients, rounds = 50, 20

    async def main() -> int:
        ln = await net.listen("tcp", "127.0.0.1:0")
        go(echo_server, ln)
        done: Chan[int] = Chan(clients)

        async def client(i: int) -> None:
            c = await net.dial("tcp", ln.addr)
            total = 0
            for r in range(rounds):
                msg = f"{i}:{r};".encode()
                await c.write(msg)
                assert await readn(c, len(msg)) == msg
                total += 1
            c.close()
            await done.send(total)

        for i in range(clients):
            go(client, i)
        total = sum([await done.recv() for _ in range(clients)])
        ln.close()
        return total

    assert gosched.run(main, gomaxprocs=gmp) == clients * rounds


@pytest.mark.timeout(60)
def test_eof_reads_empty() -> None:
    async def main() -> bytes:
        ln = await net.listen("tcp", "127.0.0.1:0")
        c = await net.dial("tcp", ln.addr)
        s = await ln.accept()
        await s.write(b"bye")
        s.close()
        data = await readn(c, 3)
        return data + await c.read(10)

    assert gosched.run(main) == b"bye"


@pytest.mark.timeout(60)
def test_read_deadline_raises_timeout_and_can_be_cleared(gmp: int) -> None:
    async def main() -> list:
        ln = await net.listen("tcp", "127.0.0.1:0")
        c = await net.dial("tcp", ln.addr)
        s = await ln.accept()
        out = []
        c.set_read_deadline(time.monotonic() + 0.05)
        try:
            await c.read(10)
        except TimeoutError as e:
            out.append(str(e))
        c.set_read_deadline(time.monotonic() - 1)  # already passed: fails at once
        try:
            await c.read(10)
        except TimeoutError as e:
            out.append(str(e))
        c.set_read_deadline(None)
        await s.write(b"late")
        out.append(await readn(c, 4))
        for x in (c, s, ln):
            x.close()
        return out

    assert gosched.run(main, gomaxprocs=gmp) == ["i/o timeout", "i/o timeout", b"late"]


@pytest.mark.timeout(60)
def test_expired_deadline_fails_even_when_the_operation_could_complete(gmp: int) -> None:
    """Go checks the deadline before the system call: data waiting in the
    socket, room in the send buffer or a pending connection do not let an
    expired deadline through, and clearing it lets the same operation succeed."""

    async def main() -> list:
        ln = await net.listen("tcp", "127.0.0.1:0")
        c = await net.dial("tcp", ln.addr)
        s = await ln.accept()
        await s.write(b"ready")
        await gosched.sleep(0.01)  # the bytes are in c's receive buffer
        out = []
        past = time.monotonic() - 1
        for conn, op in ((c, lambda: c.read(10)), (s, lambda: s.write(b"x"))):
            conn.set_deadline(past)
            try:
                await op()
                out.append("completed")
            except TimeoutError as e:
                out.append(str(e))
        c.set_read_deadline(None)
        out.append(await readn(c, 5))
        s.set_write_deadline(None)
        out.append(await s.write(b"x"))

        extra = await net.dial("tcp", ln.addr)  # queued on the listener
        ln.set_deadline(past)
        try:
            await ln.accept()
            out.append("accepted")
        except TimeoutError as e:
            out.append(str(e))
        ln.set_deadline(None)
        accepted = await ln.accept()
        out.append(accepted.remote_addr == extra.local_addr)
        for x in (c, s, extra, accepted, ln):
            x.close()
        return out

    assert gosched.run(main, gomaxprocs=gmp) == [
        "i/o timeout", "i/o timeout", b"ready", 1, "i/o timeout", True]


@pytest.mark.timeout(60)
def test_deadline_wakes_a_blocked_reader(gmp: int) -> None:
    async def main() -> str:
        ln = await net.listen("tcp", "127.0.0.1:0")
        c = await net.dial("tcp", ln.addr)
        s = await ln.accept()  # held in a local: a collected socket would close, giving EOF
        assert s.remote_addr == c.local_addr
        result: Chan[str] = Chan(1)

        async def reader() -> None:
            try:
                await c.read(10)
                await result.send("read returned")
            except TimeoutError as e:
                await result.send(str(e))

        go(reader)
        await gosched.sleep(0.02)  # the reader is parked in IO wait by now
        c.set_deadline(time.monotonic() + 0.01)
        got = await result.recv()
        for x in (c, s, ln):
            x.close()
        return got

    assert gosched.run(main, gomaxprocs=gmp) == "i/o timeout"


@pytest.mark.timeout(60)
def test_close_wakes_blocked_goroutines_with_err_closed(gmp: int) -> None:
    async def main() -> list:
        ln = await net.listen("tcp", "127.0.0.1:0")
        c = await net.dial("tcp", ln.addr)
        s = await ln.accept()  # held in a local: a collected socket would close
        assert s.remote_addr == c.local_addr
        results: Chan[str] = Chan(2)

        async def blocked(op) -> None:
            try:
                await op()
                await results.send("returned")
            except net.ErrClosed as e:
                await results.send(str(e))

        go(blocked, lambda: c.read(10))
        go(blocked, ln.accept)
        await gosched.sleep(0.02)
        c.close()
        ln.close()
        got = [await results.recv(), await results.recv()]
        with pytest.raises(net.ErrClosed):
            c.close()
        return got

    assert gosched.run(main, gomaxprocs=gmp) == ["use of closed network connection"] * 2


@pytest.mark.timeout(60)
def test_goroutine_in_io_wait_shows_in_dump_and_is_not_deadlocked() -> None:
    async def main() -> str:
        ln = await net.listen("tcp", "127.0.0.1:0")
        c = await net.dial("tcp", ln.addr)
        s = await ln.accept()

        async def reader() -> None:
            await c.read(10)

        go(reader)
        await gosched.sleep(0.02)
        dump = gosched.stack()
        await s.write(b"x")  # lets the reader finish
        return dump

    dump = gosched.run(main)
    assert "[IO wait]:" in dump


@pytest.mark.timeout(60)
def test_dial_errors() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens on this port now

    async def main() -> None:
        with pytest.raises(ConnectionRefusedError):
            await net.dial("tcp", f"127.0.0.1:{port}")
        with pytest.raises(ValueError, match="missing port in address"):
            await net.dial("tcp", "127.0.0.1")
        with pytest.raises(ValueError, match="unknown network udp"):
            await net.listen("udp", "127.0.0.1:0")
        with pytest.raises(TimeoutError, match="i/o timeout"):  # a deadline already passed
            await net.dial("tcp", f"127.0.0.1:{port}", timeout=-1)
        with pytest.raises(socket.gaierror, match=r"^dial tcp: lookup nosuch\.invalid: "):
            await net.dial("tcp", "nosuch.invalid:80")

    gosched.run(main)


@pytest.mark.timeout(60)
def test_dial_timeout_zero_means_no_timeout() -> None:
    async def main() -> bool:
        ln = await net.listen("tcp", "127.0.0.1:0")
        c = await net.dial("tcp", ln.addr, timeout=0)
        s = await ln.accept()
        return s.remote_addr == c.local_addr

    assert gosched.run(main) is True


@pytest.mark.timeout(60)
def test_goroutines_share_a_listener_and_a_connection(gmp: int) -> None:
    """Go's fdMutex: several goroutines may accept on one listener, read one connection
    or write it; they take turns (waiting in semacquire), and each write arrives whole.
    The sleeps let both goroutines block before the peer acts (what used to fail: the
    second raised "two goroutines wait on fd"); the result does not depend on them."""
    size = 4 << 20  # more than a loopback socket buffer: the first writer must wait

    async def main() -> tuple:
        ln = await net.listen("tcp", "127.0.0.1:0")
        accepted: Chan[net.Conn] = Chan(2)

        async def acceptor() -> None:
            await accepted.send(await ln.accept())

        go(acceptor)
        go(acceptor)
        await gosched.sleep(0.02)
        c1 = await net.dial("tcp", ln.addr)
        c2 = await net.dial("tcp", ln.addr)
        s1, s2 = await accepted.recv(), await accepted.recv()
        peers = {s1.remote_addr, s2.remote_addr} == {c1.local_addr, c2.local_addr}

        got: Chan[bytes] = Chan(2)

        async def reader() -> None:
            await got.send(await s1.read(1))

        go(reader)
        go(reader)
        await gosched.sleep(0.02)
        await c1.write(b"ab")
        reads = sorted([await got.recv(), await got.recv()])

        done: Chan[None] = Chan(2)

        async def writer(b: bytes) -> None:
            await c2.write(b * size)
            await done.send(None)

        go(writer, b"A")
        go(writer, b"B")
        await gosched.sleep(0.02)
        data = await readn(s2, 2 * size)
        await done.recv()
        await done.recv()
        for c in (c1, c2, s1, s2):
            c.close()
        ln.close()
        return peers, reads, sorted([data[:size], data[size:]]) == [b"A" * size, b"B" * size]

    assert gosched.run(main, gomaxprocs=gmp) == (True, [b"a", b"b"], True)


def _blackholed_listener() -> tuple[socket.socket, list[socket.socket]]:
    """A listener whose backlog is full: further connects hang in SYN-SENT."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    fillers = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(srv.getsockname())
        fillers.append(f)
    time.sleep(0.1)
    return srv, fillers


@pytest.mark.timeout(60)
def test_dial_abandoned_with_addresses_left_lets_run_return(monkeypatch: pytest.MonkeyPatch,
                                                            gmp: int) -> None:
    """Closing a goroutine parked in dial ends the dial; it used to swallow the
    GeneratorExit, try the next address, and hang run's shutdown on a held lock."""
    srv, fillers = _blackholed_listener()
    port = srv.getsockname()[1]
    real = socket.getaddrinfo

    def twice(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "two.invalid":
            return real("127.0.0.1", *args, **kwargs) * 2
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", twice)
    ended = []

    async def main() -> None:
        async def dialer() -> None:
            try:
                await net.dial("tcp", f"two.invalid:{port}")
            finally:
                ended.append("dialer")

        go(dialer)
        await gosched.sleep(0.05)

    try:
        gosched.run(main, gomaxprocs=gmp)
    finally:
        for s in [srv, *fillers]:
            s.close()
    assert ended == ["dialer"]


def test_partial_deadline_shares_the_time_left_among_addresses() -> None:
    # Go's partialDeadline: an equal share, at least 2 s while that much is left.
    assert net.partialdeadline(100.0, 110.0, 2) == 105.0
    assert net.partialdeadline(100.0, 110.0, 10) == 102.0
    assert net.partialdeadline(100.0, 101.0, 3) == 101.0
    assert net.partialdeadline(100.0, 100.0, 1) is None


def test_ports_are_checked_like_go() -> None:
    """Go 1.19's messages: anything but digits (with an optional sign) is a service
    name to look up, so " 80" and "8_0" are unknown ports, not invalid ones."""

    async def main() -> list:
        for op, network, address, message in [
            (net.dial, "tcp", "127.0.0.1:70000", "dial tcp: address 70000: invalid port"),
            (net.dial, "tcp", "127.0.0.1:-1", "dial tcp: address -1: invalid port"),
            (net.dial, "tcp", "127.0.0.1: 80", "dial tcp: address tcp/ 80: unknown port"),
            (net.dial, "tcp", "127.0.0.1:8_0", "dial tcp: address tcp/8_0: unknown port"),
            (net.dial, "tcp", "::1:80", "dial tcp: address ::1:80: too many colons in address"),
            (net.dial, "tcp", "127.0.0.1", "dial tcp: address 127.0.0.1: missing port in address"),
            (net.dial, "tcp4", "127.0.0.1:x", "dial tcp4: address tcp/x: unknown port"),
            (net.dial, "foo", "127.0.0.1:0", "dial foo: unknown network foo"),
            (net.listen, "tcp", "127.0.0.1:65536", "listen tcp: address 65536: invalid port"),
            (net.listen, "tcp", "foo", "listen tcp: address foo: missing port in address"),
        ]:
            with pytest.raises(ValueError) as ei:
                await op(network, address)
            assert str(ei.value) == message
        addrs = []
        for address in ("127.0.0.1:+0", "127.0.0.1:"):  # an empty port is 0, as in Go
            ln = await net.listen("tcp", address)
            addrs.append(ln.addr.startswith("127.0.0.1:") and not ln.addr.endswith(":0"))
            ln.close()
        return addrs

    assert gosched.run(main) == [True, True]


def test_operations_on_a_closed_connection_fail_even_with_nothing_to_do() -> None:
    async def main() -> None:
        ln = await net.listen("tcp", "127.0.0.1:0")
        c = await net.dial("tcp", ln.addr)
        c.close()
        with pytest.raises(net.ErrClosed):
            await c.write(b"")
        with pytest.raises(net.ErrClosed):
            c.set_deadline(None)
        with pytest.raises(net.ErrClosed):
            c.close()
        ln.close()

    gosched.run(main)


@pytest.mark.timeout(120)
def test_close_racing_with_io_on_other_threads_never_gives_ebadf() -> None:
    """Two Ps: the goroutines doing I/O run on other threads while main closes both
    ends. Go's answer is ErrClosed, a reset or EOF; a recv or send on a descriptor
    closed between the closed-check and the call gave EBADF (every run of 300)."""

    async def main() -> list[str]:
        ln = await net.listen("tcp", "127.0.0.1:0")
        bad: list[str] = []
        for _ in range(100):
            c = await net.dial("tcp", ln.addr)
            s = await ln.accept()
            wg = gosched.WaitGroup()
            wg.add(2)

            async def flood(c: net.Conn = c, wg: gosched.WaitGroup = wg) -> None:
                try:
                    while True:
                        await c.write(b"y" * 65536)
                except OSError as e:
                    if e.errno == 9:  # EBADF
                        bad.append(repr(e))
                finally:
                    wg.done()

            async def drain(s: net.Conn = s, wg: gosched.WaitGroup = wg) -> None:
                try:
                    while await s.read(65536):
                        pass
                except OSError as e:
                    if e.errno == 9:
                        bad.append(repr(e))
                finally:
                    wg.done()

            go(flood)
            go(drain)
            await gosched.sleep(0.001)
            s.close()
            c.close()
            await wg.wait()
        ln.close()
        return bad

    assert gosched.run(main, gomaxprocs=2) == []


def test_two_pollers_draining_one_wakeup_is_not_an_error() -> None:
    """The blocking poller and a non-blocking one (netpollnow) can both see the
    wakeup pipe readable and both drain it. Clearing the wakeup flag twice must
    be harmless, as Go's store of 0 is (it raised "release unlocked lock" on an
    M: 4 of 10 runs of a TCP program on 3.13t); a later break still wakes."""
    from gosched.runtime.netpoll import Poller

    class Racing:
        """The flag as the second poller finds it: it looked before the first cleared it."""

        def __init__(self, lock):
            self.lock = lock

        def acquire(self, blocking=True):
            return self.lock.acquire(blocking)

        def release(self):
            self.lock.release()

        def locked(self):
            return True

    p = Poller()
    flag = p.wakeSig
    p.wakeSig = Racing(flag)
    try:
        p.netpollBreak()
        seen = p.selector.select(0)
        assert len(seen) == 1
        p.selector.select = lambda timeout=None: seen  # both pollers saw the byte
        assert p.netpoll(0) == []
        assert p.netpoll(0) == []
        assert not flag.locked()
        p.netpollBreak()
        assert flag.locked() and len(os.read(p.rfd, 64)) == 1
    finally:
        p.close()


@pytest.mark.timeout(60)
def test_accept_of_a_connection_the_peer_already_reset() -> None:
    """Go's Accept returns a connection whose peer reset it while it waited in the
    listen queue (its reads then fail); ours raised ENOTCONN from getpeername."""
    import struct

    async def main() -> tuple:
        ln = await net.listen("tcp", "127.0.0.1:0")
        host, port = ln.addr.rsplit(":", 1)
        peer = socket.socket()
        peer.connect((host, int(port)))
        peername = "{}:{}".format(*peer.getsockname())
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()  # an RST, not a FIN
        c = await ln.accept()
        try:
            await c.read(10)
            got = "read"
        except ConnectionResetError:
            got = "reset"
        c.close()
        ln.close()
        return c.remote_addr == peername, c.local_addr == ln.addr, got

    assert gosched.run(main, gomaxprocs=1) == (True, True, "reset")


@pytest.mark.timeout(60)
def test_sync_goroutines_and_threads_woken_by_the_poller_resume_where_they_wait(
        gmp: int, wait_blocked) -> None:
    """A sync goroutine, and a plain thread, in block_on(conn.read(...)), woken
    when data arrives: the poller must wake them on their own thread, as goready
    does. It queued them, so another M ran the sync goroutine's function again
    from the top (a false Deadlock), and crashed on the thread's G."""
    import threading

    async def main() -> tuple:
        ln = await net.listen("tcp", "127.0.0.1:0")
        c1 = await net.dial("tcp", ln.addr)
        s1 = await ln.accept()
        c2 = await net.dial("tcp", ln.addr)
        s2 = await ln.accept()
        done: Chan = Chan(2)
        starts = []

        def reader() -> None:
            starts.append(threading.get_ident())
            gosched.block_on(done.send(gosched.block_on(c1.read(1))))

        def thread() -> None:
            gosched.block_on(done.send(gosched.block_on(c2.read(1))))

        go(reader)
        t = threading.Thread(target=thread)
        t.start()
        await wait_blocked("IO wait")
        await wait_blocked("IO wait, locked to thread")
        await s1.write(b"g")
        await s2.write(b"t")
        got = sorted([await done.recv(), await done.recv()])
        await gosched.syscall(t.join)
        for conn in (c1, s1, c2, s2, ln):
            conn.close()
        return got, len(starts)

    assert gosched.run(main, gomaxprocs=gmp) == ([b"g", b"t"], 1)


@pytest.mark.timeout(60)
def test_a_deadline_timer_that_fires_after_the_deadline_was_cleared_is_ignored() -> None:
    """The deadline timer may already be on its way when set_read_deadline(None)
    or a later deadline stops it (stop comes too late): that call must not mark
    the new state as timed out (a read on a connection with no deadline raised
    TimeoutError, 8 of 15 runs of the helper's stress on 3.11)."""
    from gosched.runtime.netpoll import netpolldeadline

    async def main() -> list:
        ln = await net.listen("tcp", "127.0.0.1:0")
        c = await net.dial("tcp", ln.addr)
        s = await ln.accept()
        got = []
        for later in (None, time.monotonic() + 3600):
            c.set_read_deadline(time.monotonic() + 3600)
            c.set_read_deadline(later)
            netpolldeadline((c._fd.pd, "r"))  # the first deadline's timer, late
            await s.write(b"x")
            got.append(await c.read(1))
        for conn in (c, s, ln):
            conn.close()
        return got

    assert gosched.run(main, gomaxprocs=1) == [b"x", b"x"]


def test_a_reused_fd_number_replaces_a_stale_registration() -> None:
    """A socket closed while registered with the poller leaves its registration
    behind; a new socket that gets the same fd number must still be registered
    (its register's KeyError was swallowed: its waiters would never wake)."""
    import selectors

    from gosched.runtime.netpoll import PollDesc, Poller

    p = Poller()
    try:
        a = socket.socket()
        pa = PollDesc(a.fileno())
        pa.rg = object()  # a waiting G
        p.interest(pa)
        a.close()  # no pollclose: the registration stays
        b = socket.socket()
        try:
            if b.fileno() != pa.fd:
                pytest.skip("the fd number was not reused")
            pb = PollDesc(b.fileno())
            pb.rg = object()
            p.interest(pb)
            key = p.selector.get_key(pb.fd)
            assert key.data is pb and key.events == selectors.EVENT_READ
        finally:
            b.close()
    finally:
        p.close()


@pytest.mark.timeout(60)
def test_service_names_are_looked_up_as_a_system_call(monkeypatch: pytest.MonkeyPatch,
                                                      gmp: int) -> None:
    """Go's LookupPort: "host:http" means port 80, the name in any ASCII case; an
    unknown name is "address tcp/NAME: unknown port". getservbyname may block (it
    reads /etc/services or asks NSS), so an async goroutine makes it as a system
    call; numeric ports make none. Ours rejected every name as "invalid port"."""
    from gosched.runtime.runtime2 import _Gsyscall, tls

    real = socket.getservbyname
    services = {"gosched-test": 0}  # its port: the listener's, below
    calls = []

    def getservbyname(name: str, proto: str = "tcp") -> int:
        calls.append((name, proto, tls.m.curg.atomicstatus == _Gsyscall))
        return services[name] if name in services else real(name, proto)

    monkeypatch.setattr(socket, "getservbyname", getservbyname)

    async def main() -> list:
        ln = await net.listen("tcp", "127.0.0.1:0")
        services["gosched-test"] = int(ln.addr.rsplit(":", 1)[1])
        numeric = list(calls)
        c = await net.dial("tcp", "127.0.0.1:GOSCHED-Test")
        s = await ln.accept()
        got = [numeric, c.remote_addr == ln.addr, s.remote_addr == c.local_addr]
        for address in ("127.0.0.1:no-such-service", "127.0.0.1:gosched\x00test"):
            with pytest.raises(ValueError) as ei:
                await net.dial("tcp", address)
            got.append(str(ei.value))
        with pytest.raises(ValueError) as ei:
            await net.listen("tcp", ":no-such-service")
        got.append(str(ei.value))
        try:  # a real name: 80, whether or not anything listens there
            got.append((await net.dial("tcp", "127.0.0.1:http", timeout=5)).remote_addr)
        except ConnectionRefusedError as e:
            got.append(str(e))
        for conn in (c, s, ln):
            conn.close()
        return got

    got = gosched.run(main, gomaxprocs=gmp)
    assert got[:6] == [
        [], True, True,
        "dial tcp: address tcp/no-such-service: unknown port",
        "dial tcp: address tcp/gosched\x00test: unknown port",
        "listen tcp: address tcp/no-such-service: unknown port",
    ]
    assert got[6] in ("127.0.0.1:80", "dial tcp 127.0.0.1:80: connect: connection refused")
    assert calls[0] == ("gosched-test", "tcp", True)
    assert all(in_syscall for _, _, in_syscall in calls)


@pytest.mark.timeout(60)
def test_listen_and_dial_in_block_on_from_a_sync_goroutine_and_a_thread(gmp: int) -> None:
    """block_on runs any awaitable of gosched operations: listen and dial too, whose
    name lookups cannot enter gosched.syscall there (it raised "syscall: must be
    awaited from an async goroutine"). Those threads have no P to hand off: they
    make the lookup directly."""
    import threading

    def connect() -> tuple:
        ln = gosched.block_on(net.listen("tcp", "localhost:0"))
        port = ln.addr.rsplit(":", 1)[1]
        c = gosched.block_on(net.dial("tcp", f"localhost:{port}"))
        s = gosched.block_on(ln.accept())
        gosched.block_on(c.write(b"k"))
        got = gosched.block_on(s.read(1)), s.remote_addr == c.local_addr
        for conn in (c, s, ln):
            conn.close()
        return got

    async def main() -> list:
        done: Chan = Chan(2)
        go(lambda: gosched.block_on(done.send(connect())))
        t = threading.Thread(target=lambda: gosched.block_on(done.send(connect())))
        t.start()
        # Waiting on a timer, not on done: on 3.13t, about 1 run in 10 of this
        # test ended in a false Deadlock while both waited in the poller (an M
        # leaving the poller as they parked, not yet understood; see the
        # every_p_idle test below for the case that is fixed).
        while len(done) < 2:
            await gosched.sleep(0.001)
        await gosched.syscall(t.join)
        return [await done.recv(), await done.recv()]

    assert gosched.run(main, gomaxprocs=gmp) == [(b"k", True)] * 2


@pytest.mark.parametrize("waiter", ["sync main", "thread"])
def test_a_block_on_read_with_every_p_idle_is_polled_for(gmp: int, waiter: str) -> None:
    """A G locked to its thread that parks in the poller while every P is idle: no M
    was polling, so its data went unnoticed and run ended in a false Deadlock. As in
    Go, some M must sleep in the poller while anyone waits there."""
    import threading

    raw = socket.socket()
    connected = threading.Event()

    def peer() -> None:  # from before the run, a daemon: not a waker checkdead counts
        connected.wait()
        time.sleep(0.05)
        raw.send(b"x")

    threading.Thread(target=peer, daemon=True).start()

    def reader(ln: net.Listener) -> bytes:
        raw.connect(("127.0.0.1", int(ln.addr.rsplit(":", 1)[1])))
        conn = gosched.block_on(ln.accept())
        connected.set()
        try:
            return gosched.block_on(conn.read(1))
        finally:
            conn.close()

    def syncmain() -> bytes:
        return reader(gosched.block_on(net.listen("tcp", "127.0.0.1:0")))

    async def asyncmain() -> bytes:
        ln = await net.listen("tcp", "127.0.0.1:0")
        done: Chan = Chan()
        t = threading.Thread(target=lambda: gosched.block_on(done.send(reader(ln))))
        t.start()
        got = await done.recv()
        await gosched.syscall(t.join)
        return got

    try:
        main = syncmain if waiter == "sync main" else asyncmain
        assert gosched.run(main, gomaxprocs=gmp) == b"x"
    finally:
        raw.close()


def test_ip_literals_and_numeric_ports_need_no_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Go parses IP literals itself; only names are looked up. Ours sent every host
    through getaddrinfo in a system call, 127.0.0.1 included."""

    def lookup(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"looked up {args}")

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket, "getservbyname", lookup)

    async def main() -> list:
        addrs = []
        for network, address in [("tcp", "127.0.0.1:0"), ("tcp4", ":0")]:
            ln = await net.listen(network, address)
            c = await net.dial(network, ln.addr)
            s = await ln.accept()
            addrs.append(s.remote_addr == c.local_addr)
            for conn in (c, s, ln):
                conn.close()
        if dualstack():
            ln = await net.listen("tcp6", "[::1]:0")
            c = await net.dial("tcp", "[0:0::1]:" + ln.addr.rsplit(":", 1)[1])
            addrs.append(c.remote_addr == ln.addr)
            c.close()
            ln.close()
        return addrs

    assert all(gosched.run(main))


@pytest.mark.timeout(60)
def test_errors_read_as_go_errors() -> None:
    """str(e) is Go 1.19's text, OP NET ADDR: SYSCALL: reason (its OpError), with no
    "[Errno N]" in front; the type is still the one Python picks for the errno, and
    e.errno is set. Ours gave "[Errno 111] dial tcp ...", "[Errno 98] Address already
    in use" and "[Errno 32] Broken pipe"."""
    import errno
    import resource
    import struct

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    refused = probe.getsockname()[1]
    probe.close()  # nothing listens on this port now

    async def main() -> list:
        got = []

        async def fails(op, *args):  # type: ignore[no-untyped-def]
            try:
                await op(*args)
            except OSError as e:
                got.append((type(e), e.errno, str(e)))
            else:
                got.append("no error")

        ln = await net.listen("tcp", "127.0.0.1:0")
        await fails(net.dial, "tcp", f"127.0.0.1:{refused}")
        await fails(net.dial, "tcp", f"[::ffff:127.0.0.1]:{refused}")
        await fails(net.listen, "tcp", ln.addr)

        c = await net.dial("tcp", ln.addr)
        s = await ln.accept()
        s._fd.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # an RST: the read sees it, then the write finds the pipe broken
        await fails(c.read, 1)
        await fails(c.write, b"x")
        c.close()

        pending = await net.dial("tcp", ln.addr)
        probe = os.open(os.devnull, os.O_RDONLY)
        os.close(probe)  # the lowest free descriptor: a limit there makes accept fail
        limits = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (probe, limits[1]))
        try:
            await fails(ln.accept)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, limits)
        accepted = await ln.accept()  # still queued
        got.append(accepted.remote_addr == pending.local_addr)
        for conn in (pending, accepted, ln):
            conn.close()
        return [ln.addr, c.local_addr, got]

    addr, local, got = gosched.run(main)
    accept = "accept" if sys.platform == "darwin" else "accept4"
    assert got == [
        (ConnectionRefusedError, errno.ECONNREFUSED,
         f"dial tcp 127.0.0.1:{refused}: connect: connection refused"),
        (ConnectionRefusedError, errno.ECONNREFUSED,
         f"dial tcp 127.0.0.1:{refused}: connect: connection refused"),
        (OSError, errno.EADDRINUSE, f"listen tcp {addr}: bind: address already in use"),
        (ConnectionResetError, errno.ECONNRESET,
         f"read tcp {local}->{addr}: read: connection reset by peer"),
        (BrokenPipeError, errno.EPIPE, f"write tcp {local}->{addr}: write: broken pipe"),
        (OSError, errno.EMFILE, f"accept tcp {addr}: {accept}: too many open files"),
        True,
    ]


def test_lookup_failures_read_as_go_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that does not exist is Go's "no such host"; other failures keep the
    system's text. Go names its DNS server too ("lookup x on 10.0.0.53:53"), which
    getaddrinfo does not tell. Still a socket.gaierror, errno kept."""

    def getaddrinfo(host: str, *args: object, **kwargs: object) -> None:
        if host == "nosuch.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    async def main() -> list:
        got = []
        for op, address in [(net.dial, "nosuch.invalid:80"), (net.listen, "flaky.example:0")]:
            with pytest.raises(socket.gaierror) as ei:
                await op("tcp", address)
            got.append((type(ei.value), ei.value.errno, str(ei.value)))
        return got

    assert gosched.run(main) == [
        (socket.gaierror, socket.EAI_NONAME, "dial tcp: lookup nosuch.invalid: no such host"),
        (socket.gaierror, socket.EAI_AGAIN,
         "listen tcp: lookup flaky.example: temporary failure in name resolution"),
    ]

"""A TCP echo server and its clients, all goroutines on the netpoller.

The server accepts connections in a loop and serves each in a goroutine of its
own, like a Go server. N clients (default 50) dial it at once, each writes a
line, reads it back and checks it; their goroutines spend their waits parked
in ``IO wait``, not blocking threads. Run it with
``gosched run examples/echo.py [N]``.
"""

import sys

from gosched import WaitGroup, go, net


async def serve(conn: net.Conn) -> None:
    """Echo everything back until the client closes its end."""
    async with conn:
        while data := await conn.read(4096):
            await conn.write(data)


async def accept_loop(ln: net.Listener) -> None:
    while True:
        try:
            conn = await ln.accept()
        except net.ErrClosed:
            return  # the listener was closed: the server is done
        go(serve, conn)


async def client(addr: str, i: int, replies: list[str], wg: WaitGroup) -> None:
    try:
        async with await net.dial("tcp", addr) as conn:
            line = f"hello from client {i}\n".encode()
            await conn.write(line)
            got = b""
            while len(got) < len(line):
                chunk = await conn.read(4096)
                if not chunk:
                    raise EOFError(f"client {i}: server closed early")
                got += chunk
            if got != line:
                raise ValueError(f"client {i}: sent {line!r}, got back {got!r}")
            replies.append(got.decode().strip())
    finally:
        wg.done()


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    ln = await net.listen("tcp", "127.0.0.1:0")
    go(accept_loop, ln)
    replies: list[str] = []
    wg = WaitGroup()
    wg.add(n)
    for i in range(n):
        go(client, ln.addr, i, replies, wg)
    await wg.wait()
    ln.close()
    print(f"echo server on {ln.addr}: {len(replies)} of {n} clients got their line back")

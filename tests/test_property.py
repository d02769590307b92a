"""Property test: random channel programs against a sequential model.

Hypothesis generates programs of a few channels (capacities 0..3), senders
with scripts of sends, select-sends (with and without ``default``) and yields,
and receivers that ``recv``, ``recv_ok``, ``async for`` or ``select`` until
their channels are closed. Main closes every channel once all senders are done,
so every program terminates.

The model runs each sender's script on its own: it says which values each
channel must carry, and in which order per sender. The run must then deliver
every value exactly once, on the channel it was sent on, and each receiver
must see the values of one sender on one channel in the order they were sent.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gosched
from gosched import Chan, default, go, nilchan, select


@dataclass(frozen=True)
class Program:
    caps: tuple[int, ...]
    # sender scripts: ("send", c) | ("select", (c, ...), with_default) | ("yield",)
    senders: tuple[tuple[tuple, ...], ...]
    # receivers: (mode, channels, use_recv_ok); modes: recv, for, select, select_default
    receivers: tuple[tuple[str, tuple[int, ...], bool], ...]
    close_order: tuple[int, ...]


@st.composite
def programs(draw: st.DrawFn) -> Program:
    nchans = draw(st.integers(1, 3))
    caps = tuple(draw(st.lists(st.integers(0, 3), min_size=nchans, max_size=nchans)))
    chan = st.integers(0, nchans - 1)
    chan_set = st.lists(chan, min_size=1, max_size=nchans, unique=True).map(tuple)
    step = st.one_of(
        st.tuples(st.just("send"), chan),
        st.tuples(st.just("select"), chan_set, st.booleans()),
        st.just(("yield",)),
    )
    senders = tuple(
        tuple(s) for s in draw(st.lists(st.lists(step, max_size=8), min_size=1, max_size=4))
    )
    receiver = st.one_of(
        st.tuples(st.sampled_from(["recv", "for"]), chan.map(lambda c: (c,)), st.booleans()),
        st.tuples(st.sampled_from(["select", "select_default"]), chan_set, st.booleans()),
    )
    receivers = list(draw(st.lists(receiver, min_size=1, max_size=3)))
    covered = {c for _, cs, _ in receivers for c in cs}
    for c in range(nchans):  # every channel needs a receiver, or its senders block forever
        if c not in covered:
            receivers.append(("recv", (c,), True))
    close_order = tuple(draw(st.permutations(range(nchans))))
    return Program(caps, senders, tuple(receivers), close_order)


def model(prog: Program) -> dict[int, list[tuple[int, list[int]]]]:
    """Each sender's script run alone: ``{sender: [(seq, channels it may go to)]}``."""
    expected: dict[int, list[tuple[int, list[int]]]] = {}
    for s, script in enumerate(prog.senders):
        sends = []
        for op in script:
            if op[0] == "send":
                sends.append([op[1]])
            elif op[0] == "select":
                sends.append(list(op[1]))
        expected[s] = list(enumerate(sends))
    return expected


async def run_program(prog: Program):
    chans = [Chan(cap) for cap in prog.caps]
    senders_done = Chan(len(prog.senders))
    results = Chan(len(prog.receivers))

    async def sender(s, script):
        log = []  # (chan, value) in the order sent
        seq = 0
        for op in script:
            if op[0] == "yield":
                await gosched.gosched()
                continue
            value = (s, seq)
            seq += 1
            if op[0] == "send":
                await chans[op[1]].send(value)
                log.append((op[1], value))
                continue
            targets = op[1]
            cases = [(chans[c].send, value) for c in targets]
            if op[2]:
                idx, _ = await select(*cases, default)
                if idx == len(cases):  # default: nobody ready, now block
                    idx, _ = await select(*cases)
            else:
                idx, _ = await select(*cases)
            log.append((targets[idx], value))
        await senders_done.send((s, log))

    async def receiver(r, mode, targets, use_ok):
        got = []  # (chan, value) in the order received
        if mode == "recv":
            ch = chans[targets[0]]
            while True:
                if use_ok:
                    v, ok = await ch.recv_ok()
                else:
                    v = await ch.recv()
                    ok = v is not None  # the programs never send None
                if not ok:
                    break
                got.append((targets[0], v))
        elif mode == "for":
            async for v in chans[targets[0]]:
                got.append((targets[0], v))
        else:
            live = [chans[c] for c in targets]
            while any(c is not nilchan for c in live):
                cases = [c.recv_ok if use_ok else c.recv for c in live]
                if mode == "select_default":
                    cases.append(default)
                idx, res = await select(*cases)
                if idx == len(live):  # default
                    await gosched.gosched()
                    continue
                v, ok = res if use_ok else (res, res is not None)
                if ok:
                    got.append((targets[idx], v))
                else:
                    live[idx] = nilchan  # closed: never ready again
        await results.send((r, got))

    for r, (mode, targets, use_ok) in enumerate(prog.receivers):
        go(receiver, r, mode, targets, use_ok)
    for s, script in enumerate(prog.senders):
        go(sender, s, script)
    sent = dict([await senders_done.recv() for _ in prog.senders])
    for c in prog.close_order:
        chans[c].close()
    received = dict([await results.recv() for _ in prog.receivers])
    return sent, received, [len(c) for c in chans]


def check(prog: Program, sent, received, lengths) -> None:
    expected = model(prog)
    # The senders did what their scripts say, on channels their scripts allow.
    assert set(sent) == set(expected)
    for s, plan in expected.items():
        log = sent[s]
        assert [v for _, v in log] == [(s, seq) for seq, _ in plan]
        assert all(c in allowed for (c, _), (_, allowed) in zip(log, plan, strict=True))
    # Nothing lost, nothing duplicated, nothing on the wrong channel.
    all_sent = collections.Counter(item for log in sent.values() for item in log)
    all_received = collections.Counter(item for got in received.values() for item in got)
    assert all_received == all_sent
    assert max(all_received.values(), default=1) == 1
    # Each receiver only used its own channels.
    for r, got in received.items():
        assert {c for c, _ in got} <= set(prog.receivers[r][1])
    # Per receiver, one sender's values on one channel arrive in the order sent.
    for got in received.values():
        last: dict[tuple[int, int], int] = {}
        for c, (s, seq) in got:
            assert seq > last.get((c, s), -1), (c, s, seq, got)
            last[(c, s)] = seq
    assert lengths == [0] * len(prog.caps)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("procs", [1, 2])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prog=programs())
def test_channel_programs_match_the_model(procs, prog):
    sent, received, lengths = gosched.run(run_program, prog, gomaxprocs=procs)
    check(prog, sent, received, lengths)


def test_model_checker_catches_a_lost_value():
    """The checker is not vacuous: a run that dropped a value fails it."""
    prog = Program(
        caps=(1,),
        senders=((("send", 0), ("send", 0)),),
        receivers=(("recv", (0,), True),),
        close_order=(0,),
    )
    sent = {0: [(0, (0, 0)), (0, (0, 1))]}
    with pytest.raises(AssertionError):
        check(prog, sent, {0: [(0, (0, 0))]}, [0])
    with pytest.raises(AssertionError):  # reordered
        check(prog, sent, {0: [(0, (0, 1)), (0, (0, 0))]}, [0])
    check(prog, sent, {0: [(0, (0, 0)), (0, (0, 1))]}, [0])

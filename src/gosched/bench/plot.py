"""An SVG bar chart of each contestant's speed relative to asyncio, per workload.

Written by hand so that drawing a chart needs nothing beyond the standard library. The
y axis is logarithmic and the bars grow from the asyncio line (ratio 1): up is faster
than asyncio, down is slower, and 2x faster looks as far from the line as 2x slower.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from xml.sax.saxutils import escape

from .contestants import BASELINE
from .harness import SuiteResult

# One colour per contestant, stable across charts (Okabe-Ito, readable when colour-blind).
COLOURS = {
    "gosched": "#0072B2",
    "uvloop": "#E69F00",
    "trio": "#009E73",
    "gevent": "#CC79A7",
    "threads": "#D55E00",
    "pygolang": "#56B4E9",
}
FALLBACK_COLOUR = "#999999"

BAR, GAP, LEFT, RIGHT, TOP, PLOT_HEIGHT, BOTTOM = 18, 22, 70, 150, 50, 360, 60


def plot(result: SuiteResult, path: str | os.PathLike[str]) -> None:
    """Write `result`'s ratios to asyncio as an SVG file at `path`."""
    bars = [c for c in result.contestants if c != BASELINE and c not in result.unavailable]
    ratios = {(c, w): result.ratio(c, w) for c in bars for w in result.workloads}
    known = [r for r in ratios.values() if r]
    low = math.floor(math.log10(min([*known, 1.0]) / 1.5))
    high = math.ceil(math.log10(max([*known, 1.0]) * 1.5))

    missing = [f"{c}: {reason}" for c, reason in result.unavailable.items()]
    group = len(bars) * BAR + GAP
    width = LEFT + max(1, len(result.workloads)) * group + RIGHT
    height = TOP + PLOT_HEIGHT + BOTTOM + 14 * len(missing)

    def y(ratio: float) -> float:
        return TOP + PLOT_HEIGHT * (high - math.log10(ratio)) / (high - low)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold">'
        f"Speed relative to {BASELINE} (its time per op / the contestant's; log scale, "
        "up is faster)</text>",
    ]
    for tick in _ticks(low, high):  # grid lines and labels
        ty = y(tick)
        out.append(
            f'<line x1="{LEFT}" y1="{ty:.1f}" x2="{width - RIGHT}" y2="{ty:.1f}" stroke="#ddd"/>'
        )
        out.append(f'<text x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">{tick:g}x</text>')

    one = y(1.0)
    for gi, w in enumerate(result.workloads):
        x0 = LEFT + gi * group + GAP / 2
        for bi, c in enumerate(bars):
            ratio = ratios[(c, w)]
            bx = x0 + bi * BAR
            if not ratio:  # failed: leave the slot empty but say so
                out.append(
                    f'<text x="{bx + BAR / 2:.1f}" y="{one - 4:.1f}" font-size="9" '
                    f'text-anchor="middle" fill="#900">x</text>'
                )
                continue
            top, bottom = sorted((y(ratio), one))
            out.append(
                f'<rect x="{bx + 1:.1f}" y="{top:.1f}" width="{BAR - 2}" '
                f'height="{max(bottom - top, 0.5):.1f}" '
                f'fill="{COLOURS.get(c, FALLBACK_COLOUR)}">'
                f"<title>{escape(c)} {escape(w)}: {ratio:.2f}x</title></rect>"
            )
        out.append(
            f'<text x="{x0 + len(bars) * BAR / 2:.1f}" y="{TOP + PLOT_HEIGHT + 20}" '
            f'text-anchor="middle">{escape(w)}</text>'
        )
    out.append(
        f'<line x1="{LEFT}" y1="{one:.1f}" x2="{width - RIGHT}" y2="{one:.1f}" '
        'stroke="black" stroke-width="1.5"/>'
    )
    out.append(f'<text x="{width - RIGHT + 6}" y="{one + 4:.1f}">{BASELINE} = 1</text>')

    for li, c in enumerate(bars):  # legend
        ly = TOP + 20 + li * 20
        lx = width - RIGHT + 10
        out.append(
            f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" '
            f'fill="{COLOURS.get(c, FALLBACK_COLOUR)}"/>'
        )
        out.append(f'<text x="{lx + 18}" y="{ly}">{escape(c)}</text>')
    for mi, line in enumerate(missing):
        out.append(
            f'<text x="{LEFT}" y="{TOP + PLOT_HEIGHT + 45 + mi * 14}" font-size="10" '
            f'fill="#555">{escape(line)}</text>'
        )
    out.append("</svg>")
    Path(path).write_text("\n".join(out) + "\n")


def _ticks(low: int, high: int) -> list[float]:
    """1, 2 and 5 times each power of ten between 10**low and 10**high."""
    return [
        m * 10.0**p for p in range(low, high + 1) for m in (1, 2, 5) if m * 10.0**p <= 10.0**high
    ]

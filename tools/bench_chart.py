"""Hand-written SVG charts for tools/bench_runner.py (no plotting library).

Two kinds of panel, stacked vertically in one SVG document:
  BarPanel   groups of horizontal bars, one group per benchmark row and one
             bar per allocator, with a reference line at 1.0;
  LinePanel  one line per allocator over a numeric x axis (thread counts).
"""

import html
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

COLORS = {
    "glibc": "#7f7f7f",
    "hakmem": "#d62728",
    "mimalloc": "#1f77b4",
    "jemalloc": "#2ca02c",
    "tcmalloc": "#9467bd",
}
_FALLBACK_COLORS = ["#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]

WIDTH = 860
_LABEL_WIDTH = 220
_MARGIN = 20
_BAR_HEIGHT = 12
_GROUP_GAP = 10
_TITLE_HEIGHT = 48
_AXIS_HEIGHT = 30
_LINE_PLOT_HEIGHT = 300


def color_of(allocator: str, order: Sequence[str]) -> str:
    if allocator in COLORS:
        return COLORS[allocator]
    index = list(order).index(allocator)
    return _FALLBACK_COLORS[index % len(_FALLBACK_COLORS)]


@dataclass
class BarPanel:
    title: str
    subtitle: str
    # (row label, {allocator: value}); a missing allocator draws no bar.
    rows: List[Tuple[str, Dict[str, float]]]
    reference: float = 1.0


@dataclass
class LinePanel:
    title: str
    subtitle: str
    x_label: str
    y_label: str
    # allocator -> [(x, y)], in x order.
    series: Dict[str, List[Tuple[float, float]]] = field(default_factory=dict)


def _text(x, y, s, size=12, anchor="start", weight="normal", fill="#222"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" '
            f'text-anchor="{anchor}" font-weight="{weight}" fill="{fill}">'
            f"{html.escape(str(s))}</text>")


def _nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= value."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 < value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _ticks(top: float) -> List[float]:
    return [top * i / 5 for i in range(6)]


def _legend(x: float, y: float, allocators: Sequence[str]) -> List[str]:
    parts = []
    for allocator in allocators:
        parts.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" '
                     f'height="12" fill="{color_of(allocator, allocators)}"/>')
        parts.append(_text(x + 16, y, allocator))
        x += 30 + 8 * len(allocator)
    return parts


def _bar_panel(panel: BarPanel, allocators: Sequence[str], top: float):
    plot_left = _MARGIN + _LABEL_WIDTH
    plot_width = WIDTH - plot_left - _MARGIN - 50
    values = [v for _, row in panel.rows for v in row.values()]
    x_max = _nice_max(max(values + [panel.reference]) * 1.05)
    scale = plot_width / x_max
    parts = [_text(_MARGIN, top + 18, panel.title, size=15, weight="bold"),
             _text(_MARGIN, top + 36, panel.subtitle, size=11, fill="#555")]
    y = top + _TITLE_HEIGHT
    group_height = _BAR_HEIGHT * len(allocators) + _GROUP_GAP
    plot_top = y
    for label, row in panel.rows:
        parts.append(_text(plot_left - 8, y + group_height / 2, label,
                           anchor="end"))
        for i, allocator in enumerate(allocators):
            if allocator not in row:
                continue
            value = row[allocator]
            bar_y = y + i * _BAR_HEIGHT
            parts.append(
                f'<rect x="{plot_left}" y="{bar_y:.1f}" '
                f'width="{max(value * scale, 0.5):.1f}" '
                f'height="{_BAR_HEIGHT - 2}" '
                f'fill="{color_of(allocator, allocators)}">'
                f"<title>{html.escape(allocator)}: {value:.3g}</title></rect>")
            parts.append(_text(plot_left + value * scale + 4,
                               bar_y + _BAR_HEIGHT - 3, f"{value:.2f}",
                               size=9, fill="#444"))
        y += group_height
    plot_bottom = y
    for tick in _ticks(x_max):
        x = plot_left + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="{plot_top - 4:.1f}" '
                     f'x2="{x:.1f}" y2="{plot_bottom:.1f}" stroke="#ddd"/>')
        parts.append(_text(x, plot_bottom + 14, f"{tick:g}", size=10,
                           anchor="middle", fill="#555"))
    ref_x = plot_left + panel.reference * scale
    parts.append(f'<line x1="{ref_x:.1f}" y1="{plot_top - 4:.1f}" '
                 f'x2="{ref_x:.1f}" y2="{plot_bottom:.1f}" stroke="#000" '
                 f'stroke-dasharray="4,3"/>')
    # Grid lines first, so bars and labels draw over them.
    grid = [p for p in parts if p.startswith("<line")]
    rest = [p for p in parts if not p.startswith("<line")]
    return grid + rest, plot_bottom + _AXIS_HEIGHT - top


def _line_panel(panel: LinePanel, allocators: Sequence[str], top: float):
    plot_left = _MARGIN + 60
    plot_width = WIDTH - plot_left - _MARGIN - 20
    plot_top = top + _TITLE_HEIGHT + 16  # room for the y axis label
    plot_bottom = plot_top + _LINE_PLOT_HEIGHT
    points = [p for series in panel.series.values() for p in series]
    xs = sorted({x for x, _ in points})
    x_min, x_max = xs[0], xs[-1]
    y_max = _nice_max(max(y for _, y in points) * 1.05)

    def px(x):
        span = (x_max - x_min) or 1
        return plot_left + (x - x_min) / span * plot_width

    def py(y):
        return plot_bottom - y / y_max * _LINE_PLOT_HEIGHT

    parts = []
    for tick in _ticks(y_max):
        parts.append(f'<line x1="{plot_left}" y1="{py(tick):.1f}" '
                     f'x2="{plot_left + plot_width}" y2="{py(tick):.1f}" '
                     f'stroke="#ddd"/>')
        parts.append(_text(plot_left - 6, py(tick) + 4, f"{tick:g}", size=10,
                           anchor="end", fill="#555"))
    for x in xs:
        parts.append(_text(px(x), plot_bottom + 16, f"{x:g}", size=10,
                           anchor="middle", fill="#555"))
    parts.append(_text(plot_left + plot_width / 2, plot_bottom + 32,
                       panel.x_label, anchor="middle"))
    parts.append(_text(plot_left, plot_top - 8, panel.y_label, size=11,
                       anchor="middle", fill="#555"))
    for allocator in allocators:
        series = panel.series.get(allocator)
        if not series:
            continue
        color = color_of(allocator, allocators)
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in series)
        parts.append(f'<polyline points="{path}" fill="none" '
                     f'stroke="{color}" stroke-width="2"/>')
        for x, y in series:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" '
                         f'fill="{color}"><title>{html.escape(allocator)} '
                         f"{x:g}: {y:.3g}</title></circle>")
    parts.insert(0, _text(_MARGIN, top + 18, panel.title, size=15,
                          weight="bold"))
    parts.insert(1, _text(_MARGIN, top + 36, panel.subtitle, size=11,
                          fill="#555"))
    return parts, plot_bottom + 44 - top


def render(title: str, allocators: Sequence[str],
           panels: Sequence[object], footer: Optional[str] = None) -> str:
    """An SVG document: a title, a legend, then the panels top to bottom."""
    parts = [_text(_MARGIN, 26, title, size=18, weight="bold")]
    parts += _legend(_MARGIN, 50, allocators)
    y = 66.0
    for panel in panels:
        if isinstance(panel, BarPanel):
            panel_parts, height = _bar_panel(panel, allocators, y)
        else:
            panel_parts, height = _line_panel(panel, allocators, y)
        parts += panel_parts
        y += height + 10
    if footer:
        parts.append(_text(_MARGIN, y + 4, footer, size=10, fill="#777"))
        y += 16
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
            f'height="{y:.0f}" viewBox="0 0 {WIDTH} {y:.0f}" '
            f'font-family="sans-serif">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n'
            + "\n".join(parts) + "\n</svg>\n")

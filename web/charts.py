"""Small server-rendered SVG charts (no JavaScript, CSP-safe: presentation attributes only)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def hbar_chart(items: Sequence[tuple[str, float, str]], *, max_value: float | None = None,
               target: float | None = None, width: int = 520, unit: str = "") -> str:
    """Horizontal bars: (label, value, href). A dashed line marks the target, if any."""
    if not items:
        return '<p class="muted">暂无数据。</p>'
    row, label_w, bar_w = 26, 150, width - 150 - 70
    top = max([max_value or 0, target or 0, *(v for _, v, _ in items)]) or 1.0
    height = row * len(items) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" role="img" '
             f'class="chart" font-size="12" aria-label="{escape(", ".join(f"{n} {v:g}{unit}" for n, v, _ in items))}">']
    for i, (label, value, href) in enumerate(items):
        y = 5 + i * row
        w = max(0.0, value) / top * bar_w
        over = target is not None and value > target
        fill = "#c62828" if over and unit == "工作日" else "#1d4ed8"
        parts.append(f'<a href="{escape(href)}"><text x="{label_w - 6}" y="{y + 15}" text-anchor="end" '
                     f'fill="#1f2933">{escape(label[:14])}</text><rect x="{label_w}" y="{y + 3}" width="{w:.1f}" '
                     f'height="16" fill="{fill}" rx="2"/><text x="{label_w + w + 4:.1f}" y="{y + 15}" '
                     f'fill="#1f2933">{value:g}{escape(unit)}</text></a>')
    if target is not None:
        x = label_w + target / top * bar_w
        parts.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height}" stroke="#b45309" '
                     f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{height - 2}" fill="#b45309" '
                     f'font-size="10">目标 {target:g}{unit}</text>')
    parts.append("</svg>")
    return "".join(parts)

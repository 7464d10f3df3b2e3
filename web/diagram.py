"""Render a BPMN 2.0 process diagram as inline SVG from the file's own DI coordinates.

Only the diagram interchange (``bpmndi:BPMNShape``/``dc:Bounds``, ``bpmndi:BPMNEdge``/``di:waypoint``,
``bpmndi:BPMNLabel``) is used for geometry; the semantic model only decides *what* a shape is.
Every element becomes ``<g class="bpmn-el bpmn-<kind> state-<state>" data-element-id="...">`` with a
``<title>`` tooltip, and also carries inline presentation attributes so the SVG looks right standalone
(page CSS still wins over presentation attributes).
"""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"

NO_DI_MESSAGE = "该流程没有图形信息(DI)"
FONT_SIZE = 12
LINE_HEIGHT = 14
MARGIN = 20
INK = "#444444"
TEXT_FILL = "#222222"
FONT_FAMILY = "system-ui, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', 'Noto Sans SC', sans-serif"


@dataclass(frozen=True)
class _Style:
    fill: str
    stroke: str
    width: float
    dash: str | None = None


STATE_STYLES: dict[str, _Style] = {
    "completed": _Style("#e6f4ea", "#34a853", 2),
    "active": _Style("#fff4ce", "#e37400", 3),
    "waiting": _Style("#e8f0fe", "#1a73e8", 2, "6 3"),
    "none": _Style("#ffffff", INK, 1.5),
}

ACTIVITIES = frozenset({
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask",
    "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
})
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"})
_NO_BREAK_BEFORE = frozenset("，。、；：？！）》」』】,.;:?!)]}…")


# --------------------------------------------------------------------------- helpers

def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _char_width(ch: str) -> float:
    return 12.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 7.0


def _text_width(text: str) -> float:
    return sum(_char_width(ch) for ch in text)


def wrap_text(text: str, width: float, max_lines: int | None = None) -> list[str]:
    """Greedy wrap: CJK characters break anywhere, ASCII words only at spaces (or by char if too long)."""
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        tokens: list[str] = []
        for tok in re.findall(r"\s+|[^\s]", para):
            if tok.isspace():
                tokens.append(" ")
            elif tokens and _char_width(tok) <= 7 and tokens[-1] != " " and _char_width(tokens[-1][-1]) <= 7:
                tokens[-1] += tok  # extend the current ASCII word
            else:
                tokens.append(tok)
        line, used = "", 0.0
        for tok in [t for token in tokens for t in ([token] if _text_width(token) <= width else list(token))]:
            if tok == " ":
                if line:
                    line, used = line + " ", used + 7.0
                continue
            tok_w = _text_width(tok)
            if line.strip() and used + tok_w > width and tok not in _NO_BREAK_BEFORE:
                lines.append(line.rstrip())
                line, used = "", 0.0
            line, used = line + tok, used + tok_w
        lines.append(line.rstrip())
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max(max_lines, 1)]
        last = lines[-1]
        while last and _text_width(last) + 12 > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def _text(lines: list[str], x: float, top: float, *, halo: bool = False) -> str:
    halo_attrs = ' stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"' if halo else ""
    spans = "".join(
        f'<tspan x="{_n(x)}" y="{_n(top + 11 + i * LINE_HEIGHT)}">{_esc(line)}</tspan>' for i, line in enumerate(lines)
    )
    return f'<text text-anchor="middle" fill="{TEXT_FILL}"{halo_attrs}>{spans}</text>'


def _paint(style: _Style, width: float | None = None, dash: str | None = None) -> str:
    dash = style.dash or dash
    out = f'fill="{style.fill}" stroke="{style.stroke}" stroke-width="{_n(width or style.width)}"'
    return out + (f' stroke-dasharray="{dash}"' if dash else "")


@dataclass
class _Canvas:
    uid: str
    parts: list[str] = field(default_factory=list)
    overlay: list[str] = field(default_factory=list)  # external labels, drawn above every shape and flow
    box: list[float] = field(default_factory=lambda: [math.inf, math.inf, -math.inf, -math.inf])
    current: str = ""

    def add(self, *svg: str) -> None:
        self.parts.extend(svg)

    def extend(self, x1: float, y1: float, x2: float, y2: float) -> None:
        b = self.box
        b[0], b[1], b[2], b[3] = min(b[0], x1), min(b[1], y1), max(b[2], x2), max(b[3], y2)

    def open(self, el_id: str, classes: str, title: str) -> None:
        self.current = el_id
        self.add(f'<g class="{_esc(classes)}" data-element-id="{_esc(el_id)}"><title>{_esc(title)}</title>')

    def label(self, lines: list[str], cx: float, top: float, *, external: bool = True) -> None:
        if not any(lines):
            return
        half = max(_text_width(line) for line in lines) / 2
        self.extend(cx - half, top, cx + half, top + len(lines) * LINE_HEIGHT)
        if external:
            self.overlay.append(f'<g class="bpmn-label" data-label-for="{_esc(self.current)}">'
                                f"{_text(lines, cx, top, halo=True)}</g>")
        else:
            self.add(_text(lines, cx, top))


@dataclass
class _Shape:
    el_id: str
    el: etree._Element | None
    kind: str
    x: float
    y: float
    w: float
    h: float
    di: etree._Element
    label: tuple[float, float, float, float] | None


def _bounds(el: etree._Element | None) -> tuple[float, float, float, float] | None:
    b = el.find(f"{{{DC}}}Bounds") if el is not None else None
    if b is None:
        return None
    try:
        return float(b.get("x", 0)), float(b.get("y", 0)), float(b.get("width", 0)), float(b.get("height", 0))
    except ValueError:
        return None


def _name(el: etree._Element | None, fallback: str) -> str:
    if el is None:
        return fallback
    return (el.get("name") or el.findtext(f"{{{BPMN}}}text") or "").strip()


# --------------------------------------------------------------------------- parsing

def _parse(bpmn_xml: str | bytes) -> etree._Element:
    # Never trust uploaded XML: no entity expansion, no DTD loading, no network access.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    if isinstance(bpmn_xml, str):  # lxml refuses str input that carries an encoding declaration
        bpmn_xml = re.sub(r"^\s*<\?xml[^>]*\?>", "", bpmn_xml.lstrip("\ufeff"), count=1)
    try:
        return etree.fromstring(bpmn_xml, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"invalid BPMN XML: {exc}") from exc


def _pick_plane(root: etree._Element, process_id: str | None) -> etree._Element | None:
    planes = [p for d in root.iter(f"{{{BPMNDI}}}BPMNDiagram") if (p := d.find(f"{{{BPMNDI}}}BPMNPlane")) is not None]
    if process_id and planes:
        wanted = {process_id}
        for collab in root.iter(f"{{{BPMN}}}collaboration"):
            if any(p.get("processRef") == process_id for p in collab.iter(f"{{{BPMN}}}participant")):
                wanted.add(collab.get("id", ""))
        for plane in planes:
            if plane.get("bpmnElement") in wanted:
                return plane
    return planes[0] if planes else None


def _diagram_title(plane: etree._Element, index: dict[str, etree._Element]) -> str:
    target = index.get(plane.get("bpmnElement", ""))
    candidates = [target]
    if target is not None and _local(target) == "collaboration":
        for part in target.iter(f"{{{BPMN}}}participant"):
            candidates += [part, index.get(part.get("processRef", ""))]
    for el in candidates:
        if el is not None and el.get("name"):
            return el.get("name", "")
    return target.get("id", "BPMN") if target is not None else "BPMN"


# --------------------------------------------------------------------------- shapes

def _draw_container(c: _Canvas, s: _Shape, style: _Style, name: str) -> None:
    horizontal = s.di.get("isHorizontal", "true") != "false"
    if s.kind in ("participant", "lane"):
        fill = "#ffffff" if s.kind == "participant" else "none"
        c.add(f'<rect x="{_n(s.x)}" y="{_n(s.y)}" width="{_n(s.w)}" height="{_n(s.h)}" fill="{fill}" '
              f'stroke="{style.stroke}" stroke-width="1.5"/>')
    else:  # expanded sub-process: a big rounded box drawn beneath its children
        c.add(f'<rect x="{_n(s.x)}" y="{_n(s.y)}" width="{_n(s.w)}" height="{_n(s.h)}" rx="10" ry="10" '
              f'{_paint(style)}/>')
    if s.kind in ("participant", "lane") and horizontal:
        cx, cy = s.x + 15, s.y + s.h / 2
        line = wrap_text(name, max(s.h - 10, 12), 1)[0]
        if s.kind == "participant":  # lanes sit right of the pool's label band
            c.add(f'<line x1="{_n(s.x + 30)}" y1="{_n(s.y)}" x2="{_n(s.x + 30)}" y2="{_n(s.y + s.h)}" stroke="{INK}"/>')
        c.add(f'<text x="{_n(cx)}" y="{_n(cy)}" dy="0.35em" text-anchor="middle" fill="{TEXT_FILL}" '
              f'transform="rotate(-90 {_n(cx)} {_n(cy)})">{_esc(line)}</text>')
    elif s.kind in ("participant", "lane"):
        if s.kind == "participant":
            c.add(f'<line x1="{_n(s.x)}" y1="{_n(s.y + 30)}" x2="{_n(s.x + s.w)}" y2="{_n(s.y + 30)}" stroke="{INK}"/>')
        c.label(wrap_text(name, s.w - 10, 1), s.x + s.w / 2, s.y + 8, external=False)
    else:  # expanded sub-process: name at the top
        c.label(wrap_text(name, s.w - 10, 2), s.x + s.w / 2, s.y + 6, external=False)


def _task_icon(kind: str, x: float, y: float) -> str:
    if kind == "userTask":  # head + shoulders
        return (f'<circle cx="{_n(x + 7)}" cy="{_n(y + 4)}" r="3.2" fill="#ffffff" stroke="{INK}"/>'
                f'<path d="M{_n(x + 1)},{_n(y + 15)} v-3 a6,5 0 0 1 12,0 v3 z" fill="#ffffff" stroke="{INK}"/>')
    if kind == "scriptTask":  # a sheet with script lines
        lines = "".join(f"M{_n(x + 3)},{_n(y + 4 + 3.5 * i)} h8 " for i in range(3))
        return (f'<rect x="{_n(x + 1)}" y="{_n(y + 1)}" width="12" height="14" fill="#ffffff" stroke="{INK}"/>'
                f'<path d="{lines}" stroke="{INK}"/>')
    if kind == "serviceTask":  # gear: dashed thick ring + hub
        return (f'<circle cx="{_n(x + 7)}" cy="{_n(y + 7)}" r="5" fill="none" stroke="{INK}" stroke-width="3" '
                f'stroke-dasharray="2.2 1.73"/><circle cx="{_n(x + 7)}" cy="{_n(y + 7)}" r="3.6" fill="#ffffff" '
                f'stroke="{INK}"/><circle cx="{_n(x + 7)}" cy="{_n(y + 7)}" r="1.3" fill="{INK}"/>')
    if kind == "businessRuleTask":  # decision table
        return (f'<rect x="{_n(x)}" y="{_n(y + 2)}" width="15" height="11" fill="#ffffff" stroke="{INK}"/>'
                f'<rect x="{_n(x)}" y="{_n(y + 2)}" width="15" height="3.5" fill="{INK}"/>'
                f'<path d="M{_n(x)},{_n(y + 9)} h15 M{_n(x + 5)},{_n(y + 5.5)} v7.5" stroke="{INK}"/>')
    if kind in ("sendTask", "receiveTask"):
        fill = INK if kind == "sendTask" else "#ffffff"
        flap = "#ffffff" if kind == "sendTask" else INK
        return (f'<rect x="{_n(x)}" y="{_n(y + 2)}" width="15" height="10" fill="{fill}" stroke="{INK}"/>'
                f'<path d="M{_n(x)},{_n(y + 2)} l7.5,5 l7.5,-5" fill="none" stroke="{flap}"/>')
    return ""


def _draw_activity(c: _Canvas, s: _Shape, style: _Style, name: str) -> None:
    width = style.width + 2 if s.kind == "callActivity" else style.width
    c.add(f'<rect x="{_n(s.x)}" y="{_n(s.y)}" width="{_n(s.w)}" height="{_n(s.h)}" rx="10" ry="10" '
          f'{_paint(style, width)}/>')
    c.add(_task_icon(s.kind, s.x + 6, s.y + 5))
    bottom = s.y + s.h - 15  # bottom-centre markers are 10x10 boxes, 4px apart
    markers: list[tuple[str, float]] = []  # (path template with {x}, stroke width)
    mi = s.el.find(f"{{{BPMN}}}multiInstanceLoopCharacteristics") if s.el is not None else None
    if mi is not None:  # three bars: vertical = parallel, horizontal = sequential
        step = "M{x},%s h10 " if mi.get("isSequential") == "true" else "M{x},%s m%d,0 v10 "
        bars = [step % ((_n(bottom + 1 + 4 * i),) if "h10" in step else (_n(bottom), 1 + 4 * i)) for i in range(3)]
        markers.append(("".join(bars), 2))
    if s.el is not None and s.el.find(f"{{{BPMN}}}standardLoopCharacteristics") is not None:
        markers.append((f"M{{x}},{_n(bottom + 7)} m2,0 a4.5,4.5 0 1 1 4,2 l-3,-1 m3,1 l0,-3", 1.2))
    if s.kind in ("subProcess", "callActivity", "transaction", "adHocSubProcess"):
        markers.append((f"M{{x}},{_n(bottom)} h10 v10 h-10 z m2,5 h6 m-3,-3 v6", 1.2))
    left = s.x + s.w / 2 - (len(markers) * 14 - 4) / 2
    for i, (path, width) in enumerate(markers):
        c.add(f'<path d="{path.replace("{x}", _n(left + 14 * i))}" fill="none" stroke="{INK}" stroke-width="{width}"/>')
    usable_h = s.h - (18 if markers else 8)
    lines = wrap_text(name, s.w - 10, max(1, int(usable_h // LINE_HEIGHT)))
    c.label(lines, s.x + s.w / 2, s.y + usable_h / 2 + 2 - len(lines) * LINE_HEIGHT / 2 + 1, external=False)


def _event_glyph(el: etree._Element | None, cx: float, cy: float, r: float, throwing: bool) -> str:
    if el is None:
        return ""
    defs = {_local(d) for d in el if isinstance(d.tag, str) and d.tag.endswith("EventDefinition")}
    if "timerEventDefinition" in defs:
        k = r * 0.62
        ticks = "".join(
            f"M{_n(cx + k * 0.75 * math.cos(a))},{_n(cy + k * 0.75 * math.sin(a))} "
            f"L{_n(cx + k * math.cos(a))},{_n(cy + k * math.sin(a))} "
            for a in (i * math.pi / 6 for i in range(12))
        )
        return (f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(k)}" fill="#ffffff" stroke="{INK}" stroke-width="1.5"/>'
                f'<path d="{ticks}M{_n(cx)},{_n(cy)} l{_n(k * 0.1)},{_n(-k * 0.7)} M{_n(cx)},{_n(cy)} '
                f'l{_n(k * 0.55)},{_n(k * 0.1)}" stroke="{INK}" stroke-width="1.2" fill="none"/>')
    if "messageEventDefinition" in defs:
        w, h = r * 1.0, r * 0.7
        flap = "#ffffff" if throwing else INK
        return (f'<rect x="{_n(cx - w / 2)}" y="{_n(cy - h / 2)}" width="{_n(w)}" height="{_n(h)}" '
                f'fill="{INK if throwing else "#ffffff"}" stroke="{INK}"/><path d="M{_n(cx - w / 2)},{_n(cy - h / 2)} '
                f'L{_n(cx)},{_n(cy + h / 8)} L{_n(cx + w / 2)},{_n(cy - h / 2)}" fill="none" stroke="{flap}"/>')
    if "terminateEventDefinition" in defs:
        return f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r * 0.6)}" fill="{INK}"/>'
    if "signalEventDefinition" in defs:
        k = r * 0.55
        return (f'<path d="M{_n(cx)},{_n(cy - k)} L{_n(cx + k)},{_n(cy + k * 0.7)} L{_n(cx - k)},{_n(cy + k * 0.7)} z" '
                f'fill="{INK if throwing else "none"}" stroke="{INK}"/>')
    if defs:  # error, escalation, conditional, ...: a generic inner dot so the event is visibly "typed"
        fill = INK if throwing else "none"
        return f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r * 0.3)}" fill="{fill}" stroke="{INK}"/>'
    return ""


def _draw_event(c: _Canvas, s: _Shape, style: _Style) -> None:
    cx, cy, r = s.x + s.w / 2, s.y + s.h / 2, min(s.w, s.h) / 2
    circle = f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" '
    if s.kind == "startEvent":
        c.add(circle + _paint(style) + "/>")
    elif s.kind == "endEvent":
        c.add(circle + _paint(style, style.width + 2.5) + "/>")
    else:
        dash = "4 2" if s.el is not None and s.el.get("cancelActivity") == "false" else None
        c.add(circle + _paint(style, dash=dash) + "/>")
        c.add(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r - 3)}" fill="none" stroke="{style.stroke}" '
              f'stroke-width="1"' + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
    c.add(_event_glyph(s.el, cx, cy, r, s.kind in ("endEvent", "intermediateThrowEvent")))


def _draw_gateway(c: _Canvas, s: _Shape, style: _Style) -> None:
    cx, cy = s.x + s.w / 2, s.y + s.h / 2
    c.add(f'<path d="M{_n(cx)},{_n(s.y)} L{_n(s.x + s.w)},{_n(cy)} L{_n(cx)},{_n(s.y + s.h)} L{_n(s.x)},{_n(cy)} z" '
          f'{_paint(style)}/>')
    k = min(s.w, s.h) * 0.2
    plus = f"M{_n(cx - k)},{_n(cy)} h{_n(2 * k)} M{_n(cx)},{_n(cy - k)} v{_n(2 * k)}"
    d = 0.8 * k
    cross = f"M{_n(cx - d)},{_n(cy - d)} l{_n(2 * d)},{_n(2 * d)} M{_n(cx + d)},{_n(cy - d)} l{_n(-2 * d)},{_n(2 * d)}"
    glyph = {"exclusiveGateway": cross, "parallelGateway": plus, "complexGateway": f"{plus} {cross}"}.get(s.kind)
    if glyph:
        c.add(f'<path d="{glyph}" stroke="{INK}" stroke-width="3.5" stroke-linecap="round" fill="none"/>')
    elif s.kind == "inclusiveGateway":
        c.add(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(k * 1.1)}" fill="none" stroke="{INK}" stroke-width="2.5"/>')
    elif s.kind == "eventBasedGateway":
        pts = " ".join(f"{_n(cx + k * 0.8 * math.sin(a))},{_n(cy - k * 0.8 * math.cos(a))}"
                       for a in (i * 2 * math.pi / 5 for i in range(5)))
        c.add(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(k * 1.4)}" fill="none" stroke="{INK}"/>'
              f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(k * 1.2)}" fill="none" stroke="{INK}"/>'
              f'<path d="M{pts.replace(" ", " L")} z" fill="none" stroke="{INK}"/>')


def _draw_shape(c: _Canvas, s: _Shape, state: str) -> None:
    style = STATE_STYLES[state]
    category = ("activity" if s.kind in ACTIVITIES else "event" if s.kind in EVENTS
                else "gateway" if s.kind in GATEWAYS else "container" if s.kind in ("participant", "lane") else "other")
    name = _name(s.el, s.el_id)
    c.open(s.el_id, f"bpmn-el bpmn-{_kebab(s.kind)} bpmn-{category} state-{state}", name or s.el_id)
    c.extend(s.x, s.y, s.x + s.w, s.y + s.h)
    expanded = s.kind in ACTIVITIES and s.di.get("isExpanded") == "true"
    if s.kind in ("participant", "lane") or expanded:
        _draw_container(c, s, style, name)
    elif s.kind in ACTIVITIES:
        _draw_activity(c, s, style, name)
    elif s.kind in EVENTS or s.kind in GATEWAYS:
        (_draw_event if s.kind in EVENTS else _draw_gateway)(c, s, style)
        if s.label:  # BPMNLabel bounds from the modeller
            lx, ly, lw, lh = s.label
            lines = wrap_text(name, lw + 4)
            c.label(lines, lx + lw / 2, ly + max(0.0, (lh - LINE_HEIGHT * len(lines)) / 2))
        else:
            c.label(wrap_text(name, 100, 3), s.x + s.w / 2, s.y + s.h + 4)
    else:  # data objects, annotations, unknown types: plain rectangle
        c.add(f'<rect x="{_n(s.x)}" y="{_n(s.y)}" width="{_n(s.w)}" height="{_n(s.h)}" {_paint(style, 1)}/>')
        lines = wrap_text(name, max(s.w - 6, 24), max(1, int((s.h - 4) // LINE_HEIGHT)))
        c.label(lines, s.x + s.w / 2, s.y + s.h / 2 - len(lines) * LINE_HEIGHT / 2, external=False)
    c.add("</g>")


# --------------------------------------------------------------------------- edges

def _draw_edge(c: _Canvas, di: etree._Element, index: dict[str, etree._Element], states: Mapping[str, str]) -> None:
    el_id = di.get("bpmnElement", di.get("id", ""))
    el = index.get(el_id)
    kind = _local(el) if el is not None else "unknown"
    pts = [(float(w.get("x", 0)), float(w.get("y", 0))) for w in di.iter(f"{{{DI}}}waypoint")]
    if len(pts) < 2:
        return
    state = states.get(el_id, "none")
    state = state if state in STATE_STYLES else "none"
    name = _name(el, "")
    c.open(el_id, f"bpmn-el bpmn-{_kebab(kind)} bpmn-flow state-{state}", name or el_id)
    for x, y in pts:
        c.extend(x, y, x, y)
    stroke = STATE_STYLES[state].stroke if state != "none" else INK
    attrs = {
        "sequenceFlow": f'marker-end="url(#bpmn-arrow-{c.uid})"',
        "messageFlow": f'stroke-dasharray="6 4" marker-start="url(#bpmn-dot-{c.uid})" '
                       f'marker-end="url(#bpmn-open-arrow-{c.uid})"',
        "dataInputAssociation": f'stroke-dasharray="2 3" marker-end="url(#bpmn-open-arrow-{c.uid})"',
        "dataOutputAssociation": f'stroke-dasharray="2 3" marker-end="url(#bpmn-open-arrow-{c.uid})"',
        "association": 'stroke-dasharray="2 3"',
    }.get(kind, "")
    points = " ".join(f"{_n(x)},{_n(y)}" for x, y in pts)
    c.add(f'<polyline points="{points}" fill="none" stroke="{stroke}" stroke-width="1.5" '
          f'stroke-linejoin="round" {attrs}/>')
    source = index.get(el.get("sourceRef", "")) if el is not None else None
    if kind == "sequenceFlow" and source is not None and source.get("default") == el_id:  # default-flow slash
        (x1, y1), (x2, y2) = pts[0], pts[1]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        mx, my = x1 + ux * 10, y1 + uy * 10
        c.add(f'<path d="M{_n(mx - 5 * ux - 5 * uy)},{_n(my - 5 * uy + 5 * ux)} l{_n(10 * ux + 10 * uy)},'
              f'{_n(10 * uy - 10 * ux)}" stroke="{stroke}" stroke-width="1.5"/>')
    if name:
        label = _bounds(di.find(f"{{{BPMNDI}}}BPMNLabel"))
        if label:
            lx, ly, lw, _lh = label
            c.label(wrap_text(name, lw + 4), lx + lw / 2, ly)
        else:
            mid = len(pts) // 2
            (x1, y1), (x2, y2) = pts[mid - 1], pts[mid]
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            lines = wrap_text(name, 100, 3)
            if abs(x2 - x1) >= abs(y2 - y1):
                c.label(lines, mx, my - 4 - len(lines) * LINE_HEIGHT)
            else:
                c.label(lines, mx + 6 + max(_text_width(line) for line in lines) / 2, my - len(lines) * LINE_HEIGHT / 2)
    c.add("</g>")


# --------------------------------------------------------------------------- public API

def _svg_open(view_box: str, label: str, uid: str, width: str = "100%") -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="bpmn-diagram" data-diagram-uid="{uid}" '
            f'viewBox="{view_box}" width="{width}" role="img" aria-label="{_esc(label)}" '
            f'font-family="{_esc(FONT_FAMILY)}" font-size="{FONT_SIZE}">')


def _fallback_svg(uid: str) -> str:
    return (_svg_open("0 0 320 60", NO_DI_MESSAGE, uid)
            + f'<text x="160" y="34" text-anchor="middle" fill="#666666">{_esc(NO_DI_MESSAGE)}</text></svg>')


def render_svg(bpmn_xml: str | bytes, states: Mapping[str, str] | None = None, *, process_id: str | None = None,
               lane_labels: Mapping[str, str] | None = None, natural_size: bool = False) -> str:
    """Render the first BPMNDiagram (or the one for ``process_id``) as a standalone/inline SVG string.

    ``lane_labels`` renames lanes for display (lanes are named by role codes); ``natural_size`` draws at
    1 px per diagram unit (for a scrolling container) instead of fitting the width.

    ``states`` maps BPMN element ids to ``"completed"``, ``"active"`` or ``"waiting"``; anything else means
    "not reached" (class ``state-none``). Raises ``ValueError`` for XML that is not well-formed; a BPMN file
    without diagram interchange yields a small SVG saying so.
    """
    root = _parse(bpmn_xml)
    states = states or {}
    uid = uuid.uuid4().hex[:10]
    plane = _pick_plane(root, process_id)
    if plane is None:
        return _fallback_svg(uid)
    index = {el.get("id", ""): el for el in root.iter(f"{{{BPMN}}}*") if el.get("id")}
    for el in index.values():  # our own parsed copy: relabelling it changes nothing stored
        if lane_labels and _local(el) == "lane" and el.get("name") in lane_labels:
            el.set("name", lane_labels[el.get("name", "")])

    layers: tuple[list[_Shape], list[_Shape], list[_Shape], list[_Shape]] = ([], [], [], [])
    for di in plane.iter(f"{{{BPMNDI}}}BPMNShape"):
        bounds = _bounds(di)
        if bounds is None:
            continue
        el_id = di.get("bpmnElement", di.get("id", ""))
        el = index.get(el_id)
        kind = _local(el) if el is not None else "unknown"
        shape = _Shape(el_id, el, kind, *bounds, di=di, label=_bounds(di.find(f"{{{BPMNDI}}}BPMNLabel")))
        expanded = kind in ACTIVITIES and di.get("isExpanded") == "true"
        layer = 0 if kind == "participant" else 1 if kind == "lane" or expanded else 3 if kind == "boundaryEvent" else 2
        layers[layer].append(shape)

    canvas = _Canvas(uid)
    for shape in (s for layer in layers for s in layer):
        state = states.get(shape.el_id, "none")
        _draw_shape(canvas, shape, state if state in STATE_STYLES else "none")
    for edge in plane.iter(f"{{{BPMNDI}}}BPMNEdge"):
        _draw_edge(canvas, edge, index, states)
    if not canvas.parts:
        return _fallback_svg(uid)

    x1, y1, x2, y2 = canvas.box
    view_box = f"{_n(x1 - MARGIN)} {_n(y1 - MARGIN)} {_n(x2 - x1 + 2 * MARGIN)} {_n(y2 - y1 + 2 * MARGIN)}"
    defs = (
        f'<defs><marker id="bpmn-arrow-{uid}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" '
        f'markerHeight="10" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{INK}"/>'
        f'</marker><marker id="bpmn-open-arrow-{uid}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" '
        f'markerHeight="10" markerUnits="userSpaceOnUse" orient="auto"><path d="M1,1 L10,5 L1,9 z" fill="#ffffff" '
        f'stroke="{INK}"/></marker><marker id="bpmn-dot-{uid}" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="8" '
        f'markerHeight="8" markerUnits="userSpaceOnUse"><circle cx="5" cy="5" r="4" fill="#ffffff" stroke="{INK}"/>'
        f"</marker></defs>"
    )
    label = f"BPMN 流程图：{_diagram_title(plane, index)}"
    width = _n(x2 - x1 + 2 * MARGIN) if natural_size else "100%"
    return _svg_open(view_box, label, uid, width) + defs + "".join(canvas.parts + canvas.overlay) + "</svg>"

"""Tests for web.diagram.render_svg (BPMN DI -> inline SVG)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from web.diagram import NO_DI_MESSAGE, render_svg, wrap_text

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "dibao_example.bpmn"
SVG = "http://www.w3.org/2000/svg"
NS = {"s": SVG}
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"

MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs">
  {semantic}
  {diagrams}
</bpmn:definitions>"""


def _diagram(process: str, shapes: str) -> str:
    return (f'<bpmndi:BPMNDiagram id="D_{process}"><bpmndi:BPMNPlane id="P_{process}" bpmnElement="{process}">'
            f"{shapes}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>")


def _shape(element: str, x: int = 100, y: int = 100, w: int = 100, h: int = 80) -> str:
    return (f'<bpmndi:BPMNShape id="{element}_di" bpmnElement="{element}">'
            f'<dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}"/></bpmndi:BPMNShape>')


@pytest.fixture(scope="module")
def dibao_xml() -> bytes:
    return FIXTURE.read_bytes()


@pytest.fixture(scope="module")
def dibao_svg(dibao_xml: bytes) -> etree._Element:
    svg = render_svg(dibao_xml, {"Task_accept": "completed", "Task_home_visit": "active",
                                 "Event_publicity_timer": "waiting", "Gateway_fork": "bogus"})
    return etree.fromstring(svg.encode())


def _group(svg: etree._Element, element_id: str) -> etree._Element:
    found = svg.xpath("//s:g[@data-element-id=$id]", namespaces=NS, id=element_id)
    assert len(found) == 1, f"expected exactly one group for {element_id}, got {len(found)}"
    return found[0]


def _classes(group: etree._Element) -> set[str]:
    return set(group.get("class", "").split())


def _texts(group: etree._Element) -> list[str]:
    return ["".join(t.itertext()) for t in group.iter(f"{{{SVG}}}text")]


# --------------------------------------------------------------------------- document level

def test_output_is_wellformed_svg_with_accessible_root(dibao_svg: etree._Element) -> None:
    assert dibao_svg.tag == f"{{{SVG}}}svg"
    assert dibao_svg.get("width") == "100%"
    assert dibao_svg.get("role") == "img"
    assert "低保审批" in dibao_svg.get("aria-label", "")
    assert not dibao_svg.findall(".//s:style", NS), "a <style> element would leak into the host page"


def test_viewbox_covers_all_bounds_and_waypoints(dibao_xml: bytes, dibao_svg: etree._Element) -> None:
    src = etree.fromstring(dibao_xml)
    xs: list[float] = []
    ys: list[float] = []
    for b in src.iter(f"{{{DC}}}Bounds"):
        xs += [float(b.get("x")), float(b.get("x")) + float(b.get("width"))]
        ys += [float(b.get("y")), float(b.get("y")) + float(b.get("height"))]
    for w in src.iter("{http://www.omg.org/spec/DD/20100524/DI}waypoint"):
        xs.append(float(w.get("x")))
        ys.append(float(w.get("y")))
    vx, vy, vw, vh = (float(v) for v in dibao_svg.get("viewBox").split())
    assert vx < min(xs) and vy < min(ys)
    assert vx + vw > max(xs) and vy + vh > max(ys)
    assert vw < (max(xs) - min(xs)) + 200, "viewBox should be tight (bounds + a margin), not arbitrary"


def test_every_di_shape_and_edge_is_rendered(dibao_xml: bytes, dibao_svg: etree._Element) -> None:
    src = etree.fromstring(dibao_xml)
    expected = {s.get("bpmnElement") for s in src.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge")}
    rendered = set(dibao_svg.xpath("//s:g/@data-element-id", namespaces=NS))
    assert expected <= rendered
    for element_id in expected:  # each one has a tooltip
        assert _group(dibao_svg, element_id).find("s:title", NS) is not None
    assert _group(dibao_svg, "Task_accept").findtext("s:title", namespaces=NS) == "受理"


def test_one_polyline_per_edge_with_defined_arrow_marker(dibao_xml: bytes, dibao_svg: etree._Element) -> None:
    edges = list(etree.fromstring(dibao_xml).iter(f"{{{BPMNDI}}}BPMNEdge"))
    polylines = dibao_svg.findall(".//s:polyline", NS)
    assert len(polylines) == len(edges) == 21
    marker_ids = set(dibao_svg.xpath("//s:defs/s:marker/@id", namespaces=NS))
    for line in polylines:
        ref = re.fullmatch(r"url\(#(.+)\)", line.get("marker-end", ""))
        assert ref and ref.group(1) in marker_ids
    flow = _group(dibao_svg, "Flow_3").find("s:polyline", NS)
    assert flow.get("points") == "420,175 420,140 480,140"


def test_marker_ids_differ_between_renders(dibao_xml: bytes) -> None:
    first, second = (etree.fromstring(render_svg(dibao_xml).encode()) for _ in range(2))
    ids_1 = set(first.xpath("//s:marker/@id", namespaces=NS))
    ids_2 = set(second.xpath("//s:marker/@id", namespaces=NS))
    assert ids_1 and ids_2 and not ids_1 & ids_2


# --------------------------------------------------------------------------- states

def test_completed_state_class_and_colours(dibao_svg: etree._Element) -> None:
    group = _group(dibao_svg, "Task_accept")
    assert {"bpmn-el", "bpmn-user-task", "state-completed"} <= _classes(group)
    rect = group.find("s:rect", NS)
    assert (rect.get("fill"), rect.get("stroke")) == ("#e6f4ea", "#34a853")


def test_active_state_is_highlighted(dibao_svg: etree._Element) -> None:
    group = _group(dibao_svg, "Task_home_visit")
    assert "state-active" in _classes(group)
    rect = group.find("s:rect", NS)
    assert (rect.get("fill"), rect.get("stroke"), rect.get("stroke-width")) == ("#fff4ce", "#e37400", "3")
    assert len(dibao_svg.xpath("//s:g[contains(@class, 'state-active')]", namespaces=NS)) == 1


def test_waiting_state_is_dashed_blue(dibao_svg: etree._Element) -> None:
    group = _group(dibao_svg, "Event_publicity_timer")
    assert {"bpmn-boundary-event", "state-waiting"} <= _classes(group)
    outer = group.find("s:circle", NS)
    assert outer.get("stroke") == "#1a73e8" and outer.get("stroke-dasharray")


def test_unreached_and_unknown_states_use_default_style(dibao_svg: etree._Element) -> None:
    for element_id in ("Task_calc", "Gateway_fork"):  # absent / "bogus"
        group = _group(dibao_svg, element_id)
        assert "state-none" in _classes(group)
        assert not _classes(group) & {"state-active", "state-completed", "state-waiting", "state-bogus"}
    rect = _group(dibao_svg, "Task_calc").find("s:rect", NS)
    assert rect.get("fill") == "#ffffff" and rect.get("stroke") == "#444444"


# --------------------------------------------------------------------------- shapes

def test_pool_and_lanes_are_drawn_with_rotated_names(dibao_svg: etree._Element) -> None:
    containers = {"Participant_dibao": "低保审批", "Lane_township": "township", "Lane_county": "county"}
    for element_id, name in containers.items():
        group = _group(dibao_svg, element_id)
        assert group.find("s:rect", NS) is not None
        text = group.find("s:text", NS)
        assert text is not None and "".join(text.itertext()) == name
        assert text.get("transform", "").startswith("rotate(-90")
    assert "bpmn-lane" in _classes(_group(dibao_svg, "Lane_county"))


def test_task_kinds_get_distinct_classes_and_icons(dibao_svg: etree._Element) -> None:
    def icon_signature(element_id: str) -> list[str]:
        group = _group(dibao_svg, element_id)
        names = [etree.QName(child).localname for child in group]
        return [name for name in names if name not in ("title", "text")]

    kinds = {
        "Task_accept": "bpmn-user-task",
        "Task_calc": "bpmn-script-task",
        "Task_eligibility": "bpmn-business-rule-task",
    }
    for element_id, css in kinds.items():
        assert css in _classes(_group(dibao_svg, element_id))
        assert len(icon_signature(element_id)) > 1, f"{element_id} has no icon"
    signatures = {tuple(icon_signature(element_id)) for element_id in kinds}
    assert len(signatures) == 3, "user / script / business-rule icons should differ"


def test_multi_instance_marker_only_on_multi_instance_task(dibao_svg: etree._Element) -> None:
    def bar_paths(element_id: str) -> list[str]:
        return [p.get("d") for p in _group(dibao_svg, element_id).findall("s:path", NS) if p.get("d").count("v10") == 3]

    assert len(bar_paths("Task_member_check")) == 1
    assert bar_paths("Task_home_visit") == []


def test_events_and_gateways(dibao_svg: etree._Element) -> None:
    start = _group(dibao_svg, "StartEvent_apply").find("s:circle", NS)
    end = _group(dibao_svg, "EndEvent_approved").find("s:circle", NS)
    assert float(end.get("stroke-width")) > float(start.get("stroke-width"))
    timer = _group(dibao_svg, "Event_publicity_timer")
    assert len(timer.findall("s:circle", NS)) >= 3, "double circle plus a clock face"
    fork = _group(dibao_svg, "Gateway_fork")
    assert "bpmn-parallel-gateway" in _classes(fork)
    diamond, glyph = fork.findall("s:path", NS)[:2]
    assert diamond.get("d").endswith("z") and "h" in glyph.get("d") and "v" in glyph.get("d")
    assert "bpmn-exclusive-gateway" in _classes(_group(dibao_svg, "Gateway_approved"))


def test_cjk_task_names_wrap_inside_the_box(dibao_svg: etree._Element) -> None:
    text = _group(dibao_svg, "Task_calc").find("s:text", NS)
    lines = [span.text for span in text.findall("s:tspan", NS)]
    assert len(lines) == 2 and "".join(lines) == "计算人均收入与月补助"
    assert all(len(line) * 12 <= 90 for line in lines)


def test_labels_use_bpmnlabel_bounds(dibao_svg: etree._Element) -> None:
    label = dibao_svg.xpath("//s:g[@data-label-for='Gateway_approved']//s:tspan", namespaces=NS)
    assert [s.text for s in label] == ["审核通过?"]
    assert float(label[0].get("x")) == 1470 + 60 / 2  # centred in its BPMNLabel bounds
    flow = dibao_svg.xpath("//s:g[@data-label-for='Flow_10']//s:tspan", namespaces=NS)
    assert [s.text for s in flow] == ["委托"] and float(flow[0].get("x")) == 1040 + 24 / 2


def test_default_flow_gets_a_slash(dibao_svg: etree._Element) -> None:
    assert _group(dibao_svg, "Flow_11").find("s:path", NS) is not None  # default of Gateway_delegated
    assert _group(dibao_svg, "Flow_10").find("s:path", NS) is None


# --------------------------------------------------------------------------- robustness

def test_names_are_escaped(dibao_xml: bytes) -> None:
    nasty = 'a <b> & "c" </text><script>x</script>'
    attr = nasty.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    xml = dibao_xml.replace('name="受理"'.encode(), f'name="{attr}"'.encode())
    svg = render_svg(xml)
    assert "<script>" not in svg
    root = etree.fromstring(svg.encode())
    group = _group(root, "Task_accept")
    assert group.findtext("s:title", namespaces=NS) == nasty
    assert "".join(_texts(group)).replace(" ", "") == nasty.replace(" ", "")


def test_str_input_with_encoding_declaration(dibao_xml: bytes) -> None:
    svg = render_svg(dibao_xml.decode("utf-8"), {"Task_accept": "active"})
    assert "state-active" in _classes(_group(etree.fromstring(svg.encode()), "Task_accept"))


def test_file_without_di_returns_fallback_svg(dibao_xml: bytes) -> None:
    root = etree.fromstring(dibao_xml)
    for diagram in root.findall(f"{{{BPMNDI}}}BPMNDiagram"):
        root.remove(diagram)
    svg = render_svg(etree.tostring(root))
    parsed = etree.fromstring(svg.encode())
    assert parsed.tag == f"{{{SVG}}}svg"
    assert NO_DI_MESSAGE in "".join(parsed.itertext())
    assert parsed.find(".//s:g", NS) is None


def test_invalid_xml_raises_value_error() -> None:
    with pytest.raises(ValueError):
        render_svg(b"<bpmn:definitions")


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    doctype = f'<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
    semantic = ('<bpmn:process id="p1"><bpmn:task id="t1" name="x"/>'
                '<bpmn:textAnnotation id="a1"><bpmn:text>&xxe;</bpmn:text></bpmn:textAnnotation></bpmn:process>')
    xml = MINIMAL.format(semantic=semantic, diagrams=_diagram("p1", _shape("t1") + _shape("a1", x=300)))
    xml = xml.replace("?>", "?>" + doctype, 1)
    svg = render_svg(xml)
    assert "TOP-SECRET-VALUE" not in svg
    etree.fromstring(svg.encode())


def test_unknown_element_types_are_plain_rectangles() -> None:
    semantic = '<bpmn:process id="p1"><bpmn:dataStoreReference id="ds1" name="档案库"/></bpmn:process>'
    xml = MINIMAL.format(semantic=semantic, diagrams=_diagram("p1", _shape("ds1") + _shape("ghost", x=300)))
    root = etree.fromstring(render_svg(xml).encode())
    for element_id in ("ds1", "ghost"):
        group = _group(root, element_id)
        assert group.find("s:rect", NS) is not None and group.find("s:rect", NS).get("rx") is None
    assert _texts(_group(root, "ds1")) == ["档案库"]


def test_process_id_selects_its_diagram() -> None:
    semantic = ('<bpmn:process id="p1"><bpmn:task id="t1" name="one"/></bpmn:process>'
                '<bpmn:process id="p2"><bpmn:task id="t2" name="two"/></bpmn:process>')
    xml = MINIMAL.format(semantic=semantic, diagrams=_diagram("p1", _shape("t1")) + _diagram("p2", _shape("t2")))

    def ids(svg: str) -> set[str]:
        return set(etree.fromstring(svg.encode()).xpath("//s:g/@data-element-id", namespaces=NS))

    assert ids(render_svg(xml)) == {"t1"}
    assert ids(render_svg(xml, process_id="p2")) == {"t2"}
    assert ids(render_svg(xml, process_id="nope")) == {"t1"}


def test_process_id_matches_collaboration_plane(dibao_xml: bytes) -> None:
    root = etree.fromstring(render_svg(dibao_xml, process_id="dibao_approval").encode())
    assert _group(root, "Task_accept") is not None


def test_wrap_text_keeps_ascii_words_and_breaks_cjk() -> None:
    assert wrap_text("Review the application", 90) == ["Review the", "application"]
    assert wrap_text("家庭成员核对", 50) == ["家庭成员", "核对"]
    assert wrap_text("一二三四五六七，八九", 84) == ["一二三四五六七，", "八九"]  # no line starts with "，"
    truncated = wrap_text("一" * 40, 90, 2)
    assert len(truncated) == 2 and truncated[-1].endswith("…")

"""The checklist's evidence item kind (workflows.common.checklist): photos / files given as attachment ids, never a
finding; a required evidence item without a file makes the checklist incomplete; bad templates are refused."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.common.checklist import ChecklistError, check_template, evaluate, evidence_ids

TEMPLATE: dict[str, Any] = {
    "code": "t", "version": 1, "title": "t",
    "items": [
        {"code": "books", "kind": "check", "label": "账簿规范"},
        {"code": "photos", "kind": "evidence", "label": "现场照片", "accept": ["jpg", "png"], "max_files": 2},
        {"code": "extra", "kind": "evidence", "label": "其他材料", "required": False},
    ],
}


def test_required_evidence_missing_is_an_incomplete_checklist() -> None:
    for answer in (None, []):
        answers: dict[str, Any] = {"books": {"ok": True}}
        if answer is not None:
            answers["photos"] = answer
        with pytest.raises(ChecklistError, match="以下项目缺少佐证材料:现场照片"):
            evaluate(TEMPLATE, answers)
    # both kinds of gap are named in one message
    with pytest.raises(ChecklistError, match="未填写:账簿规范;以下项目缺少佐证材料:现场照片"):
        evaluate(TEMPLATE, {})


def test_evidence_is_never_a_finding_and_optional_evidence_may_be_absent() -> None:
    assert evaluate(TEMPLATE, {"books": {"ok": True}, "photos": [7]}) == []
    findings = evaluate(TEMPLATE, {"books": {"ok": False, "note": "缺凭证"}, "photos": [7, 8], "extra": [9]})
    assert [f.item for f in findings] == ["books"]
    assert evidence_ids(TEMPLATE, {"photos": [7, 8], "extra": [9], "books": {"ok": True}}) == [7, 8, 9]


@pytest.mark.parametrize("answer", [["7"], [0], [True], "7", [1.5], {"id": 7}])
def test_evidence_must_be_attachment_ids(answer: Any) -> None:
    with pytest.raises(ChecklistError, match="attachment ids"):
        evaluate(TEMPLATE, {"books": {"ok": True}, "photos": answer})


def test_more_files_than_allowed_are_refused() -> None:
    with pytest.raises(ChecklistError, match="最多 2 个文件"):
        evaluate(TEMPLATE, {"books": {"ok": True}, "photos": [1, 2, 3]})


@pytest.mark.parametrize("item, message", [
    ({"accept": []}, "accept"), ({"accept": "jpg"}, "accept"), ({"accept": ["../x"]}, "accept"),
    ({"required": "yes"}, "required"), ({"max_files": 0}, "max_files"), ({"max_files": "3"}, "max_files"),
])
def test_bad_evidence_items_are_refused(item: dict[str, Any], message: str) -> None:
    template = {**TEMPLATE, "items": [{"code": "p", "kind": "evidence", "label": "照片", **item}]}
    with pytest.raises(ChecklistError, match=message):
        check_template(template)

"""Personal ID numbers in generic views: any field named ``*id_number`` (公民身份号码) is shown masked
(510102********1234) on task and instance pages and in the instance API, at any depth. The full number is only in
a procedure's own case file, which checks who may see it and logs each view (低保: /dibao/cases/{id})."""

from __future__ import annotations

from typing import Any

from engine.idnumber import mask_id_number as mask_id


def mask_id_numbers(data: Any) -> Any:
    """A copy of `data` with every string under a key ending in ``id_number`` masked."""
    if isinstance(data, dict):
        return {k: mask_id(v) if isinstance(k, str) and k.endswith("id_number") and isinstance(v, str)
                else mask_id_numbers(v) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_id_numbers(item) for item in data]
    return data

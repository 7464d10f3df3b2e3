"""公民身份号码 (GB 11643-1999) for 低保: validation and masking live in engine/idnumber.py (which also registers
the ``gb11643`` form format); re-exported here for the 低保 modules."""

from __future__ import annotations

from engine.idnumber import check_character, is_valid_id_number, mask_id_number

__all__ = ["check_character", "is_valid_id_number", "mask_id_number"]

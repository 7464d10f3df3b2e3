"""Any list as an XLSX download (openpyxl)."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from starlette.responses import Response


def xlsx_response(filename: str, title: str, headers: list[str], rows: list[list[Any]]) -> Response:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    ws.append(headers)
    for row in rows:
        ws.append([str(v) if v is not None and not isinstance(v, int | float) else v for v in row])
    buffer = io.BytesIO()
    wb.save(buffer)
    return Response(buffer.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})

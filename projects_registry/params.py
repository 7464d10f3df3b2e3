"""Every tunable number of the project library, in one place.

The defaults below are the DOMAIN.md values; a city changes them without a deploy by writing a row to
`ProjectParameter` (key → JSON value). `load_parameters()` merges the two, so the pure rules in
`projects_registry.rules` always receive one `Parameters` object and never read the database themselves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from projects_registry.models import ProjectParameter


def _d(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class Parameters:
    # 评审入库: rubric criteria and their weights (any positive numbers; normalised by their sum)
    rubric_weights: dict[str, Decimal] = field(default_factory=lambda: {
        "policy_fit": Decimal(20), "compliance": Decimal(15), "feasibility": Decimal(20),
        "readiness": Decimal(15), "cost": Decimal(15), "targets": Decimal(15)})
    entry_threshold: Decimal = Decimal(70)  # mean weighted score ≥ this: 入库
    # 储备: a project in the reserve this many years without release is flagged for removal (动态调整)
    stale_years: int = 3
    # 绩效评价: weights of the four parts (sum 100) and the grade floors
    evaluation_weights: dict[str, Decimal] = field(default_factory=lambda: {
        "budget_execution": Decimal(10), "outputs": Decimal(50), "outcomes": Decimal(30),
        "satisfaction": Decimal(10)})
    grade_floors: dict[str, Decimal] = field(default_factory=lambda: {
        "优": Decimal(90), "良": Decimal(80), "中": Decimal(60)})
    # 运行监控: warn when execution lags the share of the period elapsed by more than this many points
    monitor_tolerance: Decimal = Decimal(20)

    def to_json(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            if isinstance(v, Decimal):
                return float(v) if v != v.to_integral() else int(v)
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            return v

        return {k: plain(v) for k, v in asdict(self).items()}


PARAMETER_LABELS: dict[str, str] = {
    "rubric_weights": "评审评分项权重", "entry_threshold": "入库分数线", "stale_years": "储备超期年限(年)",
    "evaluation_weights": "绩效评价权重", "grade_floors": "等级分数线", "monitor_tolerance": "运行监控容差(百分点)",
}


def coerce(key: str, value: Any) -> Any:
    """A JSON value for `key`, typed as the dataclass field expects; ValueError with a Chinese message if invalid."""
    defaults = Parameters()
    current = getattr(defaults, key, None)
    if current is None and key not in {f.name for f in fields(Parameters)}:
        raise ValueError(f"未知参数:{key}")
    try:
        if isinstance(current, dict):
            if not isinstance(value, dict) or set(value) != set(current):
                raise ValueError(f"须包含且仅包含以下各项:{'、'.join(current)}")
            out = {k: _d(v) for k, v in value.items()}
            if any(v < 0 or not v.is_finite() for v in out.values()):
                raise ValueError("各项须为非负数")
            if key in ("rubric_weights", "evaluation_weights") and sum(out.values()) <= 0:
                raise ValueError("权重之和须大于 0")
            return out
        if isinstance(current, int):
            n = int(value)
            if n < 1:
                raise ValueError("须为正整数")
            return n
        d = _d(value)
        if not d.is_finite() or d < 0 or d > 100:
            raise ValueError("须为 0 到 100 之间的数")
        return d
    except (ArithmeticError, TypeError) as exc:
        raise ValueError("数值格式无效") from exc


async def load_parameters() -> Parameters:
    params = Parameters()
    overrides = {}
    for row in await ProjectParameter.all():
        try:
            overrides[row.key] = coerce(row.key, row.value)
        except ValueError:
            continue  # a bad stored row never breaks the library; the admin page shows the default in force
    return replace(params, **overrides)


async def save_parameter(key: str, value: Any, *, actor: str, now: datetime) -> None:
    coerce(key, value)
    await ProjectParameter.update_or_create(key=key, defaults={"value": value, "updated_by": actor, "updated_at": now})

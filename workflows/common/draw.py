"""The verifiable random draw of 双随机、一公开: random targets, random inspectors, reproducible by anyone.

A draw is fully determined by a recorded seed and the population snapshot: every candidate id is
ranked by sha256(seed ‖ "|" ‖ id) and the first k = ceil(ratio × N) are taken. Publishing the seed,
the population hash, the ratio and k lets anyone re-run the draw and get the same selection.

Inspectors are ranked per target with sha256(seed ‖ "|" ‖ target ‖ "|" ‖ inspector), so each target
gets its own reproducible order; a declared conflict of interest (recusal) skips that inspector and
the next one in the same order is taken — the redraw is as verifiable as the draw.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


def new_seed() -> str:
    return secrets.token_hex(16)


def population_hash(ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(ids))).encode()).hexdigest()


def _rank_key(seed: str, *parts: str) -> str:
    return hashlib.sha256("|".join((seed, *parts)).encode()).hexdigest()


def sample_size(ratio: float, population: int) -> int:
    if not 0 < ratio <= 1:
        raise ValueError("ratio must be in (0, 1]")
    return min(population, math.ceil(round(ratio * population, 9)))


@dataclass(frozen=True)
class TargetDraw:
    seed: str
    population_hash: str
    population_size: int
    ratio: float
    k: int
    selected: list[str]


def draw_targets(seed: str, population: Sequence[str], ratio: float) -> TargetDraw:
    ids = sorted(set(population))
    k = sample_size(ratio, len(ids))
    ranked = sorted(ids, key=lambda i: _rank_key(seed, i))
    return TargetDraw(seed, population_hash(ids), len(ids), ratio, k, ranked[:k])


def verify_targets(result: TargetDraw, population: Sequence[str]) -> bool:
    """Re-run the draw on a population snapshot; True only if it reproduces the recorded result."""
    if population_hash(population) != result.population_hash:
        return False
    again = draw_targets(result.seed, population, result.ratio)
    return again.k == result.k and again.selected == result.selected


@dataclass(frozen=True)
class InspectorAssignment:
    target: str
    inspectors: list[str]
    recused: list[str] = field(default_factory=list)  # skipped for a declared conflict of interest


def draw_inspectors(seed: str, targets: Sequence[str], inspectors: Sequence[str], per_target: int = 2,
                    conflicts: Mapping[str, Iterable[str]] | None = None) -> list[InspectorAssignment]:
    """Per target, the first `per_target` inspectors in that target's ranking who have no conflict with it."""
    if per_target < 1:
        raise ValueError("per_target must be at least 1")
    conflicts = conflicts or {}
    pool = sorted(set(inspectors))
    out = []
    for target in targets:
        blocked = set(conflicts.get(target, ()))
        ranked = sorted(pool, key=lambda i: _rank_key(seed, target, i))
        chosen = [i for i in ranked if i not in blocked][:per_target]
        if len(chosen) < per_target:
            raise ValueError(f"target {target}: only {len(chosen)} inspectors without a conflict, "
                             f"{per_target} needed")
        recused = [i for i in ranked[: ranked.index(chosen[-1]) + 1] if i in blocked]
        out.append(InspectorAssignment(target, chosen, recused))
    return out

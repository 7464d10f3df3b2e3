"""Benchmark: annual-inspection campaign launch over the 1,650-organization demo register.

    .venv/bin/python bench/social_org_launch.py [database-url] [--no-listeners] [--count-queries]
                                                                          (default: a fresh SQLite file)

Prints figures; asserts nothing. Wall time depends on what else the machine runs; the CPU time of this process
and (with --count-queries, which logs every statement and so runs slower) the statements per instance do not.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.clock import Clock  # noqa: E402
from engine.db import close_database, init_database, migrate_database  # noqa: E402
from engine.models import OrgUnit  # noqa: E402
from engine.runtime import Engine  # noqa: E402
from engine.specs import read_directory, validate_bundle  # noqa: E402
from web.composition import db_config  # noqa: E402
from web.demo import seed_org_tree  # noqa: E402
from workflows.common.draw import draw_targets  # noqa: E402
from workflows.social_org import campaign, demo, listeners  # noqa: E402

BPMN = Path(__file__).resolve().parents[1] / "bpmn"


class _StatementCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.n = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.n += 1


async def main(url: str) -> None:
    config = db_config(url)
    await migrate_database(config)
    await init_database(config)
    try:
        await seed_org_tree()
        engine = Engine(clock=Clock())
        if "--no-listeners" not in sys.argv:
            listeners.register(engine)  # as the app installs them: the projection runs inside each start
        bpmn, dmn, forms = read_directory(BPMN)
        name = "social_org_annual_inspection.bpmn"
        await engine.specs.deploy(validate_bundle(name, bpmn[name], dmn, forms), clock=engine.clock)
        print(await demo.seed(engine))
        city = await OrgUnit.get(code="511400")
        c = await campaign.open_campaign(2025, city, "bench")
        statements = _StatementCounter()
        if "--count-queries" in sys.argv:
            logging.getLogger("tortoise.db_client").setLevel(logging.DEBUG)
            logging.getLogger("tortoise.db_client").addHandler(statements)
        began, cpu = time.perf_counter(), time.process_time()
        c = await campaign.launch(engine, c.id, actor="bench")
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        logging.getLogger("tortoise.db_client").removeHandler(statements)
        counted = f", {statements.n / max(c.launched, 1):.1f} statements per instance" if statements.n else ""
        print(f"campaign launch: {c.launched} instances ({c.exempt} exempt) in {wall:.2f} s "
              f"(CPU {cpu:.2f} s{counted}) [{url.split(':')[0]}]")
        ids = [f"ORG{i:06d}" for i in range(100_000)]
        began = time.perf_counter()
        result = draw_targets("bench-seed", ids, 0.04)
        print(f"draw 4% of 100,000: k={result.k} in {time.perf_counter() - began:.3f} s")
    finally:
        await close_database()


if __name__ == "__main__":
    default = f"sqlite://{tempfile.mkdtemp(prefix='so-bench-')}/bench.db"
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(main(args[0] if args else default))

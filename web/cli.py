"""The `civicflow` command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from engine.clock import Clock
from engine.config import Settings
from engine.db import close_database, init_database, migrate_database
from engine.errors import DeploymentError
from web.composition import db_config

log = logging.getLogger("civicflow")


async def _with_db(settings: Settings, fn, *args):  # type: ignore[no-untyped-def]
    config = db_config(settings.database_url)
    await init_database(config)
    try:
        return await fn(*args)
    finally:
        await close_database()


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(migrate_database(db_config(settings.database_url)))
    print(f"database migrated: {settings.database_url.split('@')[-1]}")
    return 0


async def deploy_files(settings: Settings, files: Sequence[Path]) -> int:
    from engine.specs import SpecRegistry, read_directory, validate_bundle

    registry, clock, failures = SpecRegistry(), Clock(), 0
    for path in files:
        if path.suffix != ".bpmn":
            continue  # DMN files and forms are deployed with the BPMN file that references them
        _, dmn, forms = read_directory(settings.bpmn_dir)
        _, local_dmn, local_forms = read_directory(path.parent)
        try:
            content = path.read_bytes()
            bundle = validate_bundle(path.name, content, {**dmn, **local_dmn}, {**forms, **local_forms})
            for row, created in await registry.deploy(bundle, clock=clock, actor="cli"):
                print(f"{'deployed' if created else 'unchanged'}: {row.key} v{row.version} ({path.name})")
        except (DeploymentError, OSError) as exc:
            failures += 1
            print(f"error: {exc}", file=sys.stderr)
    return 1 if failures else 0


def cmd_deploy(settings: Settings, args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files] or sorted(settings.bpmn_dir.glob("*.bpmn"))
    return asyncio.run(_with_db(settings, deploy_files, settings, files))


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from web.app import create_app

    app = create_app(settings, scheduler_interval=None if args.no_scheduler else 5.0)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=False)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from engine.calendar import load_calendar
    from engine.runtime import Engine
    from web.app import scheduler_loop

    async def run() -> None:
        from web.composition import install_workflows
        from web.notify import install_mailer

        engine = Engine()
        engine.calendar = await load_calendar(settings.timezone)
        mailer = install_mailer(engine)  # escalation notices are e-mailed from here too when SMTP is configured
        try:
            await scheduler_loop(engine, args.interval, await install_workflows(engine))
        finally:
            if mailer is not None:
                await mailer.flush()

    try:
        asyncio.run(_with_db(settings, run))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from web import demo

    cmd_migrate(settings, args)

    async def seed() -> None:
        await deploy_files(settings, sorted(settings.bpmn_dir.glob("*.bpmn")))
        for line in await demo.seed_all():
            print(line)

    asyncio.run(_with_db(settings, seed))
    if args.no_serve:
        return 0
    return cmd_serve(settings, args)


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    from web.admin import create_user

    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")

    async def add() -> int:
        user, errors = await create_user(args.username, args.name or args.username, password, args.org_unit,
                                         args.role)
        if user is None:
            for field, message in errors.items():
                print(f"error: {field}: {message}", file=sys.stderr)
            return 1
        print(f"user {user.username} created in {user.org_unit_id} with roles {', '.join(user.roles)}")
        return 0

    return asyncio.run(_with_db(settings, add))


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from engine.audit import verify_chain

    report = asyncio.run(_with_db(settings, verify_chain))
    if report.ok:
        print(f"audit chain intact: {report.checked} events")
        return 0
    print(f"audit chain BROKEN at event {report.broken_at}: {report.reason} ({report.checked} events verified "
          "before it)", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="civicflow", description="CivicFlow 民政业务流程平台. Configuration: CIVICFLOW_DATABASE_URL, "
        "CIVICFLOW_DATA_DIR, CIVICFLOW_SECRET_KEY, CIVICFLOW_BPMN_DIR (see README).")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the committed database migrations").set_defaults(fn=cmd_migrate)
    p = sub.add_parser("deploy", help="validate and deploy BPMN files (default: every file in bpmn/); a file "
                       "whose content is unchanged keeps its version")
    p.add_argument("files", nargs="*", help="BPMN files; DMN and forms are taken from bpmn/ and the file's folder")
    p.set_defaults(fn=cmd_deploy)
    for name, help_text, fn in (("serve", "run the web server (with the timer scheduler in-process)", cmd_serve),
                                ("demo", "migrate, seed demo org tree/users/instances, deploy bpmn/, then serve",
                                 cmd_demo)):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.add_argument("--no-scheduler", action="store_true", help="do not wake timers in this process")
        if name == "demo":
            p.add_argument("--no-serve", action="store_true", help="seed only, do not start the server")
        p.set_defaults(fn=fn)
    p = sub.add_parser("worker", help="run the timer scheduler standalone (several may run on PostgreSQL)")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between sweeps")
    p.set_defaults(fn=cmd_worker)
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    p = user.add_parser("add", help="create a user; the password is read from standard input")
    p.add_argument("username")
    p.add_argument("--role", action="append", required=True, help="role code, repeatable (e.g. admin)")
    p.add_argument("--org-unit", required=True, help="org unit code, e.g. 511400")
    p.add_argument("--name", help="display name (default: the username)")
    p.set_defaults(fn=cmd_user_add)
    audit = sub.add_parser("audit", help="audit trail").add_subparsers(dest="audit_command", required=True)
    audit.add_parser("verify", help="recompute the hash chain and report the first broken link").set_defaults(
        fn=cmd_audit_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("spiff").setLevel(logging.WARNING)  # Spiff logs every task state change at INFO
    args = build_parser().parse_args(argv)
    return int(args.fn(Settings.from_env(), args) or 0)


if __name__ == "__main__":
    sys.exit(main())

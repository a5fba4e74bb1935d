"""The `lapor-gateway` command: serve, worker, migrate, create-admin, seed-demo and operations."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlmodel import col

from config.settings import Settings, SettingsError, load_settings, local_base_url
from gateway.admin.accounts import AccountError, create_user
from gateway.context import Gateway
from gateway.outbox.payloads import ChannelPayload
from gateway.store.db import Database
from gateway.store.migrate import upgrade
from gateway.store.models import Agency, Role


def _gateway(settings: Settings) -> Gateway:
    return Gateway.create(settings)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    db = Database(settings.database_url)
    upgrade(db.engine)
    db.dispose()
    print(f"database is up to date ({db.engine.url.render_as_string(hide_password=True)})")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from gateway import logs
    from gateway.app import create_app

    logs.configure(settings.log_level, settings.log_format)
    if args.jobs is not None:
        # --jobs / --no-jobs win over SCHEDULER_ENABLED for this process.
        settings = settings.model_copy(update={"scheduler_enabled": args.jobs})
    host, port = args.host or settings.host, args.port or settings.port
    if settings.public_base_url == local_base_url(settings.host, settings.port):
        # PUBLIC_BASE_URL was left to follow HOST and PORT: it follows --host and --port too.
        settings = settings.model_copy(update={"public_base_url": local_base_url(host, port)})
    base = settings.public_base_url
    workers = args.workers or 1
    if workers > 1:
        if settings.scheduler_enabled:
            print(
                "--workers N needs --no-jobs (and `lapor-gateway worker` beside it): the jobs "
                "run in one process, not in every web process",
                file=sys.stderr,
            )
            return 2
        # uvicorn's own worker processes share the listening socket; each builds the app
        # from the environment (the factory), so what the flags changed goes there.
        os.environ["SCHEDULER_ENABLED"] = "false"
        os.environ["PUBLIC_BASE_URL"] = base
        print(f"lapor-gateway on {base}/lapor  (admin: {base}/admin), {workers} processes")
        uvicorn.run(
            "gateway.app:web_process",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_config=None,
            proxy_headers=True,
            access_log=settings.access_log,
            # uvicorn restarts a worker process that does not answer its ping within this
            # time; its default (5 s) killed busy but healthy workers under a flood on a loaded
            # machine, each restart costing a second of imports (measured, issue 12).
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )
        return 0
    app = create_app(settings)
    print(f"lapor-gateway on {base}/lapor  (admin: {base}/admin)")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=True,
        access_log=settings.access_log,
    )
    return 0


WORKER_HEALTHCHECK_SECONDS = 60


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """The background jobs without the web: outbox dispatch, inbound processing, attachment
    downloads, and — on whichever worker leads — core polling, Telegram polling, the pollers,
    the sweeps and the digest. Run as many as wanted against one PostgreSQL; SIGTERM or
    Ctrl-C stops one cleanly (its claims expire or are released, another takes over)."""
    import signal

    from gateway import logs
    from gateway.dev import demo
    from gateway.jobs.scheduler import Scheduler, worker_id

    logs.configure(settings.log_level, settings.log_format)
    if settings.worker_nice:
        # Acks first: the web processes beside this worker get the CPU during a flood.
        os.nice(settings.worker_nice)
    gateway = _gateway(demo.demo_settings(settings))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        scheduler = Scheduler(gateway, poll_inbound=True)
        scheduler.start()
        # What was stored before a crash goes to the inbound threads (a reporter's messages
        # in order, on one thread), not processed beside them.
        resumed = asyncio.create_task(scheduler.resume_all_inbound())
        print(f"lapor-gateway worker {worker_id()} running (Ctrl-C stops it)", flush=True)
        try:
            await stop.wait()
        finally:
            scheduler.shutdown()
            await scheduler.stopped()
            await asyncio.gather(resumed, return_exceptions=True)
            gateway.db.dispose()

    asyncio.run(run())
    return 0


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    password = args.password or getpass.getpass("Password: ")
    gateway = _gateway(settings)
    with gateway.db.session() as session:
        agency_id = None
        if args.agency:
            agency_id = session.scalar(
                select(col(Agency.id)).where(col(Agency.code) == args.agency)
            )
            if agency_id is None:
                print(f"unknown agency code {args.agency!r}", file=sys.stderr)
                return 2
        try:
            user = create_user(
                session,
                args.username,
                password,
                role=Role(args.role),
                display_name=args.name or "",
                agency_id=agency_id,
            )
        except AccountError as exc:
            print(f"cannot create the account: {exc}", file=sys.stderr)
            return 2
        session.commit()
    print(f"created {user.role} {user.username!r}")
    return 0


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.dev.seed import seed_demo

    result = seed_demo(_gateway(settings), reset_passwords=args.reset_passwords)
    print(
        f"demo data: {result['agencies']} agencies, {result['liaisons']} liaison officers, "
        f"{result['complaints']} complaints added"
    )
    for login in result["logins"]:  # type: ignore[attr-defined]
        who = "demo admin login" if login.role is Role.KOORDINATOR else "demo liaison login (DPUPR)"
        if login.password:
            print(f"{who}: {login.username} / {login.password}")
        else:
            print(
                f"{who}: {login.username} (its password is not the one kept for this database; "
                "`lapor-gateway seed-demo --reset-passwords` gives the demo accounts new ones)"
            )
    print(f"(kept in {result['login_file']})")
    return 0


def cmd_process_pending(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.intake import inbound as intake

    count = intake.resume(_gateway(settings))
    print(f"processed {count} stored message(s)")
    return 0


def cmd_dispatch(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.jobs.scheduler import worker_id

    count = asyncio.run(_gateway(settings).dispatcher(worker_id()).drain())
    print(f"handled {count} outbox row(s)")
    return 0


def cmd_import_csv(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from gateway.intake import importer

    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    given = {
        "text": args.text_column,
        "category": args.category_column,
        "agency": args.agency_column,
        "date": args.date_column,
        "source": args.source_column,
        "location": args.location_column,
        "id": args.id_column,
        "link": args.link_column,
    }
    try:
        # A regional system's export: its profile finds the columns not named explicitly.
        columns = importer.columns_for(args.source, importer.header_of(path), given)
        total = importer.count_rows(path)
        if args.limit is not None:
            total = min(total, args.limit)
        summary = importer.import_csv(
            _gateway(settings),
            path,
            columns,
            limit=args.limit,
            progress=importer.progress_bar(total),
            source=args.source,
        )
    except (importer.CsvImportError, UnicodeDecodeError) as exc:
        print(f"cannot import: {exc}", file=sys.stderr)
        return 2
    print("\n".join(summary.lines()))
    return 0


def cmd_train_router(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from gateway.complaints import enrich

    trained = enrich.train_router(_gateway(settings))
    decides = "the learned model" if trained.learned_decides else "the directory's keywords"
    print(
        f"agency routing trained on {trained.examples} example(s): {trained.dispositions} "
        f"disposed complaint(s), {trained.imports} labelled imported row(s); {decides} "
        "rank(s) the suggestions (stored in the database as JSON)"
    )
    if args.output:
        Path(args.output).write_text(trained.model_json, encoding="utf-8")
        print(f"model written to {args.output}")
    return 0


def cmd_gazetteer(settings: Settings, args: argparse.Namespace) -> int:
    """Write a regency's gazetteer from the shipped official region table (Kemendagri codes via
    idn-area-data, ODbL 1.0: `config/regions/DATA.md`), so any kabupaten/kota can be set up."""
    from pathlib import Path

    from normalizer import gazetteer_build

    try:
        centroids = gazetteer_build.read_centroids(args.centroids) if args.centroids else None
        extra = gazetteer_build.read_names(args.needs_context) if args.needs_context else ()
        text = gazetteer_build.build(args.regency, centroids=centroids, extra_needs_context=extra)
    except LookupError as exc:
        print(f"cannot build the gazetteer: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except (OSError, KeyError, ValueError) as exc:
        print(f"cannot read a file for the gazetteer: {exc}", file=sys.stderr)
        return 2
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    output = Path(args.output) if args.output else settings.gazetteer_file
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    regency = gazetteer_build.find_regency(args.regency)
    villages = sum(len(d.villages) for d in regency.districts)
    print(
        f"{regency.name} ({regency.code}): {len(regency.districts)} kecamatan, {villages} "
        f"desa/kelurahan written to {output}\n"
        f"source: {gazetteer_build.SOURCE} (the file is a derived database under ODbL 1.0); "
        "point GAZETTEER_FILE at it"
    )
    return 0


def cmd_send_fixture(settings: Settings, args: argparse.Namespace) -> int:
    """POST a provider payload to a running gateway, signed as the provider would sign it."""
    from pathlib import Path

    import httpx

    from gateway.dev import demo, signing

    settings = demo.demo_settings(settings)
    body = Path(args.file).read_bytes()
    body = signing.rewrite(
        args.channel,
        body,
        fresh=args.fresh,
        text=args.text,
        sender=args.sender,
        account_sid=settings.twilio_account_sid or None,
    )
    base = (args.url or settings.public_base_url).rstrip("/")
    url = f"{base}/webhooks/{args.channel}"
    try:
        headers = signing.signed_headers(settings, args.channel, url, body)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    response = httpx.post(url, content=body, headers=headers, timeout=30)
    print(f"{response.status_code} {response.text[:200]}")
    return 0 if response.status_code < 300 else 1


def cmd_send_mail(settings: Settings, args: argparse.Namespace) -> int:
    """Write to the regency's mailbox as a citizen, through the demo's mail network (`make
    run`), and print the gateway's answer when it arrives."""
    import smtplib
    import time
    from pathlib import Path

    from gateway.dev import demo, demo_mail

    settings = demo.demo_settings(settings)
    try:
        mail = demo_mail.citizen_mail(
            settings,
            sender=args.sender,
            text=" ".join(args.text),
            subject=args.subject,
            reply=args.reply,
            automatic=args.automatic,
            attachments=[Path(p) for p in args.attach or []],
            photo=demo.demo_photo() if args.photo else None,
        )
    except (LookupError, OSError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    seen = {m.message_id for m in demo_mail.read_sent(settings)}
    try:
        with smtplib.SMTP("127.0.0.1", settings.demo_smtp_port, timeout=30) as smtp:
            smtp.send_message(mail)
    except OSError as exc:
        print(
            f"the demo's mail network (127.0.0.1:{settings.demo_smtp_port}) is not answering: "
            f"{exc}; is `make run` running?",
            file=sys.stderr,
        )
        return 1
    print(f"sent {mail['Message-ID']} to {mail['To']}: {mail['Subject']}")
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        new = [
            m
            for m in demo_mail.read_sent(settings)
            if m.message_id not in seen and m.to.lower() == args.sender.lower()
        ]
        if new:
            for answer in reversed(new):
                print(f"\n--- {answer.subject}\n{answer.text.strip()}")
            return 0
        time.sleep(0.5)
    if args.wait:
        print("(no answer yet: automatic mail is never answered; see /_demo)")
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    """Talk to the bot as if from a phone; prints the bot's replies (no provider involved)."""
    import uuid

    from sqlalchemy import func, select

    from channels.base import InboundMessage as Message
    from gateway.clock import utcnow
    from gateway.intake import inbound as intake
    from gateway.store.models import OutboxItem

    gateway = _gateway(demo_settings_for_cli(settings))
    with gateway.db.read_session() as session:
        before = session.scalar(select(func.max(OutboxItem.id))) or 0
    message = Message(
        channel=args.channel,
        external_id=f"cli-{uuid.uuid4().hex}",
        sender=args.sender,
        received_at=utcnow(),
        text=" ".join(args.text),
    )
    accepted = intake.accept(gateway.db, message)
    intake.process(gateway, accepted.inbound_id)
    with gateway.db.read_session() as session:
        replies = session.scalars(
            select(OutboxItem)
            .where(OutboxItem.recipient == args.sender)
            .where(OutboxItem.channel == args.channel)
            .where(col(OutboxItem.id) > before)
            .order_by(col(OutboxItem.id))
        ).all()
    for reply in replies:
        print(f"bot: {ChannelPayload.from_json(reply.payload).text}")
    if not replies:
        print("(no reply: the bot is collecting your messages; send KIRIM to submit)")
    return 0


def parse_now(value: str | None, timezone: str) -> datetime | None:
    """`--now`: an ISO date or date-time; without a zone it is local time, a bare date is 09:00
    local (after the 08:00 reminders)."""
    if not value:
        return None
    from zoneinfo import ZoneInfo

    from workdays.calendar import resolve_timezone

    zone: ZoneInfo = resolve_timezone(timezone)
    text = value.strip()
    parsed = datetime.fromisoformat(text + ("T09:00" if len(text) == 10 else ""))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def cmd_sweep(settings: Settings, args: argparse.Namespace) -> int:
    """Reminders, escalation, automatic close and the digest, now or at `--now`."""
    from gateway.sla import sweeps

    try:
        now = parse_now(args.now, settings.timezone)
    except ValueError:
        print(f"--now: not a date or date-time: {args.now!r}", file=sys.stderr)
        return 2
    gateway = _gateway(demo_settings_for_cli(settings))
    result = sweeps.run(gateway, now, with_digest=not args.no_digest)
    print("\n".join(result.lines()))
    if args.dispatch:
        from gateway.jobs.scheduler import worker_id

        count = asyncio.run(gateway.dispatcher(worker_id()).drain())
        print(f"handled {count} outbox row(s)")
    return 0


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    """A report to a file or the terminal: the same figures as the admin pages."""
    from pathlib import Path

    from sqlalchemy import select

    from gateway.clock import utcnow
    from gateway.reports import export as report_export
    from gateway.reports import figures as reports

    gateway = _gateway(settings)
    calendar = gateway.calendar
    now = parse_now(args.now, settings.timezone) or utcnow()
    value = args.day or args.month or args.semester or args.year or args.period
    try:
        period = (
            reports.Period.parse(args.kind, value)
            if value
            else reports.Period.containing(args.kind, calendar.local_date(now))
        )
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    as_of = reports.as_of_for(period, calendar, now, at_end=args.as_of == "end")
    with gateway.db.read_session() as session:
        agency_id = None
        if args.agency:
            agency_id = session.scalar(
                select(col(Agency.id)).where(col(Agency.code) == args.agency)
            )
            if agency_id is None:
                print(f"unknown agency code {args.agency!r}", file=sys.stderr)
                return 2
        report = reports.build(session, period, calendar, as_of, agency_id=agency_id)
    lang, tz = args.lang, settings.timezone
    if args.format == "xlsx":
        data = report_export.to_xlsx(report, lang, tz)
        output = Path(args.output or f"laporan-{args.kind}-{period.label}.xlsx")
        output.write_bytes(data)
        print(f"written {output} ({len(data)} bytes)")
        return 0
    text = (
        report_export.to_csv(report, lang)
        if args.format == "csv"
        else report_export.to_text(report, lang, tz)
    )
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"written {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_strip_photos(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.store.photo_cleanup import strip_stored_photos

    result = strip_stored_photos(_gateway(settings))
    print(
        f"{result.checked} stored photos checked, {result.cleaned} cleaned, "
        f"{result.deleted_files} original files deleted, {result.failed} could not be read"
    )
    return 1 if result.failed else 0


def demo_settings_for_cli(settings: Settings) -> Settings:
    from gateway.dev import demo

    return demo.demo_settings(settings)


def cmd_open311_key(settings: Settings, args: argparse.Namespace) -> int:
    """Issue, list or revoke the API keys of Open311 `POST requests` (a koordinator's job)."""
    from gateway.open311 import keys

    gateway = _gateway(settings)
    if args.action == "create":
        if not args.name:
            print("give the name of who holds the key: open311-key create NAME", file=sys.stderr)
            return 2
        issued = keys.issue(gateway, " ".join(args.name), actor="cli")
        print(f"key #{issued.id} for {issued.name} (shown once, store it now):")
        print(issued.key)
        return 0
    if args.action == "revoke":
        if not args.name or not args.name[0].isdigit():
            print("give the key's number: open311-key revoke 3", file=sys.stderr)
            return 2
        done = keys.revoke(gateway, int(args.name[0]))
        print("revoked" if done else "no such active key")
        return 0 if done else 1
    for row in keys.listing(gateway):
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        used = f"last used {row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
        print(f"#{row.id}\t{row.name}\t{state}\t{used}")
    return 0


def importer_sources() -> list[str]:
    from gateway.intake.importer import SOURCE_NAMES

    return list(SOURCE_NAMES)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "send-fixture": cmd_send_fixture,
    "chat": cmd_chat,
    "send-mail": cmd_send_mail,
    "import-csv": cmd_import_csv,
    "import-xlsx": cmd_import_csv,
    "open311-key": cmd_open311_key,
    "train-router": cmd_train_router,
    "gazetteer": cmd_gazetteer,
    "migrate": cmd_migrate,
    "serve": cmd_serve,
    "worker": cmd_worker,
    "create-admin": cmd_create_admin,
    "seed-demo": cmd_seed_demo,
    "process-pending": cmd_process_pending,
    "dispatch": cmd_dispatch,
    "sweep": cmd_sweep,
    "report": cmd_report,
    "strip-photos": cmd_strip_photos,
}


# The chat channels a person can write on: `send-fixture` signs their webhooks, `chat` plays them.
CHAT_CHANNELS = [
    "twilio_sms",
    "twilio_whatsapp",
    "telegram",
    "whatsapp_cloud",
    "instagram",
    "facebook",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lapor-gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema")
    serve = sub.add_parser(
        "serve", help="run the gateway's web side (and its background jobs, on one machine)"
    )
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--jobs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the background jobs in this process too (default: SCHEDULER_ENABLED); "
        "--no-jobs when `lapor-gateway worker` runs them",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="web processes sharing the port (uvicorn's workers; needs --no-jobs)",
    )
    sub.add_parser(
        "worker",
        help="run the background jobs only (outbox, inbound, pollers, sweeps); many may run",
    )
    admin = sub.add_parser("create-admin", help="create an admin, liaison or viewer account")
    admin.add_argument("username")
    admin.add_argument("--password", help="prompted for when omitted")
    admin.add_argument("--role", choices=[r.value for r in Role], default=Role.KOORDINATOR.value)
    admin.add_argument("--agency", help="agency code, for liaison accounts")
    admin.add_argument("--name", help="display name")
    seed = sub.add_parser("seed-demo", help="load the demo agency directory, accounts, complaints")
    seed.add_argument(
        "--reset-passwords",
        action="store_true",
        help="give the demo accounts (admin, penghubung.dpupr) new passwords",
    )
    imports = sub.add_parser(
        "import-csv",
        aliases=["import-xlsx"],
        help="import complaints from a CSV or XLSX file (a regional system's export: --source)",
    )
    imports.add_argument("file", help="a .csv file, or an .xlsx workbook (its first sheet)")
    imports.add_argument(
        "--source",
        choices=importer_sources(),
        help="the regional system the file was exported from (its ids and links are kept)",
    )
    imports.add_argument("--id-column", help="the row's id in that system (the import key)")
    open311_key = sub.add_parser("open311-key", help="Open311 API keys: create, list, revoke")
    open311_key.add_argument("action", choices=["create", "list", "revoke"])
    open311_key.add_argument("name", nargs="*", help="create: who holds it; revoke: its number")
    imports.add_argument("--link-column", help="the report's address in that system")
    imports.add_argument("--text-column", help="the column with the complaint")
    imports.add_argument("--category-column", help="class as admins recorded it (compared)")
    imports.add_argument("--agency-column", help="agency code or name (compared, and kept)")
    imports.add_argument("--date-column", help="when it was received")
    imports.add_argument("--source-column", help="where it came from (instagram, sms...)")
    imports.add_argument("--location-column", help="a place, if the file has one")
    imports.add_argument("--limit", type=int, help="import at most this many rows")
    train = sub.add_parser(
        "train-router",
        help="retrain agency suggestions from past dispositions and labelled imports",
    )
    train.add_argument("--output", help="also write the model (JSON) to this file")
    gazetteer = sub.add_parser(
        "gazetteer",
        help="write a kabupaten/kota's gazetteer from the official region table (ODbL)",
    )
    gazetteer.add_argument(
        "--regency", required=True, help='code ("33.17") or name ("Kabupaten Rembang")'
    )
    gazetteer.add_argument(
        "--output", help="file to write (default: GAZETTEER_FILE; - for standard output)"
    )
    gazetteer.add_argument(
        "--centroids", help="CSV of kecamatan centroids: code,latitude,longitude"
    )
    gazetteer.add_argument(
        "--needs-context", help="names that need a place word first, one a line (local words)"
    )
    fixture = sub.add_parser("send-fixture", help="POST a signed provider payload to the gateway")
    fixture.add_argument("channel", choices=CHAT_CHANNELS)
    fixture.add_argument(
        "file",
        help="e.g. tests/fixtures/twilio_whatsapp/text.form, tests/fixtures/instagram/comment.json",
    )
    fixture.add_argument("--url", help="the gateway's base URL (default PUBLIC_BASE_URL)")
    fixture.add_argument(
        "--fresh",
        action="store_true",
        help="give the message a new id (so it is not taken for a retry) and the time now",
    )
    fixture.add_argument("--text", help="replace the message text (a new message id too)")
    fixture.add_argument(
        "--from", dest="sender", help="replace the sender (E.164, chat id, PSID or IGSID)"
    )
    mail = sub.add_parser(
        "send-mail", help="write to the regency's mailbox as a citizen (the demo's mail network)"
    )
    mail.add_argument("--from", dest="sender", default="warga@contoh.test")
    mail.add_argument("--subject", help="default: 'Laporan', or with --reply the thread's")
    mail.add_argument(
        "--reply",
        action="store_true",
        help="answer the last mail the gateway sent to --from, in its thread",
    )
    mail.add_argument(
        "--automatic",
        action="store_true",
        help="an out-of-office (Auto-Submitted: auto-replied): never answered",
    )
    mail.add_argument("--attach", action="append", help="a file to attach (JPEG, PNG, PDF)")
    mail.add_argument("--photo", action="store_true", help="attach the demo's photo of a road")
    mail.add_argument(
        "--wait", type=float, default=20, help="seconds to wait for the answer (0: do not)"
    )
    mail.add_argument("text", nargs="+")
    chat = sub.add_parser("chat", help="send one message to the bot and print its replies")
    chat.add_argument("--channel", default="twilio_sms", choices=CHAT_CHANNELS)
    chat.add_argument("--from", dest="sender", default="+6281234567890")
    chat.add_argument("text", nargs="+")
    sub.add_parser("process-pending", help="process stored inbound messages now")
    sub.add_parser("dispatch", help="deliver due outbox rows now")
    sub.add_parser(
        "strip-photos",
        help="clean photos stored before intake cleaned them (metadata, size); delete originals",
    )
    sweep = sub.add_parser(
        "sweep", help="deadline reminders, escalation, automatic close and the daily digest"
    )
    sweep.add_argument(
        "--now",
        help="act as if it were this moment (local time), e.g. 2026-12-31 or 2026-12-31T09:00",
    )
    sweep.add_argument("--no-digest", action="store_true", help="skip the daily digest")
    sweep.add_argument(
        "--dispatch",
        action="store_true",
        help="also deliver the queued messages now (without a running server)",
    )
    report = sub.add_parser(
        "report", help="daily, monthly, semester or annual figures as text, CSV or XLSX"
    )
    report.add_argument("kind", choices=["daily", "monthly", "semester", "annual"])
    report.add_argument("--day", help="daily: 2026-10-05 (default: today)")
    report.add_argument("--month", help="monthly: 2026-10 (default: this month)")
    report.add_argument("--semester", help="semester: 2026-S1 or 2026-S2")
    report.add_argument("--year", help="annual: 2026")
    report.add_argument("--period", help="any of the above, for the chosen kind")
    report.add_argument("--format", choices=["text", "csv", "xlsx"], default="text")
    report.add_argument("--output", help="file to write (xlsx default: laporan-KIND-PERIOD.xlsx)")
    report.add_argument("--lang", choices=["id", "en"], default="id")
    report.add_argument("--agency", help="only this agency (code)")
    report.add_argument(
        "--as-of",
        choices=["now", "end"],
        default="now",
        help="what had happened by now (default) or by the end of the period",
    )
    report.add_argument("--now", help="act as if it were this moment (local time)")
    return parser


def check_calendar(settings: Settings) -> str | None:
    """The holiday files and the time zone, checked before anything starts: a bad date in a
    holiday file is one clear line naming the file and the line, not a traceback."""
    from gateway.sla.calendar_days import load_files
    from workdays.calendar import HolidayFileError, resolve_timezone

    try:
        resolve_timezone(settings.timezone)
        load_files(settings)
    except HolidayFileError as exc:
        return str(exc)
    except ValueError as exc:
        return f"TIMEZONE: {exc}"
    return None


def check_production(settings: Settings) -> str | None:
    """What production cannot run without, said before anything starts (issue 13): without
    SECRET_KEY every restart would log every admin out and break every signed link."""
    if settings.app_env == "production" and settings.secret_key is None:
        return "Invalid setting SECRET_KEY: required when APP_ENV=production"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    problem = check_calendar(settings) or check_production(settings)
    if problem is not None:
        print(f"configuration error: {problem}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[args.command](settings, args)
    except SettingsError as exc:  # found late (building the app): still one line
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Run the SP4N-LAPOR core simulator on its own: `python -m forwarder.simulator --port 8100`.

Defaults come from the gateway's settings (environment / .env) so the two agree: the API key is
CORE_API_KEY, the push secret CORE_PUSH_SECRET, and events are pushed to the gateway's
`PUBLIC_BASE_URL/core/events` when a push secret is set. Secrets are read from the environment,
never from the command line (where `ps` would show them).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from urllib.parse import urlsplit

from config.settings import load_settings
from forwarder.simulator.server import build_simulator_server


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m forwarder.simulator", description="SP4N-LAPOR! core simulator"
    )
    parser.add_argument("--host", default=None, help="default: the host of CORE_BASE_URL")
    parser.add_argument("--port", type=int, default=None, help="default: the port of CORE_BASE_URL")
    parser.add_argument("--db", default=None, help="SQLite file (default CORE_SIMULATOR_DB)")
    parser.add_argument(
        "--push-url",
        default=None,
        help="where to push signed events (default PUBLIC_BASE_URL/core/events if a secret is set;"
        " 'none' to switch push off)",
    )
    parser.add_argument(
        "--auto-answer",
        type=float,
        default=None,
        metavar="SECONDS",
        help="advance each report one step every SECONDS"
        " (default CORE_SIMULATOR_AUTO_ANSWER_SECONDS)",
    )
    parser.add_argument("--log-level", default="info")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = load_settings()
    base = urlsplit(settings.core_base_url)
    push_secret = (
        settings.core_push_secret.get_secret_value() if settings.core_push_secret else None
    )
    push_url = args.push_url
    if push_url is None and push_secret:
        push_url = f"{settings.public_base_url}/core/events"
    if push_url == "none":
        push_url = None
    logging.basicConfig(level=args.log_level.upper())
    server = build_simulator_server(
        args.host or base.hostname or "127.0.0.1",
        args.port or base.port or 8100,
        args.db or settings.core_simulator_db,
        push_url=push_url,
        push_secret=push_secret if push_url else None,
        auto_answer_seconds=(
            args.auto_answer
            if args.auto_answer is not None
            else settings.core_simulator_auto_answer_seconds
        ),
        api_key=settings.core_api_key.get_secret_value() if settings.core_api_key else None,
        install_signal_handlers=True,
        log_level=args.log_level,
    )
    asyncio.run(server.serve())


if __name__ == "__main__":
    main()

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

from config.settings import load_settings
from forwarder.simulator.server import build_simulator_server, simulator_options


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
    options = simulator_options(load_settings(), push_url=args.push_url)
    if args.push_url == "none":
        options.update(push_url=None, push_secret=None)
    for name, value in (("host", args.host), ("port", args.port), ("db", args.db)):
        if value is not None:
            options[name] = value
    if args.auto_answer is not None:
        options["auto_answer_seconds"] = args.auto_answer or None
    logging.basicConfig(level=args.log_level.upper())
    server = build_simulator_server(
        **options, install_signal_handlers=True, log_level=args.log_level
    )
    asyncio.run(server.serve())


if __name__ == "__main__":
    main()

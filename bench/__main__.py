"""Run the benchmarks and write their figures into docs/PERFORMANCE.md.

`python -m bench` (or `make bench`) runs every module in `MODULES`; `python -m bench
dedup-quality` runs only the named sections; `--quick` uses smaller inputs (for a smoke run).

Each benchmark module has `SECTION` (a short id), `TITLE` and `run(quick: bool) -> str`
(Markdown). Its figures go between `<!-- BEGIN bench:<SECTION> -->` and
`<!-- END bench:<SECTION> -->` in the document, followed by the machine, Python, date and
command they were measured with; sections of benchmarks that were not run are left as they
are, so modules can be added to `MODULES` (and run on their own) without touching the others.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

# Explicit list, in document order: no directory scanning.
MODULES = (
    "bench.normalizer_bench",
    "bench.dedup_quality",
    "bench.quality_real",
    "bench.dedup_lookup",
    "bench.dedup_gateway",
    "bench.inbox_bench",
    "bench.load",
)
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "PERFORMANCE.md"
HEADER = """# Performance

Figures are written by `make bench` (`python -m bench`); every section is rewritten when its
benchmark runs again and says on which machine, with which Python, when and by which command
it was measured. Targets come from the issues (e.g. normalising one complaint: p95 under 5 ms).
"""


def machine() -> str:
    try:
        # The issue asks for `uname -a` verbatim; platform.uname() is the fallback.
        uname = subprocess.run(
            ["uname", "-a"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        uname = " ".join(platform.uname()).strip()
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"- machine: `{uname}`\n"
        f"- CPU: {cpu}, {os.cpu_count()} logical cores\n"
        f"- Python: {platform.python_implementation()} {platform.python_version()}"
    )


def render(module: ModuleType, body: str, command: str) -> str:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<!-- BEGIN bench:{module.SECTION} -->\n"
        f"## {module.TITLE}\n\n{body.strip()}\n\n"
        f"Measured with `{command}` on {when}:\n\n{machine()}\n"
        f"<!-- END bench:{module.SECTION} -->"
    )


def update(document: str, section: str, rendered: str) -> str:
    """Replace one section between its markers, or append it."""
    pattern = re.compile(
        rf"<!-- BEGIN bench:{re.escape(section)} -->.*?<!-- END bench:{re.escape(section)} -->",
        re.DOTALL,
    )
    if pattern.search(document):
        return pattern.sub(lambda _: rendered, document, count=1)
    return document.rstrip("\n") + "\n\n" + rendered + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", help="sections to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    modules = [importlib.import_module(name) for name in MODULES]
    known = {m.SECTION for m in modules}
    unknown = set(args.sections) - known
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; known: {sorted(known)}")
    command = " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])])
    output: Path = args.output
    document = output.read_text(encoding="utf-8") if output.exists() else HEADER
    for module in modules:
        if args.sections and module.SECTION not in args.sections:
            continue
        print(f"running {module.SECTION} ...", file=sys.stderr, flush=True)
        body = module.run(quick=args.quick)
        document = update(document, module.SECTION, render(module, body, command.strip()))
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(document, encoding="utf-8")  # after each: a crash keeps what is done
        print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The map in docs/architecture.md is the code's: the rooms exist and say what they hold, the
arrows point the documented way, no module imports in a circle (type-checking imports
included), `Gateway` satisfies every protocol domain code asks for, and the bot's diagram names
every state."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import sys
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import parts
from gateway.bot.conversation import State
from gateway.complaints.enrich import Enricher
from gateway.context import Gateway

ROOT = Path(__file__).resolve().parents[2]
ROOMS = (
    "store",
    "intake",
    "bot",
    "complaints",
    "outbox",
    "core",
    "sla",
    "reports",
    "admin",
    "open311",
)
EDGES = ("jobs", "api", "dev")
ROOT_MODULES = ("gateway.app", "gateway.cli", "gateway.context")
PURE = ("workdays", "normalizer", "channels", "forwarder")


def module_name(path: Path) -> str:
    parts_ = path.relative_to(ROOT).with_suffix("").parts
    name = ".".join(parts_)
    return name.removesuffix(".__init__")


def sources(package: str) -> Iterator[Path]:
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" not in path.parts and "fakes" not in path.parts:
            yield path


def imported(path: Path) -> set[str]:
    """Every module named by an import in the file, at any depth, type-checking blocks included
    (a circle of type hints is still a circle a reader has to untangle)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def room_of(module: str) -> str:
    pieces = module.split(".")
    if pieces[0] != "gateway":
        return pieces[0]
    return pieces[1] if len(pieces) > 1 else "gateway"


GATEWAY_MODULES = {module_name(p): p for p in sources("gateway")}


def test_every_room_exists_and_says_what_it_holds() -> None:
    for room in (*ROOMS, *EDGES):
        init = ROOT / "gateway" / room / "__init__.py"
        assert init.exists(), f"gateway/{room}/ is missing"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 40, f"gateway/{room}/__init__.py should say what lives there"
        assert f"`{room}/`" in (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_nothing_below_the_composition_root_imports_it() -> None:
    offenders = []
    for module, path in GATEWAY_MODULES.items():
        if module in ROOT_MODULES or room_of(module) in EDGES:
            continue
        bad = {m for m in imported(path) if m in ROOT_MODULES}
        if bad:
            offenders.append(f"{module} imports {sorted(bad)}")
    assert offenders == []


def test_domain_rooms_never_import_the_edges_and_the_store_only_leaves() -> None:
    offenders = []
    for module, path in GATEWAY_MODULES.items():
        room = room_of(module)
        targets = {room_of(m) for m in imported(path) if m.startswith("gateway.")}
        if room in ROOMS and targets & set(EDGES):
            offenders.append(f"{module} → {sorted(targets & set(EDGES))}")
        leaves = {"store", "clock", "parts", "logs"}
        if room == "store" and targets - leaves:
            offenders.append(f"{module} → {sorted(targets - leaves)}")
    assert offenders == []


@pytest.mark.parametrize("package", PURE)
def test_pure_packages_never_import_the_gateway_or_each_other(package: str) -> None:
    allowed = {package, "config"}
    ours = {"gateway", *PURE, "config"}
    offenders = []
    for path in sources(package):
        for module in imported(path):
            top = module.split(".")[0]
            if top in ours and top not in allowed:
                offenders.append(f"{module_name(path)} imports {module}")
    assert offenders == []


def test_no_module_of_the_gateway_imports_in_a_circle() -> None:
    graph = {
        module: {m for m in imported(path) if m in GATEWAY_MODULES and m != module}
        for module, path in GATEWAY_MODULES.items()
    }
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert circles == []


def protocol_members(protocol: type) -> set[str]:
    members: set[str] = set()
    for klass in protocol.__mro__:
        if klass in (object, typing.Protocol, typing.Generic) or not getattr(
            klass, "_is_protocol", False
        ):
            continue
        members.update(getattr(klass, "__annotations__", {}))
        members.update(
            name
            for name, value in vars(klass).items()
            if not name.startswith("_") and (callable(value) or isinstance(value, property))
        )
    return members


PROTOCOLS = [
    obj
    for _, obj in inspect.getmembers(parts, inspect.isclass)
    if obj.__module__ == parts.__name__ and getattr(obj, "_is_protocol", False)
]


# The protocols of parts the gateway hands out (not the gateway itself).
IMPLEMENTED_BY: dict[type, type] = {parts.Normalizing: Enricher}


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.__name__)
def test_the_gateway_has_what_every_protocol_asks_for(protocol: type) -> None:
    implementation = IMPLEMENTED_BY.get(protocol, Gateway)
    instance_fields = (
        {f.name for f in dataclasses.fields(implementation)}
        if dataclasses.is_dataclass(implementation)
        else set(inspect.signature(implementation.__init__).parameters)  # type: ignore[misc]
        | set(re.findall(r"self\.(\w+)\s*[:=]", inspect.getsource(implementation)))
    )
    members = protocol_members(protocol)
    missing = {m for m in members if m not in instance_fields and not hasattr(implementation, m)}
    assert members, f"{protocol.__name__} asks for nothing"
    assert missing == set()


def test_the_bot_diagram_names_every_state() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    diagram = re.search(r"```mermaid\nstateDiagram-v2\n(.*?)```", text, re.S)
    assert diagram is not None
    named = set(re.findall(r"\b([a-z_]+)\b", diagram.group(1)))
    assert {s.value for s in State} - named == set()

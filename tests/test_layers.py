"""The import structure of src/: every import goes down the documented layer order, and no modules form a cycle.

Every ``import`` and ``from ... import`` counts: at the top of a module, inside a function (a local import does not
make an upward import or a cycle acceptable) and under ``TYPE_CHECKING``. The order is the one written in
docs/architecture.md ("Layers") and in the composition root's docstring (``platekeeper/services.py``).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"

WEB_MODULES = re.compile(r"\.(api|pages|admin_api|admin_pages|agency_pages|review_pages|partner_pages|cli)$")
LAYERS: list[tuple[str, re.Pattern[str]]] = [
    ("recognition", re.compile(r"^platekeeper(\.recognition(\..+)?|\.training(\..+)?)?$")),
    ("foundation", re.compile(r"^platekeeper\.(permissions|config(\..+)?|db|files|jobs|rate_limits)$")),
    ("access and audit", re.compile(r"^platekeeper\.(access|audit)(\..+)?$|^platekeeper\.storage(\.keys|\.sealing)?$")),
    ("guards and notices", re.compile(r"^platekeeper\.(guards|notices)(\..+)?$")),
    (
        "cameras and reads",
        re.compile(
            r"^platekeeper\.(cameras|reads)(\..+)?$|^platekeeper\.storage\.rotation$"
            r"|^platekeeper\.retention(\.models|\.floor)$"
        ),
    ),
    ("hotlists", re.compile(r"^platekeeper\.hotlists(\..+)?$")),
    ("alerts", re.compile(r"^platekeeper\.alerts(\..+)?$")),
    ("plates", re.compile(r"^platekeeper\.plates(\..+)?$")),
    ("retention", re.compile(r"^platekeeper\.retention(?!\.models$|\.floor$)(\..+)?$")),
    ("sharing", re.compile(r"^platekeeper\.sharing(\..+)?$")),
    ("audits", re.compile(r"^platekeeper\.audits(\..+)?$")),
    ("transparency", re.compile(r"^platekeeper\.transparency(\..+)?$")),
    ("composition root", re.compile(r"^platekeeper\.services$")),
    (
        "web and command line",
        re.compile(
            r"^platekeeper\.(web|demo|migrations|backup)(\..+)?$|^platekeeper\.(cli|cli_support|schema|__main__)$"
        ),
    ),
]


@cache
def modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def layer_of(module: str) -> int:
    """A domain's api.py, pages.py and cli.py belong to the web and command-line layer, whatever their package."""
    if WEB_MODULES.search(module):
        return len(LAYERS) - 1
    matches = [i for i, (_, pattern) in enumerate(LAYERS) if pattern.match(module)]
    assert len(matches) == 1, f"{module} is in {len(matches)} layers; give it exactly one in LAYERS"
    return matches[0]


def imports_of(module: str) -> set[str]:
    """The platekeeper modules this one imports, anywhere in its body."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:  # `from platekeeper.access import lifecycle` imports a module
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in modules() else target)
    return {name for name in found if name in modules() and name != module}


def graph() -> dict[str, set[str]]:
    return {module: imports_of(module) for module in modules()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_one_layer() -> None:
    assert len(modules()) > 100
    for module in modules():
        layer_of(module)


def test_no_import_goes_up_the_layer_order() -> None:
    upward = sorted(
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in graph().items()
        for target in targets
        if layer_of(target) > layer_of(module)
    )
    assert upward == [], "imports up the layer order:\n" + "\n".join(upward)


def test_no_modules_import_each_other_in_a_cycle() -> None:
    assert cycles(graph()) == []


def test_the_checks_find_what_they_look_for() -> None:
    """The checks themselves: a cycle through three modules, and a function-local import found by the walk."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    # platekeeper.recognition.cli imports the pipeline inside a function, so that `read` loads it only when it runs
    assert "platekeeper.recognition.pipeline" in imports_of("platekeeper.recognition.cli")
    assert layer_of("platekeeper.hotlists.api") == layer_of("platekeeper.web.app") > layer_of("platekeeper.alerts")


def test_the_architecture_document_states_the_same_order() -> None:
    text = ARCHITECTURE.read_text()
    section = text[text.index("## Layers") :]
    positions = [section.index(f"**{name}**") for name, _ in LAYERS]
    assert positions == sorted(positions), "docs/architecture.md lists the layers in another order"

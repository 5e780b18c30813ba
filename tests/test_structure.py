"""The package's shape: no import circles (local imports included), every name in
`__all__` imports, and the runtime never imports the developer tools."""

import ast
from pathlib import Path

import regqa

PACKAGE = Path(regqa.__file__).parent


def imports_of(path: Path, unresolved: list | None = None) -> set[str]:
    """regqa modules a module imports, at top level or inside functions (relative imports
    that name no module are collected in `unresolved`)."""
    module = path.relative_to(PACKAGE.parent).with_suffix("").as_posix().replace("/", ".")
    module = module.removesuffix(".__init__")
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found, targets = set(), set()  # targets: `from .x import …` must name a module x
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
            found.add(target)
            targets.add(target)
            if node.module is None:  # `from . import x`: x may be a module or a name
                found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("regqa"))
    modules = {p.relative_to(PACKAGE.parent).with_suffix("").as_posix().replace("/", ".")
               .removesuffix(".__init__") for p in PACKAGE.rglob("*.py")}
    if unresolved is not None:
        unresolved.extend(f"{module}: {m}" for m in sorted(targets) if m not in modules)
    return {m for m in found if m in modules and m != module}


def graph() -> dict[str, set[str]]:
    edges = {}
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE.parent).with_suffix("").as_posix().replace("/", ".")
        edges[name.removesuffix(".__init__")] = imports_of(path)
    return edges


def test_no_module_imports_itself_through_a_circle():
    edges = graph()
    # the package __init__ re-exports the API; a module importing the package root would
    # close a circle through it
    cycles = []

    def visit(node, stack):
        if node in stack:
            cycles.append([*stack[stack.index(node):], node])
            return
        for nxt in edges.get(node, ()):
            visit(nxt, [*stack, node])

    for start in edges:
        visit(start, [])
    assert cycles == []


def test_the_runtime_never_imports_the_developer_tools():
    edges = graph()
    runtime = [m for m in edges if not m.startswith("regqa.devtools") and m != "regqa.cli"]
    assert [m for m in runtime if any(t.startswith("regqa.devtools") for t in edges[m])] == []


def test_every_name_in_all_imports():
    assert all(getattr(regqa, name) is not None for name in regqa.__all__)
    assert {"Answer", "Citation", "Query", "Decision", "Hit", "load"} <= set(regqa.__all__)


def test_every_relative_import_names_a_module():
    # regression: `regqa bench` failed at its index step on `from .index import …` once the
    # bench moved into regqa.devtools (an import inside a function, so importing the module
    # did not catch it)
    unresolved: list[str] = []
    for path in PACKAGE.rglob("*.py"):
        imports_of(path, unresolved)
    assert unresolved == []

"""The README's module map is the tree as it is: every module listed, in its package, and nothing else."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _map_entries() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## How it works\n\n```\n(bot/.*?)```", text, re.S).group(1)
    entries, stack = set(), []
    for line in block.splitlines():
        name = line.split()[0]
        depth = (len(line) - len(line.lstrip())) // 2
        del stack[depth:]
        if name.endswith("/"):
            stack.append(name.rstrip("/"))
        elif name.endswith(".py"):
            entries.add("/".join(stack + [name]))
    return entries


def _modules() -> set[str]:
    found = set()
    for path in (ROOT / "bot").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        # A package's __init__ is listed only when it holds code (the app factory, the benchmark).
        if path.name == "__init__.py" and len(path.read_text(encoding="utf-8").splitlines()) <= 2:
            continue
        found.add(rel)
    return found


def test_every_module_is_in_the_readme_map_where_it_is():
    listed, modules = _map_entries(), _modules()
    assert sorted(modules - listed) == [], "modules missing from the README's map"
    assert sorted(listed - modules) == [], "the README's map lists modules that do not exist"

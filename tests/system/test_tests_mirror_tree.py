"""The tests mirror the tree: each tests/<folder>/ is named for a package under bot/, besides
tests/system/ (the whole service) and tests/browser/ (chromium), and no test sits loose in tests/."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WHOLE_SYSTEM = {"system", "browser"}


def test_every_test_folder_names_a_package_of_the_bot():
    folders = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and any(p.glob("test_*.py"))}
    packages = {p.parent.name for p in (ROOT / "bot").glob("*/__init__.py")}
    assert sorted(folders - WHOLE_SYSTEM - packages) == [], "test folders that name no package of bot/"


def test_every_test_file_is_in_a_folder():
    assert sorted(p.name for p in (ROOT / "tests").glob("test_*.py")) == []

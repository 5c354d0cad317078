"""`accord add --url`: where a file is published, as the admin API's upload takes it."""
from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bot import cli as cli_module


def _files(tmp_path: Path) -> list[Path]:
    a, b = tmp_path / "a.md", tmp_path / "b.txt"
    a.write_text("# A\n\nThe first text.\n", encoding="utf-8")
    b.write_text("The second text.\n", encoding="utf-8")
    return [a, b]


def test_each_file_takes_its_url_in_order(tmp_path):
    a, b = _files(tmp_path)
    docs = cli_module._new_documents((a, b), ("https://example.org/a", "https://example.org/b"))
    assert [(d.doc_id, d.url) for d in docs] == [("a", "https://example.org/a"),
                                                  ("b", "https://example.org/b")]
    assert [d.url for d in cli_module._new_documents((a,))] == [""]


def test_a_url_count_that_does_not_match_the_files_is_refused_before_anything_runs(tmp_path):
    a, b = _files(tmp_path)
    with pytest.raises(click.ClickException, match="one --url per file"):
        cli_module._new_documents((a, b), ("https://example.org/a",))
    result = CliRunner().invoke(cli_module.cli, ["add", str(a), str(b), "--url", "https://x.org/a",
                                                 "--corpus", str(tmp_path / "corpus"),
                                                 "--index", str(tmp_path / "index")])
    assert result.exit_code == 1 and "one --url per file" in result.output
    assert not (tmp_path / "corpus").exists()


def test_a_url_that_is_not_http_is_refused(tmp_path):
    a, _ = _files(tmp_path)
    result = CliRunner().invoke(cli_module.cli, ["add", str(a), "--url", "javascript:alert(1)",
                                                 "--corpus", str(tmp_path / "corpus"),
                                                 "--index", str(tmp_path / "index")])
    assert result.exit_code == 1 and "http" in result.output

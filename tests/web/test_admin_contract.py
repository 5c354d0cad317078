"""The admin request bodies are the contract's models: /openapi.json publishes their schemas, and
random and hostile bodies get the verdict and message the hand-written checks gave."""
from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import request
from hypothesis import HealthCheck, given, settings, strategies as st
from werkzeug.exceptions import HTTPException

from bot import create_app
from bot.corpus.reading import check_doc_id
from bot.errors import (AccordError, BuildLocked, DocumentError, DocumentNotFound,
                        IndexUnavailable, ModelUnavailable)
from bot.feedback.store import FeedbackStoreError
from bot.index.changes import FIELDS, from_json, from_upload
from bot.index.shared_store import SharedStoreError
from bot.startup import StartupError
from bot.web import admin, contract
from bot.web.errors import CODES, ApiError, reply_to, without_paths

from ..fakes import FakeEncoder

JSON = "application/json"
ADMIN_MODELS = (contract.NewDocument, contract.AddDocumentsRequest,
                contract.DeleteDocumentsRequest, contract.RebuildRequest)


# The checks admin.py made by hand before the models, kept as the reference: same bodies, same
# verdicts, same messages.

def old_documents_from_request() -> list:
    if request.mimetype == "multipart/form-data":
        files = [f for name in request.files for f in request.files.getlist(name)]
        if not files:
            raise ApiError(400, "Attach one or more .txt, .md, .html, .pdf or .docx files as form fields.")
        urls = request.form.getlist("url")
        if urls and len(urls) != len(files):
            raise ApiError(400, f"Give one url per file, in the order of the files ({len(files)} "
                                f"file(s), {len(urls)} url(s)); nothing was changed.")
        try:
            return [from_upload(f.filename or "", f.read(), url)
                    for f, url in zip(files, urls or [""] * len(files))]
        except DocumentError as exc:
            raise ApiError(400, f"{exc} (nothing was changed)") from None
    if not request.is_json:
        raise ApiError(415, "Send JSON {\"documents\": [...]} or a multipart/form-data upload.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("documents"), list) \
            or not body["documents"]:
        raise ApiError(400, "The body must be {\"documents\": [{\"id\", \"text\", \"title\", "
                            "\"source\", \"date\"}, ...]} with at least one document.")
    if set(body) - {"documents"}:
        raise ApiError(400, f"Unknown field(s): {', '.join(sorted(set(body) - {'documents'}))}.")
    try:
        return [from_json(item, i) for i, item in enumerate(body["documents"])]
    except DocumentError as exc:
        raise ApiError(400, f"{exc} (nothing was changed)") from None


def old_checked_id(doc_id: Any) -> str:
    try:
        return check_doc_id(doc_id)
    except DocumentError as exc:
        raise ApiError(400, f"{exc} (nothing was changed)") from None


def old_delete_documents() -> dict:
    if not request.is_json:
        raise ApiError(415, "Send JSON {\"ids\": [\"doc-id\", ...]}.")
    body = request.get_json(silent=True)
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids or set(body) - {"ids"}:
        raise ApiError(400, "The body must be {\"ids\": [\"doc-id\", ...]} with at least one id.")
    if len(ids) > 10_000:
        raise ApiError(400, f"At most 10000 ids in one request; {len(ids)} were sent.")
    return {"remove": [old_checked_id(i) for i in ids]}


def old_rebuild_index() -> dict:
    full = False
    if request.content_length:
        if not request.is_json:
            raise ApiError(415, "Send the optional body as JSON, e.g. {\"full\": true}.")
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or set(body) - {"full"} or \
                not isinstance(body.get("full", False), bool):
            raise ApiError(400, "The optional body is {\"full\": true|false}.")
        full = body.get("full", False)
    return {"rebuild": True, "full": full}


OLD = {"add_documents": lambda: {"add": old_documents_from_request()},
       "delete_documents": old_delete_documents, "rebuild_index": old_rebuild_index}
ROUTES = {"add_documents": ("/api/documents", "POST"),
          "delete_documents": ("/api/documents", "DELETE"),
          "rebuild_index": ("/api/index/rebuild", "POST")}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    # Only request contexts are made: the views are called with the change captured, not run.
    return create_app({"TESTING": True, "INDEX_DIR": str(tmp_path_factory.mktemp("none")),
                       "ENCODER": FakeEncoder()})


@pytest.fixture(scope="module")
def verdicts(app):
    """The verdict of the old checks and of today's view on one request: ("refused", status,
    message) or ("changed", the change admin.py would run)."""
    def outcome(call) -> tuple:
        try:
            return ("changed", call())
        except ApiError as exc:
            return ("refused", exc.status, exc.message)
        except HTTPException as exc:   # the JSON provider's 400 for a body nested too deeply
            return ("refused", exc.code, exc.description)

    def both(view: str, data: bytes, content_type: str | None) -> tuple[tuple, tuple]:
        path, method = ROUTES[view]
        with app.test_request_context(path, method=method, data=data, content_type=content_type):
            old = outcome(OLD[view])
        with app.test_request_context(path, method=method, data=data, content_type=content_type):
            new = outcome(getattr(admin, view).__wrapped__)   # past admin_required
        return old, new

    original = admin._update
    admin._update = lambda **change: change
    yield both
    admin._update = original


def test_the_documented_admin_bodies_are_the_models(client):
    spec = client.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for model in ADMIN_MODELS:
        assert schemas[model.__name__] == contract.schema_of(model), model.__name__
    paths = spec["paths"]
    for path, method, name in (("/api/documents", "post", "AddDocumentsRequest"),
                               ("/api/documents", "delete", "DeleteDocumentsRequest"),
                               ("/api/index/rebuild", "post", "RebuildRequest")):
        assert paths[path][method]["requestBody"]["content"][JSON]["schema"] == {
            "$ref": f"#/components/schemas/{name}"}, (path, method)
    # The upload's form stays described by hand; no model reads it.
    assert "files" in paths["/api/documents"]["post"]["requestBody"]["content"][
        "multipart/form-data"]["schema"]["properties"]
    # The fields a new document may have are the ones from_json reads, no more, no fewer.
    assert set(schemas["NewDocument"]["properties"]) == FIELDS
    assert schemas["DeleteDocumentsRequest"]["properties"]["ids"]["maxItems"] == \
        contract.MAX_DELETE_IDS


# Hostile JSON: any value, keys near the real ones, strings near real ids and dates.
KEYS = st.sampled_from(["documents", "ids", "full", "id", "text", "title", "source", "date",
                        "url", "extra", "", "Documents", "ids "]) | st.text(max_size=5)
STRINGS = st.sampled_from(["", " ", "note", "a/b", "../x", "-x", "x" * 129, "2024-06-01",
                           "2024-13-01", "20240601", "https://example.org/a", "javascript:x",
                           "\u00e9t\u00e9", "\ud800", "x\n", "A.b_c-1"]) | st.text(max_size=12)
SCALARS = (st.none() | st.booleans() | st.integers(-3, 10**20) | st.floats(allow_nan=False)
           | STRINGS)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)
IDS = st.sampled_from(["note", "A.b_c-1", "x" * 128]) | st.from_regex(r"[a-z][a-z0-9._-]{0,9}",
                                                                       fullmatch=True)
GOOD_DOCUMENT = st.fixed_dictionaries(   # mostly good, so that many bodies are taken
    {"id": IDS, "text": st.text(min_size=1, max_size=30)},
    optional={"title": STRINGS, "source": STRINGS,
              "date": st.sampled_from(["2024-06-01", "", "2024-13-01", "2024-6-1"]),
              "url": st.sampled_from(["", "https://example.org/a", "ftp://x"])})
DOCUMENT = GOOD_DOCUMENT | st.dictionaries(st.sampled_from(sorted(FIELDS | {"extra"})),
                                           STRINGS | SCALARS, max_size=7)
BODIES = st.one_of(
    VALUES,
    st.dictionaries(KEYS, VALUES, max_size=3),
    st.fixed_dictionaries({"documents": st.lists(DOCUMENT | VALUES, max_size=4)},
                          optional={"extra": VALUES}),
    st.fixed_dictionaries({"documents": st.lists(GOOD_DOCUMENT, min_size=1, max_size=3)}),
    st.fixed_dictionaries({"ids": st.lists(IDS | STRINGS | SCALARS, max_size=5)},
                          optional={"extra": VALUES}),
    st.fixed_dictionaries({"ids": st.lists(IDS, min_size=1, max_size=5)}),
    st.fixed_dictionaries({"full": VALUES | st.booleans()}, optional={"fast": VALUES}),
    st.fixed_dictionaries({"ids": st.integers(9_998, 10_002).map(lambda n: ["a"] * n)},
                          optional={"extra": st.none()}))
CONTENT_TYPES = st.sampled_from([JSON, JSON, JSON, "application/merge-patch+json",
                                 "application/json; charset=utf-8", "text/plain", None])
RAW = st.sampled_from([b"", b"{", b"nul", b"[]", b"\xff\xfe", b"{\"ids\": [\"a\"],}",
                       b"[" * 5000, b"{\"full\": true} x", b"NaN", b"{\"ids\": [NaN]}"])
SETTINGS = settings(max_examples=1500, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


@SETTINGS
@given(view=st.sampled_from(sorted(ROUTES)), body=BODIES, content_type=CONTENT_TYPES)
def test_json_bodies_get_the_verdicts_they_got_before(verdicts, view, body, content_type):
    old, new = verdicts(view, json.dumps(body).encode(), content_type)
    assert new == old


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(view=st.sampled_from(sorted(ROUTES)), data=RAW, content_type=CONTENT_TYPES)
def test_bodies_that_are_not_json_get_the_verdicts_they_got_before(verdicts, view, data,
                                                                  content_type):
    old, new = verdicts(view, data, content_type)
    assert new == old


def test_the_messages_a_person_reads(verdicts):
    """A few verdicts spelled out, so the comparison above cannot pass by both being wrong."""
    shape = ("The body must be {\"documents\": [{\"id\", \"text\", \"title\", \"source\", "
             "\"date\"}, ...]} with at least one document.")
    for view, body, expected in (
            ("add_documents", {"documents": []}, ("refused", 400, shape)),
            ("add_documents", {"documents": [{}], "b": 1, "a": 2},
             ("refused", 400, "Unknown field(s): a, b.")),
            ("add_documents", {"documents": [{"id": "x", "text": " "}]},
             ("refused", 400, "documents[0] (x): 'text' is empty (nothing was changed)")),
            ("delete_documents", {"ids": ["a"], "x": 1},
             ("refused", 400, "The body must be {\"ids\": [\"doc-id\", ...]} with at least one id.")),
            ("delete_documents", {"ids": ["a"] * 10_001},
             ("refused", 400, "At most 10000 ids in one request; 10001 were sent.")),
            ("delete_documents", {"ids": ["a", "b"]}, ("changed", {"remove": ["a", "b"]})),
            ("rebuild_index", {"full": 1},
             ("refused", 400, "The optional body is {\"full\": true|false}.")),
            ("rebuild_index", {"full": True}, ("changed", {"rebuild": True, "full": True}))):
        old, new = verdicts(view, json.dumps(body).encode(), JSON)
        assert new == old == expected, (view, body)
    old, new = verdicts("rebuild_index", b"full", "text/plain")
    assert new == old == ("refused", 415, "Send the optional body as JSON, e.g. {\"full\": true}.")


def test_upload_form_verdicts_are_the_ones_before(verdicts, app):
    def form(*files, urls=()) -> tuple[bytes, str]:
        from werkzeug.test import EnvironBuilder

        data = {"files": [(io.BytesIO(raw), name) for name, raw in files], "url": list(urls)}
        environ = EnvironBuilder(method="POST", data=data).get_environ()
        return environ["wsgi.input"].read(), environ["CONTENT_TYPE"]   # with its boundary

    seen = set()
    for case in (form(("note.md", b"# Note\n\nText.")),
                 form(("note.md", b"Text."), urls=["https://example.org/n"]),
                 form(("note.md", b"Text."), urls=["javascript:x"]),
                 form(("note.md", b"Text."), ("b.txt", b"B."), urls=["https://example.org/n"]),
                 form(("/srv/x/note.exe", b"Text.")), form(("note.md", b""))):
        old, new = verdicts("add_documents", *case)
        assert new == old, case
        seen.add(old[0])
    assert seen == {"changed", "refused"}
    old, new = verdicts("add_documents", *form(("x.md", b"X."), urls=["javascript:x"]))
    assert old == new == ("refused", 400, "x.md: 'url' must be an http:// or https:// address, "
                                          "not 'javascript:x' (nothing was changed)")


# How admin.py and the app's handler told an AccordError before the one mapping (errors.py's
# reply_to), kept as the reference.

def old_change_failed(exc: AccordError) -> tuple[int, dict]:
    def failure(status, message):
        return status, {"error": {"code": CODES[status], "message": without_paths(message)}}
    if exc.status in (400, 404):
        return failure(exc.status, f"{exc} (nothing was changed)")
    if exc.status == 409:
        return failure(409, f"{exc}; try again later (nothing was changed)")
    return failure(400, f"The index could not be updated: {exc} (nothing was changed)")


def old_handler_message(exc: AccordError) -> str:
    message = without_paths(str(exc))
    if isinstance(exc, IndexUnavailable):
        message = f"The index is not available: {message}"
    return message


ERROR_TYPES = (AccordError, DocumentError, IndexUnavailable, BuildLocked, DocumentNotFound,
               ModelUnavailable, StartupError, FeedbackStoreError, SharedStoreError)


@pytest.mark.parametrize("kind", ERROR_TYPES, ids=lambda kind: kind.__name__)
def test_each_error_type_is_told_as_before(kind):
    """A change's failure keeps the status and message its job record had; the app's handler
    keeps its message (the status is the type's, as before)."""
    for text in ("plain", "no index in /srv/accord/index: build one", "/a/b/c.md: bad",
                 "~/x/y: gone", "id 'x'"):
        exc = kind(text)
        assert admin._failure(*reply_to(exc, change=True)) == old_change_failed(exc)
        status, message = reply_to(exc)
        assert status == kind.status and without_paths(message) == old_handler_message(exc)

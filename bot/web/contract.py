"""The HTTP contract defined once: request and reply models (pydantic) and the limits they hold;
validation.py checks requests with them and openapi.py publishes their JSON schemas."""
from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator,
                      WrapValidator, ValidatorFunctionWrapHandler)
from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from pydantic_core import PydanticCustomError, PydanticKnownError, core_schema

from ..text.normalize import normalize_text
from ..qa.followup import CONTEXT_TURNS
from ..qa.retrieval import FILTER_KEYS
from .errors import CODES

MAX_QUESTION = 1000
MAX_TURNS = 50
MAX_TURN_CHARS = 4000
# The latest turns, user and bot, a follow-up is resolved with; earlier ones are checked, not read.
HISTORY_READ = 2 * CONTEXT_TURNS
MAX_FILTER_CHARS = 4000   # no source or id is near this; it bounds the work on a filter value
MAX_K = 20
MAX_COMMENT = 1000
MAX_ANSWER = 4000
MAX_PASSAGE_IDS = MAX_K
MAX_PASSAGE_ID = 200
MAX_DELETE_IDS = 10_000
ROLES = ("user", "bot")
RATINGS = ("up", "down")
# At least one character that normalising keeps (not space, control or invisible format): the
# OpenAPI document states it as a pattern, so clients and fuzzers know "   " is no question.
VISIBLE = ("[^\\s\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890"
           "\\u0891\\u08e2\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff"
           "\\ufff9-\\ufffb]")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")   # fromisoformat alone also takes 20230511, 2023-W19
ANSWER_ID = "^[0-9a-f]{32}$"
REF = "#/components/schemas/{model}"


def limits() -> dict[str, int]:
    """The request limits /api/config gives the page and the widget, so neither hard-codes them."""
    return Limits(question_chars=MAX_QUESTION, history_turns=MAX_TURNS, turn_chars=MAX_TURN_CHARS,
                  k=MAX_K, comment_chars=MAX_COMMENT, answer_chars=MAX_ANSWER,
                  passage_ids=MAX_PASSAGE_IDS).model_dump()


def _text(limit: int, *, refuse_longer: bool = True, trim: bool = False, min_length: int = 0,
          normalize: bool = True, keep_newlines: bool = False, **field: Any) -> Any:
    """A string field checked as people's text is: the limit counts what the client sent (trimmed
    with `trim`), then the text is normalised and cut to the limit. The schema states the same
    limit. Checked here, not by pydantic's str: that refuses lone surrogates (JSON "\\ud800"),
    which normalising drops."""
    def check(value: Any, _str: ValidatorFunctionWrapHandler) -> str:
        if not isinstance(value, str):
            raise PydanticKnownError("string_type")
        if refuse_longer and len(value.strip() if trim else value) > limit:
            raise PydanticKnownError("string_too_long", {"max_length": limit})
        if normalize:
            value = normalize_text(value, keep_newlines=keep_newlines, limit=limit)
        if len(value) < min_length:
            raise PydanticKnownError("string_too_short", {"min_length": min_length})
        return value

    if refuse_longer:
        field["max_length"] = limit
    if min_length:
        field["min_length"] = min_length
    return Annotated[str, Field(**field), WrapValidator(check)]


def _iso_date(value: str) -> str:
    try:
        if not DATE.fullmatch(value):
            raise ValueError
        dt.date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date_format", "a date like 2023-05-11") from None
    return value


def _whole(value: Any) -> Any:
    # JSON Schema counts 5.0 as an integer, and so does the contract's document.
    return int(value) if isinstance(value, float) and value.is_integer() else value


Question = _text(MAX_QUESTION, trim=True, min_length=1, pattern=VISIBLE,
                 description=f"1 to {MAX_QUESTION} characters after trimming, not only spaces "
                             "or control characters.")
TurnText = _text(MAX_TURN_CHARS, normalize=False)   # the turns read are normalised (validation.py)
FilterText = _text(MAX_FILTER_CHARS, refuse_longer=False, min_length=1, pattern=VISIBLE)
FilterDate = Annotated[_text(MAX_FILTER_CHARS, refuse_longer=False, min_length=1,
                             json_schema_extra={"format": "date"}),
                       AfterValidator(_iso_date)]
PassageId = _text(MAX_PASSAGE_ID, normalize=False, min_length=1)   # normalised in validation.py
Comment = _text(MAX_COMMENT, keep_newlines=True)
AskedQuestion = _text(MAX_QUESTION)
GivenAnswer = _text(MAX_ANSWER)


def optional(**field: Any) -> Any:
    """A field sent only when it applies, never as null."""
    return Field(default=None, **field)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Turn(BaseModel):
    """One earlier turn of the conversation."""
    role: Literal[ROLES] = "user"   # type: ignore[valid-type]
    text: TurnText


class Filters(_Request):
    """Only passages matching every given filter are searched."""
    source: FilterText = optional()
    doc_id: FilterText = optional()
    date_from: FilterDate = optional()
    date_to: FilterDate = optional()


class AskRequest(_Request):
    """A question, with the conversation so far."""
    model_config = ConfigDict(json_schema_extra={"example": {
        "question": "What is Hong Kong's rank among Chongqing's trading partners?",
        "history": [], "k": 5}})
    question: Question
    history: Annotated[list[Turn], Field(max_length=MAX_TURNS)] | None = Field(
        default=None, description="Earlier turns, oldest first; follow-ups are resolved against "
                                  "them.")
    k: Annotated[int, Field(ge=1, le=MAX_K, strict=True), BeforeValidator(_whole)] = Field(
        default=5, description="How many citations at most.")
    filters: Filters | None = None


class FeedbackRequest(_Request):
    """A thumbs up or down on one answer; sending again for the same answer_id replaces the
    rating and adds the comment."""
    model_config = ConfigDict(json_schema_extra={"example": {
        "answer_id": "0123456789abcdef0123456789abcdef", "rating": "down",
        "comment": "It should name the date of the visit."}})
    answer_id: Annotated[str, Field(pattern=ANSWER_ID, strict=True,
                                    description="The answer_id of the /api/ask reply.")]
    rating: Literal[RATINGS]   # type: ignore[valid-type]
    comment: Comment | None = None
    question: AskedQuestion | None = Field(default=None, description="The question that was "
                                                                     "asked.")
    answer: GivenAnswer | None = Field(default=None, description="The answer that was given.")
    answered: Annotated[bool, Field(strict=True)] | None = None
    passage_ids: Annotated[list[PassageId], Field(max_length=MAX_PASSAGE_IDS)] | None = Field(
        default=None, description="passage_id of each citation of the answer.")


# The admin bodies (admin.py checks them). A model checks a body's shape; a document's and an
# id's own rules are checked where documents are read (bot/index/changes.py from_json,
# bot/corpus/reading.py check_doc_id), for the API and the CLI alike: the model passes those items
# on as sent, and only describes them.

def _as_sent(described: Any) -> Any:
    """An item taken as sent (its reader checks it), documented as the type `described`."""
    return Annotated[Any, PlainValidator(lambda value: value, json_schema_input_type=described)]


class NewDocument(_Request):
    """A document to add, stored as Markdown; an id already in the corpus is replaced."""
    id: str = Field(min_length=1)
    title: str = optional(min_length=1)
    text: str = Field(min_length=1)
    source: str = optional()
    date: str = optional(json_schema_extra={"format": "date"})
    url: str = optional(pattern="^https?://",
                        description="Where the document is published; citations link there.")


class AddDocumentsRequest(_Request):
    """Documents to add or replace, in one change."""
    documents: Annotated[list[_as_sent(NewDocument)],
                         Field(min_length=1, strict=True)]


class DeleteDocumentsRequest(_Request):
    """Documents to remove, in one change (one build); an unknown id changes nothing."""
    ids: Annotated[list[_as_sent(str)],
                   Field(min_length=1, max_length=MAX_DELETE_IDS, strict=True)]


class RebuildRequest(_Request):
    """The optional body of a rebuild."""
    full: Annotated[bool, Field(strict=True)] = Field(
        default=False, description="Re-encode everything, ignoring the build cache.")


# Replies: built by the code that answers (api.py, admin.py, ...); these models are what the
# document says they hold.

class DocumentRef(BaseModel):
    """Another passage with the same text."""
    passage_id: str
    doc_id: str
    title: str
    source: str
    date: str | None


class Citation(BaseModel):
    """A passage the answer cites (or, in related, one it does not)."""
    n: int = Field(ge=1, description="The [n] marker in the answer.")
    doc_id: str
    title: str
    source: str
    date: str | None
    passage_id: str
    section: str | None = None
    text: str = Field(description="The whole passage, as stored.")
    highlights: list[Annotated[list[Annotated[int, Field(ge=0)]],
                               Field(min_length=2, max_length=2)]] = Field(
        description="[start, end) character offsets into text of the answering sentences.")
    score: float
    also_in: list[DocumentRef] = optional(description="Other passages with the same text.")
    page: int = optional(ge=1, description="The PDF page the passage is on (PDF documents only).")
    url: str = optional(description="Where to open the original at the cited place: this "
                        "server's /viewer/<doc_id>?page=&text= (a path on this server) for a PDF "
                        "or .docx, else the document's own url with a #:~:text= fragment.")
    document_url: str = optional(description="The document's own address (where it is "
                                 "published), when it has one.")


class AskReply(BaseModel):
    """The answer to POST /api/ask."""
    answered: bool = Field(description="False when the documents hold no answer; then citations "
                                       "is empty.")
    answer: str = Field(description="Sentences from the cited passages, each followed by its [n] "
                                    "marker; when not answered, what the texts do not say and "
                                    "what they say nearby.")
    citations: list[Citation] = Field(description="The passages the answer cites, each cited, "
                                                  "numbered in the order the answer first cites "
                                                  "them.")
    related: list[Citation] = optional(description="Passages retrieved but not cited (no "
                                       "highlights); when not answered, the nearest passages.")
    query: str = Field(description="The standalone query that was searched.")
    confidence: float = optional(ge=0, le=1)
    took_ms: float
    answer_id: str = optional(pattern=ANSWER_ID,
                              description="Names this answer in POST /api/feedback.")


class FeedbackReply(BaseModel):
    """The feedback is stored."""
    status: Literal["recorded"]
    answer_id: str
    rating: Literal[RATINGS]   # type: ignore[valid-type]


class Limits(BaseModel):
    """The API's request limits."""
    question_chars: int
    history_turns: int
    turn_chars: int
    k: int
    comment_chars: int
    answer_chars: int
    passage_ids: int


class ChatConfig(BaseModel):
    """What the widget shows and the API's request limits (GET /api/config)."""
    title: str
    description: str = optional()
    greeting: str
    examples: list[str]
    lang: str = optional(description="The language of these texts, when ?lang= or "
                                     "Accept-Language chose one (the page).")
    translations: dict[str, Any] = optional(description="The same fields per language "
                                                        "(zh-Hant, zh-Hans).")
    limits: Limits
    stores_questions: bool


class ErrorDetail(BaseModel):
    code: str = Field(json_schema_extra={"enum": sorted(set(CODES.values()))})
    message: str = Field(min_length=1, description="What went wrong and what to do about it.")


class Error(BaseModel):
    """Every 4xx and 5xx reply."""
    error: ErrorDetail


class Health(BaseModel):
    """Whether the index is loaded, and what it holds."""
    status: Literal["ok", "stale", "unavailable"] = Field(
        description="stale: this worker serves index_version, not the current_version on disk "
                    "(refused, or still loading).")
    current_version: str | None = Field(default=None,
                                        description="The version index/current points at.")
    documents: int = Field(ge=0)
    passages: int = Field(ge=0)
    model: str
    index_version: str | None
    built_at: str | None
    problem: str = optional(description="Why the index is unavailable.")
    worker: int = optional(description="Process id of the worker that answered: each gunicorn "
                                       "worker reports the index version it serves.")
    shared: dict[str, Any] = optional(description="A replica: the version in shared storage, and "
                                                  "any problem pulling it.")
    error: ErrorDetail = optional()


class Document(BaseModel):
    """An indexed document."""
    doc_id: str
    title: str
    source: str
    date: str | None
    passages: int = Field(ge=0)
    url: str = optional(description="The document's own address, when known.")
    pages: int = optional(ge=1, description="Pages of a PDF.")
    original: str = optional(description="Path of the kept original (PDF, .docx) on this "
                                         "server: GET /api/documents/<doc_id>/original.")


class DocumentList(BaseModel):
    """The indexed documents with their metadata and passage counts."""
    documents: list[Document]
    count: int = Field(ge=0)
    passages: int = Field(ge=0)
    index_version: str
    built_at: str


class Changes(BaseModel):
    """Document ids by what happened to them in the corpus."""
    added: list[str] = optional()
    replaced: list[str] = optional()
    removed: list[str] = optional()
    unchanged: list[str] = optional()


class Skipped(BaseModel):
    file: str = optional()
    reason: str = optional()


class UnreadPage(BaseModel):
    file: str = optional()
    page: int = optional()
    reason: str = optional()


class BuildSummary(BaseModel):
    """What a build read, encoded and wrote."""
    index_version: str = optional()
    documents: int = optional()
    passages: int = optional()
    added: list[str] = optional()
    changed: list[str] = optional()
    removed: list[str] = optional()
    unchanged: int = optional()
    skipped: list[Skipped] = optional()
    encoded: int = optional()
    reused: int = optional()
    ocr_pages: int = optional(description="PDF pages read by OCR.")
    unread_pages: list[UnreadPage] = optional(description="Scanned PDF pages that could not be "
                                              "read, and why (what to install).")
    seconds: float = optional()
    waited_for_other_build: bool = optional()


class IndexUpdate(BaseModel):
    """What changed, and the index version now published."""
    status: Literal["rebuilt", "unchanged"]
    index_version: str
    documents: int = optional(ge=0)
    passages: int = optional(ge=0)
    changes: Changes
    build: BuildSummary | None = Field(description="The build summary; null when nothing "
                                                   "changed and nothing was built.")


class JobAccepted(BaseModel):
    """The change did not finish within a few seconds; it goes on as a job."""
    status: Literal["running"]
    job_id: str = Field(pattern="^[0-9a-f]{16}$")
    location: str = Field(description="Where to poll: the Location header.")
    poll_after: int = optional(description="Seconds between polls.")


class Job(BaseModel):
    """An admin change run as a job; any worker answers for it."""
    job_id: str
    kind: str = optional()
    status: Literal["running", "done", "failed"]
    stage: str = Field(description="queued, journalled, corpus written, reading, encoding, "
                                   "writing, checking, publishing, done.")
    created: str = optional()
    updated: str = optional()
    http_status: int | None = Field(default=None, description="The status the request would "
                                                              "have had.")
    result: dict[str, Any] | None = Field(default=None,
                                          description="The IndexUpdate reply, once done.")
    error: ErrorDetail | None = None


MODELS: tuple[type[BaseModel], ...] = (AskRequest, AskReply, FeedbackRequest, FeedbackReply,
                                       ChatConfig, Health, DocumentList, Error, IndexUpdate,
                                       JobAccepted, Job, NewDocument, AddDocumentsRequest,
                                       DeleteDocumentsRequest, RebuildRequest)


class _Generator(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: core_schema.CoreSchema) -> bool:
        return False   # it only repeats the field's name

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> dict[str, Any]:
        # A field a client may leave out but not send as null: None is "not sent", no default.
        if schema.get("default", ...) is None and schema["schema"]["type"] != "nullable":
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)

    def model_schema(self, schema: core_schema.ModelSchema) -> dict[str, Any]:
        json_schema = super().model_schema(schema)
        if "description" in json_schema:   # a docstring's line breaks are not the text's
            json_schema["description"] = " ".join(json_schema["description"].split())
        return json_schema


def component_schemas() -> dict[str, dict[str, Any]]:
    """The JSON schema of every model and of the models they hold, by name, with references
    into an OpenAPI document's components."""
    _, top = models_json_schema([(m, "validation") for m in MODELS], ref_template=REF,
                                schema_generator=_Generator)
    return top["$defs"]


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """One model's schema as it stands in the document's components."""
    schema = model.model_json_schema(ref_template=REF, schema_generator=_Generator)
    schema.pop("$defs", None)
    return schema

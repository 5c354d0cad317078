"""The OpenAPI 3.1 description of the HTTP API, served at /openapi.json."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from ..version import __version__
from ..qa.retrieval import FILTER_KEYS
from .errors import CODES
from .validation import (MAX_ANSWER, MAX_COMMENT, MAX_K, MAX_PASSAGE_ID, MAX_PASSAGE_IDS,
                         MAX_QUESTION, MAX_TURN_CHARS, MAX_TURNS, RATINGS, ROLES, VISIBLE)

bp = Blueprint("openapi", __name__)

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


NULLABLE_STRING = {"type": ["string", "null"]}

SCHEMAS: dict[str, Any] = {
    "Turn": {
        "type": "object",
        "required": ["text"],
        "properties": {
            "role": {"type": "string", "enum": list(ROLES), "default": "user"},
            "text": {"type": "string", "maxLength": MAX_TURN_CHARS},
        },
    },
    "Filters": {
        "type": "object",
        "additionalProperties": False,
        "description": "Only passages matching every given filter are searched.",
        "properties": {
            "source": {"type": "string", "minLength": 1, "pattern": VISIBLE},
            "doc_id": {"type": "string", "minLength": 1, "pattern": VISIBLE},
            "date_from": {"type": "string", "format": "date"},
            "date_to": {"type": "string", "format": "date"},
        },
    },
    "AskRequest": {
        "type": "object",
        "required": ["question"],
        "additionalProperties": False,
        "properties": {
            "question": {"type": "string", "minLength": 1, "maxLength": MAX_QUESTION,
                         "pattern": VISIBLE,
                         "description": f"1 to {MAX_QUESTION} characters after trimming, not "
                                        "only spaces or control characters."},
            "history": {"type": ["array", "null"], "maxItems": MAX_TURNS, "items": _ref("Turn"),
                        "description": "Earlier turns, oldest first; follow-ups are resolved "
                                       "against them."},
            "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 5,
                  "description": "How many citations at most."},
            "filters": {"anyOf": [_ref("Filters"), {"type": "null"}]},
        },
        "example": {"question": "What is Hong Kong's rank among Chongqing's trading partners?",
                    "history": [], "k": 5},
    },
    "DocumentRef": {
        "type": "object",
        "required": ["passage_id", "doc_id", "title", "source", "date"],
        "properties": {
            "passage_id": {"type": "string"},
            "doc_id": {"type": "string"},
            "title": {"type": "string"},
            "source": {"type": "string"},
            "date": NULLABLE_STRING,
        },
    },
    "Citation": {
        "type": "object",
        "required": ["n", "doc_id", "title", "source", "date", "passage_id", "text",
                     "highlights", "score"],
        "properties": {
            "n": {"type": "integer", "minimum": 1, "description": "The [n] marker in the answer."},
            "doc_id": {"type": "string"},
            "title": {"type": "string"},
            "source": {"type": "string"},
            "date": NULLABLE_STRING,
            "passage_id": {"type": "string"},
            "section": NULLABLE_STRING,
            "text": {"type": "string", "description": "The whole passage, as stored."},
            "highlights": {
                "type": "array",
                "description": "[start, end) character offsets into text of the answering "
                               "sentences.",
                "items": {"type": "array", "items": {"type": "integer", "minimum": 0},
                          "minItems": 2, "maxItems": 2},
            },
            "score": {"type": "number"},
            "also_in": {"type": "array", "items": _ref("DocumentRef"),
                        "description": "Other passages with the same text."},
            "page": {"type": "integer", "minimum": 1,
                     "description": "The PDF page the passage is on (PDF documents only)."},
            "url": {"type": "string", "description": "Where to open the original at the cited "
                    "place: this server's /viewer/<doc_id>?page=&text= (a path on this server) "
                    "for a PDF or .docx, else the document's own url with a #:~:text= fragment."},
            "document_url": {"type": "string", "description": "The document's own address "
                             "(where it is published), when it has one."},
        },
    },
    "AskReply": {
        "type": "object",
        "required": ["answered", "answer", "citations", "query", "took_ms"],
        "properties": {
            "answered": {"type": "boolean",
                         "description": "False when the documents hold no answer; then "
                                        "citations is empty."},
            "answer": {"type": "string",
                       "description": "Sentences from the cited passages, each followed by "
                                      "its [n] marker; when not answered, what the texts do "
                                      "not say and what they say nearby."},
            "citations": {"type": "array", "items": _ref("Citation"),
                          "description": "The passages the answer cites, each cited, numbered "
                                         "in the order the answer first cites them."},
            "related": {"type": "array", "items": _ref("Citation"),
                        "description": "Passages retrieved but not cited (no highlights); "
                                       "when not answered, the nearest passages."},
            "query": {"type": "string", "description": "The standalone query that was searched."},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "took_ms": {"type": "number"},
            "answer_id": {"type": "string", "pattern": "^[0-9a-f]{32}$",
                          "description": "Names this answer in POST /api/feedback."},
        },
    },
    "FeedbackRequest": {
        "type": "object",
        "required": ["answer_id", "rating"],
        "additionalProperties": False,
        "description": "A thumbs up or down on one answer; sending again for the same answer_id "
                       "replaces the rating and adds the comment.",
        "properties": {
            "answer_id": {"type": "string", "pattern": "^[0-9a-f]{32}$",
                          "description": "The answer_id of the /api/ask reply."},
            "rating": {"type": "string", "enum": list(RATINGS)},
            "comment": {"type": ["string", "null"], "maxLength": MAX_COMMENT},
            "question": {"type": ["string", "null"], "maxLength": MAX_QUESTION,
                         "description": "The question that was asked."},
            "answer": {"type": ["string", "null"], "maxLength": MAX_ANSWER,
                       "description": "The answer that was given."},
            "answered": {"type": ["boolean", "null"]},
            "passage_ids": {"type": ["array", "null"], "maxItems": MAX_PASSAGE_IDS,
                            "items": {"type": "string", "minLength": 1,
                                      "maxLength": MAX_PASSAGE_ID},
                            "description": "passage_id of each citation of the answer."},
        },
        "example": {"answer_id": "0123456789abcdef0123456789abcdef", "rating": "down",
                    "comment": "It should name the date of the visit."},
    },
    "FeedbackReply": {
        "type": "object",
        "required": ["status", "answer_id", "rating"],
        "properties": {
            "status": {"type": "string", "enum": ["recorded"]},
            "answer_id": {"type": "string"},
            "rating": {"type": "string", "enum": list(RATINGS)},
        },
    },
    "ChatConfig": {
        "type": "object",
        "description": "What the widget shows and the API's request limits (GET /api/config).",
        "properties": {
            "title": {"type": "string"}, "description": {"type": "string"},
            "greeting": {"type": "string"},
            "examples": {"type": "array", "items": {"type": "string"}},
            "translations": {"type": "object", "description": "The same fields per language "
                                                              "(zh-Hant, zh-Hans)."},
            "limits": {"type": "object", "additionalProperties": {"type": "integer"},
                       "description": "question_chars, history_turns, turn_chars, k, "
                                      "comment_chars, answer_chars, passage_ids."},
            "stores_questions": {"type": "boolean"},
        },
        "required": ["title", "greeting", "examples", "limits", "stores_questions"],
    },
    "Health": {
        "type": "object",
        "required": ["status", "documents", "passages", "model", "index_version", "built_at"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "stale", "unavailable"],
                       "description": "stale: this worker serves index_version, not the "
                                      "current_version on disk (refused, or still loading)."},
            "current_version": {"type": ["string", "null"],
                                "description": "The version index/current points at."},
            "documents": {"type": "integer", "minimum": 0},
            "passages": {"type": "integer", "minimum": 0},
            "model": {"type": "string"},
            "index_version": NULLABLE_STRING,
            "built_at": NULLABLE_STRING,
            "problem": {"type": "string", "description": "Why the index is unavailable."},
            "worker": {"type": "integer", "description": "Process id of the worker that answered: "
                       "each gunicorn worker reports the index version it serves."},
            "error": _ref("ErrorDetail"),
        },
    },
    "Document": {
        "type": "object",
        "required": ["doc_id", "title", "source", "date", "passages"],
        "properties": {
            "doc_id": {"type": "string"},
            "title": {"type": "string"},
            "source": {"type": "string"},
            "date": NULLABLE_STRING,
            "passages": {"type": "integer", "minimum": 0},
            "url": {"type": "string", "description": "The document's own address, when known."},
            "pages": {"type": "integer", "minimum": 1, "description": "Pages of a PDF."},
            "original": {"type": "string", "description": "Path of the kept original (PDF, "
                         ".docx) on this server: GET /api/documents/<doc_id>/original."},
        },
    },
    "DocumentList": {
        "type": "object",
        "required": ["documents", "count", "passages", "index_version", "built_at"],
        "properties": {
            "documents": {"type": "array", "items": _ref("Document")},
            "count": {"type": "integer", "minimum": 0},
            "passages": {"type": "integer", "minimum": 0},
            "index_version": {"type": "string"},
            "built_at": {"type": "string"},
        },
    },
    "NewDocument": {
        "type": "object",
        "required": ["id", "text"],
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "title": {"type": "string", "minLength": 1},
            "text": {"type": "string", "minLength": 1},
            "source": {"type": "string"},
            "date": {"type": "string", "format": "date"},
            "url": {"type": "string", "pattern": "^https?://",
                    "description": "Where the document is published; citations link there."},
        },
    },
    "AddDocumentsRequest": {
        "type": "object",
        "required": ["documents"],
        "properties": {"documents": {"type": "array", "minItems": 1,
                                     "items": _ref("NewDocument")}},
    },
    "IndexUpdate": {
        "type": "object",
        "description": "What changed, and the index version now published.",
        "required": ["status", "index_version", "changes", "build"],
        "properties": {
            "status": {"type": "string", "enum": ["rebuilt", "unchanged"]},
            "index_version": {"type": "string"},
            "documents": {"type": "integer", "minimum": 0},
            "passages": {"type": "integer", "minimum": 0},
            "changes": {
                "type": "object",
                "description": "Document ids by what happened to them in the corpus.",
                "properties": {k: {"type": "array", "items": {"type": "string"}}
                               for k in ("added", "replaced", "removed", "unchanged")},
            },
            "build": {
                "description": "The build summary; null when nothing changed and nothing was built.",
                "oneOf": [{"type": "null"}, {
                    "type": "object",
                    "properties": {
                        "index_version": {"type": "string"},
                        "documents": {"type": "integer"}, "passages": {"type": "integer"},
                        "added": {"type": "array", "items": {"type": "string"}},
                        "changed": {"type": "array", "items": {"type": "string"}},
                        "removed": {"type": "array", "items": {"type": "string"}},
                        "unchanged": {"type": "integer"},
                        "skipped": {"type": "array", "items": {
                            "type": "object", "properties": {"file": {"type": "string"},
                                                             "reason": {"type": "string"}}}},
                        "encoded": {"type": "integer"}, "reused": {"type": "integer"},
                        "ocr_pages": {"type": "integer", "description": "PDF pages read by OCR."},
                        "unread_pages": {"type": "array", "description": "Scanned PDF pages "
                                         "that could not be read, and why (what to install).",
                                         "items": {"type": "object", "properties": {
                                             "file": {"type": "string"}, "page": {"type": "integer"},
                                             "reason": {"type": "string"}}}},
                        "seconds": {"type": "number"},
                        "waited_for_other_build": {"type": "boolean"},
                    },
                }],
            },
        },
    },
    "JobAccepted": {
        "type": "object",
        "description": "The change did not finish within a few seconds; it goes on as a job.",
        "required": ["status", "job_id", "location"],
        "properties": {
            "status": {"type": "string", "enum": ["running"]},
            "job_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
            "location": {"type": "string", "description": "Where to poll: the Location header."},
            "poll_after": {"type": "integer", "description": "Seconds between polls."},
        },
    },
    "Job": {
        "type": "object",
        "description": "An admin change run as a job; any worker answers for it.",
        "required": ["job_id", "status", "stage"],
        "properties": {
            "job_id": {"type": "string"},
            "kind": {"type": "string"},
            "status": {"type": "string", "enum": ["running", "done", "failed"]},
            "stage": {"type": "string", "description": "queued, journalled, corpus written, "
                      "reading, encoding, writing, checking, publishing, done."},
            "created": {"type": "string"}, "updated": {"type": "string"},
            "http_status": {"type": ["integer", "null"],
                            "description": "The status the request would have had."},
            "result": {"description": "The IndexUpdate reply, once done.",
                       "oneOf": [{"type": "null"}, {"type": "object"}]},
            "error": {"oneOf": [{"type": "null"}, _ref("ErrorDetail")]},
        },
    },
    "DeleteDocumentsRequest": {
        "type": "object",
        "required": ["ids"],
        "additionalProperties": False,
        "properties": {"ids": {"type": "array", "minItems": 1, "maxItems": 10_000,
                               "items": {"type": "string"}}},
    },
    "ErrorDetail": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "enum": sorted(set(CODES.values()))},
            "message": {"type": "string", "minLength": 1,
                        "description": "What went wrong and what to do about it."},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": _ref("ErrorDetail")},
    },
}

ERRORS = {
    "400": _error("bad_request: the body breaks a rule; the message names it."),
    "401": _error("unauthorized: missing or wrong admin token, or no token configured."),
    "404": _error("not_found"),
    "409": _error("conflict: another index build holds the lock; retry later."),
    "405": _error("method_not_allowed"),
    "413": _error("payload_too_large: the body is over the server's limit."),
    "415": _error("unsupported_media_type: the body is not sent as application/json."),
    "429": {**_error("rate_limited: too many requests from this client; wait as Retry-After "
                     "says."),
            "headers": {"Retry-After": {"description": "Seconds to wait before trying again.",
                                        "schema": {"type": "integer", "minimum": 1}}}},
    "500": _error("internal: the message repeats the request id the server logged."),
    "503": _error("index_unavailable: no usable index is loaded."),
}


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: ERRORS[status] for status in statuses}


ADMIN = {"security": [{"bearerAuth": []}], "tags": ["admin"]}
ACCEPTED = {"202": {**_json(_ref("JobAccepted"), "Not done within a few seconds: poll the job "
                                                  "at the Location header."),
                    "headers": {"Location": {"schema": {"type": "string"}},
                                "Retry-After": {"schema": {"type": "integer"}}}}}
METRICS_TEXT = "text/plain"


def paths() -> dict[str, Any]:
    """Every route the app serves, with the replies it can give."""
    return {
        "/api/ask": {"post": {
            "operationId": "ask", "tags": ["api"],
            "summary": "Answer a question from the documents, with numbered citations.",
            "requestBody": {"required": True,
                            "content": {JSON: {"schema": _ref("AskRequest")}}},
            "responses": {"200": _json(_ref("AskReply"), "The answer, or answered=false."),
                          **_errors("400", "413", "415", "429", "500", "503")},
        }},
        "/api/feedback": {"post": {
            "operationId": "feedback", "tags": ["api"],
            "summary": "Rate an answer (thumbs up or down), with an optional comment.",
            "requestBody": {"required": True,
                            "content": {JSON: {"schema": _ref("FeedbackRequest")}}},
            "responses": {"200": _json(_ref("FeedbackReply"), "The feedback is stored."),
                          **_errors("400", "404", "413", "415", "429", "500")},
        }},
        "/api/health": {"get": {
            "operationId": "health", "tags": ["api"],
            "summary": "Whether the index is loaded, and what it holds.",
            "responses": {"200": _json(_ref("Health"), "The index is loaded."),
                          "503": _json(_ref("Health"), "No usable index: status is "
                                                       "'unavailable' and error says why.")},
        }},
        "/api/config": {"get": {
            "operationId": "chatConfig", "tags": ["api"],
            "summary": "The chat's title, greeting and example questions, and the request limits.",
            "responses": {"200": _json(_ref("ChatConfig"), "The widget's settings.")},
        }},
        "/api/documents": {
            "get": {
                "operationId": "listDocuments", "tags": ["api"],
                "summary": "The indexed documents with their metadata and passage counts.",
                "responses": {"200": _json(_ref("DocumentList"), "The documents."),
                              **_errors("500", "503")},
            },
            "post": {
                "operationId": "addDocuments", **ADMIN,
                "summary": "Add or replace documents, then update the index while serving.",
                "requestBody": {"required": True, "content": {
                    JSON: {"schema": _ref("AddDocumentsRequest")},
                    "multipart/form-data": {"schema": {
                        "type": "object", "required": ["files"],
                        "properties": {"files": {
                            "type": "array", "description": ".txt, .md, .html, .pdf or .docx files",
                            "items": {"type": "string", "contentMediaType":
                                      "application/octet-stream"}},
                            "url": {
                                "type": "array", "description": "Where each file is published "
                                "(http or https), one per file in the order of the files; "
                                "citations name it.",
                                "items": {"type": "string", "pattern": "^https?://",
                                          "maxLength": 2008}}}}},
                }},
                "responses": {"200": _json(_ref("IndexUpdate"), "The updated index."),
                              **ACCEPTED,
                              **_errors("400", "401", "409", "413", "415", "429", "500", "503")},
            },
            "delete": {
                "operationId": "deleteDocuments", **ADMIN,
                "summary": "Remove many documents in one change (one build); an unknown id "
                           "changes nothing.",
                "requestBody": {"required": True,
                                "content": {JSON: {"schema": _ref("DeleteDocumentsRequest")}}},
                "responses": {"200": _json(_ref("IndexUpdate"), "The updated index."),
                              **ACCEPTED, **_errors("400", "401", "404", "409", "413", "415",
                                                    "429", "500", "503")},
            },
        },
        "/api/index/jobs/{job_id}": {"get": {
            "operationId": "indexJob", **ADMIN,
            "summary": "The status of an admin change that answered 202.",
            "parameters": [{"name": "job_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": _json(_ref("Job"), "The job."),
                          **_errors("401", "404", "429", "500")},
        }},
        "/api/documents/{doc_id}": {"delete": {
            "operationId": "deleteDocument", **ADMIN,
            "summary": "Remove a document from the index.",
            "parameters": [{"name": "doc_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": _json(_ref("IndexUpdate"), "The updated index."), **ACCEPTED,
                          **_errors("400", "401", "404", "409", "429", "500", "503")},
        }},
        "/api/documents/{doc_id}/original": {"get": {
            "operationId": "getOriginal",
            "summary": "The PDF or .docx file a document was read from, as it was added.",
            "parameters": [{"name": "doc_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The original file.", "content": {
                "application/pdf": {"schema": {"type": "string", "contentMediaType": "application/pdf"}},
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {
                    "schema": {"type": "string"}}}},
                          **_errors("404", "429", "500", "503")},
        }},
        "/api/index/rebuild": {"post": {
            "operationId": "rebuildIndex", **ADMIN,
            "summary": "Rebuild the index from the corpus folder.",
            "requestBody": {"required": False, "content": {JSON: {"schema": {
                "type": "object", "additionalProperties": False,
                "properties": {"full": {"type": "boolean", "description":
                                        "Re-encode everything, ignoring the build cache."}}}}}},
            "responses": {"200": _json(_ref("IndexUpdate"), "The rebuilt index."), **ACCEPTED,
                          **_errors("400", "401", "409", "415", "429", "500", "503")},
        }},
        "/metrics": {"get": {
            "operationId": "metrics", "tags": ["meta"], "security": [{"metricsAuth": []}],
            "summary": "Prometheus metrics: requests and latencies by endpoint and status, "
                       "answered and unanswered questions, feedback, the index served. Needs "
                       "the bearer token of ACCORD_METRICS_TOKEN; closed without one.",
            "responses": {"200": {"description": "Prometheus text exposition format",
                                  "content": {METRICS_TEXT: {"schema": {"type": "string"}}}},
                          **_errors("401", "429", "500")},
        }},
        "/openapi.json": {"get": {
            "operationId": "openapi", "tags": ["meta"],
            "summary": "This document.",
            "responses": {"200": {"description": "OpenAPI 3.1 document",
                                  "content": {JSON: {"schema": {"type": "object"}}}}},
        }},
        "/": {"get": {
            "operationId": "chatPage", "tags": ["pages"],
            "summary": "The full-page chat.",
            "responses": {"200": {"description": "HTML page",
                                  "content": {"text/html": {"schema": {"type": "string"}}}}},
        }},
        "/widget.js": {"get": {
            "operationId": "widget", "tags": ["pages"],
            "summary": "The embeddable chat widget: one script, configured by data- attributes "
                       "(data-title, data-accent, data-position, data-greeting).",
            "responses": {"200": {"description": "JavaScript",
                                  "content": {"application/javascript":
                                              {"schema": {"type": "string"}}}}},
        }},
        "/viewer/{doc_id}": {"get": {
            "operationId": "viewer", "tags": ["pages"],
            "summary": "The original of a PDF (pdf.js) or .docx at ?page=, each ?text= sentence "
                       "highlighted: what a citation's url opens.",
            "parameters": [{"name": "doc_id", "in": "path", "required": True,
                            "schema": {"type": "string"}},
                           {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                           {"name": "text", "in": "query", "schema": {"type": "array",
                            "items": {"type": "string"}, "maxItems": 5}}],
            "responses": {"200": {"description": "HTML page",
                                  "content": {"text/html": {"schema": {"type": "string"}}}},
                          **_errors("404", "503")},
        }},
        "/pdfjs/{name}": {"get": {
            "operationId": "pdfjs", "tags": ["pages"],
            "summary": "pdf.js files (build/, web/, cmaps/, standard_fonts/ of pdfjs-dist) for the viewer.",
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "A file of pdfjs-dist",
                                  "content": {"*/*": {"schema": {"type": "string"}}}},
                          **_errors("404")},
        }},
    }


def spec() -> dict[str, Any]:
    """The whole OpenAPI document; the server URL is wherever the app is mounted."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Accord API", "version": __version__,
                 "description": "Cited answers from the texts about Hong Kong's cooperation "
                                "agreements. Every 4xx and 5xx reply has the Error shape; every "
                                "reply carries an X-Request-ID header (a sane incoming one is "
                                "kept), which the server's log lines repeat."},
        "servers": [{"url": request.script_root or "/"}],
        "tags": [{"name": "api"}, {"name": "admin", "description": "Needs the bearer token "
                                                                    "of ACCORD_ADMIN_TOKEN."},
                 {"name": "pages"}, {"name": "meta"}],
        "paths": paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "The admin token of ACCORD_ADMIN_TOKEN."},
                "metricsAuth": {"type": "http", "scheme": "bearer",
                                "description": "The token of ACCORD_METRICS_TOKEN."},
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(spec())

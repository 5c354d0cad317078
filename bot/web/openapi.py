"""The OpenAPI 3.1 description of the HTTP API, served at /openapi.json."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from ..version import __version__
from .contract import REF, component_schemas

bp = Blueprint("openapi", __name__)

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


SCHEMAS: dict[str, Any] = component_schemas()   # every body's, from the models (contract.py)

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
                    # By hand: no model reads the form (files and url fields; admin.py and
                    # from_upload check them), and pydantic has no schema for a file part.
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
            "requestBody": {"required": False,
                            "content": {JSON: {"schema": _ref("RebuildRequest")}}},
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

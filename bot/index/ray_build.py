"""Builds on a Ray cluster: reading/splitting and embedding as Ray Data pipelines, the rest
(cache, manifest, checks, the atomic switch) exactly as a local build does it.

Only the two costly stages move: documents are parsed by Ray tasks, passages and sentences are
embedded by a pool of actors that each hold the model. The driver keeps the build cache: it
sends only the texts the cache lacks and stores every vector that comes back, whichever worker
made it, so the next build (local or on Ray) reuses them."""
from __future__ import annotations

import functools
from typing import Any, Callable, Iterator

import numpy as np

from .build_cache import BuildCache, text_key
from ..errors import AccordError

INSTALL_HINT = "Ray is not installed: pip install 'accord-bot[ray]' (or pip install 'ray[data]')"
BATCH = 64              # texts per model call, as in a local build
ACTOR_BATCH = 1024      # texts per actor call: fewer, larger tasks spend less on scheduling
BLOCKS_PER_ACTOR = 4    # input blocks per worker: enough to keep each busy, few to schedule
TASK_RETRIES = 1        # a task whose worker died is run again this often, then the build fails
ACTOR_RESTARTS = 1      # a model-holding actor that died is restarted this often


class RayUnavailable(AccordError):
    """Ray is not installed, or its cluster cannot be reached."""


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailable(INSTALL_HINT) from None
    return ray


def connect(address: str | None) -> Any:
    """The ray module, connected to `address` ("auto", "ray://host:10001", "host:6379") or, with
    none, to a cluster this process already joined, else to a new local one."""
    ray = _ray()
    address = None if address in (None, "", "local") else address
    if not ray.is_initialized():
        try:
            ray.init(address=address or None, include_dashboard=False, log_to_driver=False,
                     logging_level="WARNING")
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayUnavailable(f"cannot reach the Ray cluster at {address or 'local'}: "
                                 f"{str(exc)[:300]}") from None
    return ray


def worker_encoder(encoder: Any) -> Callable[[], Any]:
    """A picklable recipe that makes, on a worker, an encoder giving the same vectors: the
    sentence-transformers model is loaded there from its path (one thread per actor: one actor
    per core), any other encoder travels as it is."""
    from ..embedding.encoder import SentenceTransformerEncoder

    if isinstance(encoder, SentenceTransformerEncoder):
        return functools.partial(SentenceTransformerEncoder, encoder.path, threads=1,
                                 query_backend="torch", precision=encoder.precision)
    return functools.partial(_same, encoder)


def _same(encoder: Any) -> Any:
    return encoder


class Embedder:
    """A Ray Data actor: the model, loaded once, embeds batches of texts."""

    def __init__(self, make_encoder: Callable[[], Any]) -> None:
        self.encoder = make_encoder()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        return {"i": batch["i"], "vector": self.encoder.encode(texts, batch_size=BATCH)}


def _parse_batch(batch: dict[str, np.ndarray], parse: Callable[..., Any]) -> dict[str, np.ndarray]:
    import json

    out = [json.dumps(parse(bytes(raw), str(doc_id), str(name), str(suffix)))
           for raw, doc_id, name, suffix in zip(batch["raw"], batch["doc_id"], batch["name"],
                                                batch["suffix"])]
    return {"i": batch["i"], "parsed": np.array(out, dtype=object)}


class RayRunner:
    """The reading and encoding stages of build_locked, run on a Ray cluster."""

    def __init__(self, encoder: Any, address: str | None = None) -> None:
        self.ray = connect(address)
        self.address = address if address not in (None, "") else "local"
        self.make_encoder = worker_encoder(encoder)
        resources = self.ray.cluster_resources()
        self.gpus = int(resources.get("GPU", 0))
        # One model-holding actor per core (or per GPU): each runs torch on one thread.
        self.actors = max(1, self.gpus or int(resources.get("CPU", 1)))

    def facts(self) -> dict[str, Any]:
        """How the build ran, for the manifest's `build` facts."""
        return {"runner": "ray", "address": self.address, "actors": self.actors,
                "gpus": self.gpus, "ray": self.ray.__version__}

    def parse_all(self, jobs: list[tuple[bytes, str, str, str]], parse: Callable[..., Any],
                  small: int) -> list[dict | str]:
        """`parse` (the build's own reader) of every job, in order, as Ray tasks; the build
        passes it in, so this module does not import the build that imports it."""
        import json

        if sum(len(job[0]) for job in jobs) < small:
            # As a local build: so little is read faster here than Ray starts workers for it.
            return [parse(*job) for job in jobs]
        data = self.ray.data.from_items(
            [{"i": i, "raw": raw, "doc_id": d, "name": n, "suffix": s}
             for i, (raw, d, n, s) in enumerate(jobs)],
            override_num_blocks=min(len(jobs), BLOCKS_PER_ACTOR * self.actors))
        try:
            # One batch per block: a task per block, not per few documents.
            rows = data.map_batches(_parse_batch, fn_kwargs={"parse": parse}, batch_size=None,
                                    batch_format="numpy",
                                    max_retries=TASK_RETRIES).take_all()
        except Exception as exc:
            raise AccordError(f"the Ray build failed while reading: "
                              f"{type(exc).__name__}: {str(exc)[:500]}") from None
        out: list[Any] = [None] * len(jobs)
        for row in rows:
            out[int(row["i"])] = json.loads(row["parsed"])
        return out

    def vectors(self, texts: list[str], dimension: int) -> Iterator[tuple[list[int], np.ndarray]]:
        """(positions in `texts`, their vectors), batch by batch as the actors finish them."""
        blocks = max(1, min(-(-len(texts) // BATCH), max(BLOCKS_PER_ACTOR * self.actors,
                                                         -(-len(texts) // ACTOR_BATCH))))
        data = self.ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)],
                                        override_num_blocks=blocks)
        embedded = data.map_batches(
            Embedder, fn_constructor_args=(self.make_encoder,), batch_size=ACTOR_BATCH,
            batch_format="numpy", compute=self.ray.data.ActorPoolStrategy(size=self.actors),
            num_gpus=1 if self.gpus else 0, num_cpus=0 if self.gpus else 1,
            max_restarts=ACTOR_RESTARTS, max_task_retries=TASK_RETRIES)
        for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
            vectors = np.asarray(np.stack(batch["vector"]), np.float32).reshape(-1, dimension)
            yield [int(i) for i in batch["i"]], vectors

    def encode(self, encoder: Any, texts: list[str], cache: BuildCache | None,
               tick: Callable[[int], None] | None) -> tuple[np.ndarray, int]:
        """As build._encode: vectors of all texts, only those the cache lacks sent to Ray."""
        known = cache.vectors(texts) if cache and cache.reading else {}
        todo = sorted(dict.fromkeys(t for t in texts if text_key(t) not in known), key=len)
        if tick and len(texts) > len(todo):
            tick(len(texts) - len(todo))
        if todo:
            try:
                for positions, vectors in self.vectors(todo, encoder.dimension):
                    batch = [todo[i] for i in positions]
                    if cache:   # stored as they come: a build that dies keeps what was made
                        cache.store_vectors(batch, vectors)
                    known.update(zip(map(text_key, batch), vectors))
                    if tick:
                        tick(len(batch))
            except Exception as exc:
                if isinstance(exc, AccordError):
                    raise
                raise AccordError(f"the Ray build failed while embedding: "
                                  f"{type(exc).__name__}: {str(exc)[:500]}") from None
        if not texts:
            return np.zeros((0, encoder.dimension), np.float32), 0
        return np.vstack([known[text_key(t)] for t in texts]).astype(np.float32), len(todo)


def configured_runner(encoder: Any, address: str | None = None) -> RayRunner | None:
    """A RayRunner when RAY_ADDRESS (`address`, from the settings) is set (admin rebuilds and
    changes then build on Ray), else None: the local build."""
    if not address:
        return None
    return RayRunner(encoder, address)


def check_installed() -> None:
    """RayUnavailable with how to install Ray when it is missing."""
    _ray()


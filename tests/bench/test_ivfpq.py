"""bot.bench.ivfpq: re-ranking the compressed index's candidates by their stored vectors
recovers recall the 8-byte codes lose (the figures docs/scaling.md plans 10M and 100M on)."""
from bot.bench.ivfpq import measure


def test_refine_recovers_recall_the_codes_lose():
    rows = measure(5000, dim=64, queries=100, specs="IVF{nlist},PQ8", nprobes=(2, 16),
                   refine=(4, 10), refine_with="fp16", nlist=16)
    by = {(r["nprobe"], r["k_factor"]): r for r in rows}
    assert set(by) == {(p, k) for p in (2, 16) for k in (0, 4, 10)}
    for nprobe in (2, 16):
        plain, top40, top100 = (by[nprobe, k]["recall@10"] for k in (0, 4, 10))
        # Not re-ranked at all (k_factor ignored, or re-ranked by the codes) would tie.
        assert top100 >= top40 > plain
        assert by[nprobe, 10]["refine"] == "fp16"
        assert by[nprobe, 10]["refine_bytes_per_vector"] == 128    # 64 dimensions, 2 bytes each
        assert by[nprobe, 0]["refine"] is None
    # Every list probed, the top 100 by the codes re-ranked: most true neighbours come back.
    assert by[16, 10]["recall@10"] >= by[16, 0]["recall@10"] + 0.3

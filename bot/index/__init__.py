"""The index: building versions, the build cache, the version store, passages, dense and BM25 search."""

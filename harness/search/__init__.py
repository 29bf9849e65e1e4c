"""Sentence and passage retrieval: embedding knobs, exact/approximate search, margin scoring, bitext mining.

- :mod:`.embed` — :class:`EmbedOptions` (layer, pooling, max length, normalisation, prefixes), length-sorted
  batching, streaming to a memmap.
- :mod:`.knn` — exact top-k in both directions from one tiled GEMM pass (the fast path for margin mining; a
  `tiles` backend on CPU, `gemm` on GPU, chosen by `choose_backend`).
- :mod:`.index` — FAISS: exact ``IndexFlatIP`` by default, IVF/HNSW above a size threshold, GPU when present.
- :mod:`.margin` — ratio/distance margin (Artetxe & Schwenk 2019) and 1:1 mining for BUCC.

Importing this package does not import torch or faiss; the submodules do.
"""

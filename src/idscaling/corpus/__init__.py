"""Stage 1-3: corpora, their split, tokenizers, token files and nested data-size subsets.

:mod:`.sources` (one module per source kind, a registry of kinds), :mod:`.prepare` (the
document-level split), :mod:`.tokenizer` (byte-level BPE or the exact GPT-2 BPE), :mod:`.tokens`
(uint16/uint32 token files with document offsets), :mod:`.subsample` (the nested subsets).
"""

"""Stage 4-6: the language models: the GPT-2 definition, its training loop, evaluation,
embedding, and the pretrained suites (Hugging Face causal LMs) the same stages run on.
"""

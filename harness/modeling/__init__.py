"""Encoders: loading a model family's encoder and tokenizer, task heads, parameter counts, local tiny models,
memory estimates."""

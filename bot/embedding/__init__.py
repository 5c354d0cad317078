"""Embedding text: the sentence-transformers encoder, the ONNX query path, model installation."""

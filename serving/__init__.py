"""Serving: the ONNX Runtime inference path and the BentoML service (no torch)."""

"""Evaluation: metrics, baselines, predictors (checkpoint, ensemble, ONNX) and the report."""

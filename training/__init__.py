"""Training package (PyTorch): datasets, the colorizer network, the trainer and its tools."""

"""mangacolor: colour manga pages and line art.

This package is the shared core: numpy + Pillow only, no torch. The dataset,
the ONNX runtime, the HTTP service and the demo all import it, so training and
serving cannot drift apart.
"""

__version__ = "0.1.0"

# Bumped whenever a change here alters what the network sees (colour space,
# normalisation, hint encoding). Exported models record it; a mismatch is refused.
PREPROCESSING_VERSION = 1

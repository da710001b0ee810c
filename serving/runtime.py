"""ONNX Runtime sessions for exported colorizers (numpy + onnxruntime, no torch).

`load_model(folder)` gives an `OnnxColorizer`: a callable with the network's
numpy signature (x, hint, mask) -> (N, 3 or 4, h, w) (Lab, plus confidence for the bins head), its metadata, and the provider
it really runs on. CUDA is asked for only where it can work: onnxruntime-gpu
lists CUDA even on machines without a GPU, and a session that asks for it there
logs an error and silently falls back to CPU.
"""

from __future__ import annotations

import ctypes
import json
import os
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from mangacolor.contract import gray_gain, gray_shadow

MODEL_FILE = "model.onnx"
INPUTS = ("x", "hint", "mask")
OUTPUT = "lab"
GLOBAL_INPUT = "glob"              # optional (models with global hints): (N, D), see mangacolor.abbins
CONFIDENCE_OUTPUT = "confidence"   # optional (models with the bins head): (N, 1, H, W)


class ModelError(ValueError):
    """A model folder or file that cannot be served (missing, corrupt, breaks the contract)."""


@lru_cache(maxsize=1)
def cuda_usable() -> bool:
    """True when a CUDA driver with at least one device is present and ORT's CUDA provider library loads."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        if cuda.cuInit(0) != 0:
            return False
        count = ctypes.c_int(0)
        if cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value < 1:
            return False
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            return False
        lib = Path(ort.__file__).parent / "capi" / "libonnxruntime_providers_cuda.so"
        ctypes.CDLL(str(lib))  # fails when CUDA 13 / cuDNN 9 runtime libraries are missing
        return True
    except OSError:
        return False


def providers_for(device: str) -> list:
    """'auto' | 'cpu' | 'cuda' -> the ORT provider list to ask for."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    want_cuda = device == "cuda" or (device == "auto" and cuda_usable())
    if device == "cuda" and not cuda_usable():
        raise RuntimeError("device=cuda but no usable CUDA device (driver, GPU, CUDA 13 and cuDNN 9 libraries)")
    if want_cuda:
        return [("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"}), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def make_session(path: str | Path, device: str = "auto", threads: int = 0):
    """An InferenceSession on the wanted device; asserts the provider it really got."""
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = threads
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # a server shares its cores
    # No memory pattern: ORT would plan and keep one more arena block per input shape it sees
    # (batch sizes 1..8 x 3 canvases: +570 MB for the default model), so a server's memory would
    # climb for minutes. Without it the arena stays at the warm-up's peak; the model runs ~5% slower.
    opts.enable_mem_pattern = False
    providers = providers_for(device)
    try:
        sess = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as e:  # a corrupt or hostile file: ORT raises many types
        raise ModelError(f"cannot load {path}: {str(e)[:300]}") from None
    got = sess.get_providers()[0]
    want = providers[0] if isinstance(providers[0], str) else providers[0][0]
    if got != want:
        raise RuntimeError(f"asked ONNX Runtime for {want} but got {got}")
    return sess


@dataclass
class OnnxColorizer:
    """A loaded model: call it like the network, on numpy arrays."""

    path: Path
    session: object
    metadata: dict

    @property
    def hint_fill(self) -> bool:
        """Trained with hints spread over their regions: `mangacolor.pipeline.prepare(fill=True)` for it."""
        return bool(self.metadata.get("hint_fill", False))

    @property
    def gray_gain(self) -> float:
        """Chroma gain on gray pages (mangacolor.contract.gray_gain): `pipeline.decoding_of` passes it to finish."""
        return gray_gain(self.metadata)

    @property
    def gray_shadow(self) -> float:
        """L* below which that chroma fades to none (mangacolor.contract.gray_shadow)."""
        return gray_shadow(self.metadata)

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    @cached_property
    def takes_global_hints(self) -> bool:
        return any(i.name == GLOBAL_INPUT for i in self.session.get_inputs())

    @cached_property
    def gives_confidence(self) -> bool:
        return any(o.name == CONFIDENCE_OUTPUT for o in self.session.get_outputs())

    def feed(self, x: np.ndarray, hint: np.ndarray, mask: np.ndarray, glob: np.ndarray | None = None) -> dict:
        """Input name -> array; global hints default to none (flag 0) for models that take them."""
        feed = {"x": x.astype(np.float32, copy=False), "hint": hint.astype(np.float32, copy=False),
                "mask": mask.astype(np.float32, copy=False)}
        if self.takes_global_hints:
            from mangacolor.abbins import no_global_hints

            feed[GLOBAL_INPUT] = no_global_hints(len(x)) if glob is None else glob.astype(np.float32, copy=False)
        return feed

    def __call__(self, x: np.ndarray, hint: np.ndarray, mask: np.ndarray, glob: np.ndarray | None = None) -> np.ndarray:
        """-> (N, 3, H, W) normalised Lab, or (N, 4, H, W) with the confidence channel when the model gives one."""
        feed = self.feed(x, hint, mask, glob)
        if not self.gives_confidence:
            return self.session.run([OUTPUT], feed)[0]
        return np.concatenate(self.session.run([OUTPUT, CONFIDENCE_OUTPUT], feed), axis=1)

    def warm_up(self, hw: tuple[int, int] = (64, 48), batch: int = 1) -> None:
        """One call on blank inputs. At the largest (batch, canvas) a server will see, this also grows
        ORT's memory arena to its steady size up front, so memory stays flat under load afterwards."""
        h, w = hw
        self(np.ones((batch, 1, h, w), np.float32), np.zeros((batch, 3, h, w), np.float32),
             np.zeros((batch, 1, h, w), np.float32))


def read_metadata(session) -> dict:
    """metadata_props of the ONNX file; JSON values decoded."""
    props = dict(session.get_modelmeta().custom_metadata_map)
    out = {}
    for k, v in props.items():
        try:
            out[k] = json.loads(v)
        except ValueError:
            out[k] = v
    return out


def check_contract(session, metadata: dict) -> None:
    """Inputs x/hint/mask and output lab with the expected channel counts, and our preprocessing version."""
    from mangacolor import PREPROCESSING_VERSION

    ins = {i.name: i.shape for i in session.get_inputs()}
    outs = {o.name: o.shape for o in session.get_outputs()}
    if set(ins) - {GLOBAL_INPUT} != set(INPUTS) or OUTPUT not in outs:
        raise ModelError(f"model inputs {sorted(ins)} / outputs {sorted(outs)}; expected inputs {INPUTS} and output {OUTPUT!r}")
    if GLOBAL_INPUT in ins:
        from mangacolor.abbins import global_dim

        if ins[GLOBAL_INPUT][1] != global_dim():
            raise ModelError(f"input {GLOBAL_INPUT} has {ins[GLOBAL_INPUT][1]} values, this code makes {global_dim()}")
    for name, ch in (("x", 1), ("hint", 3), ("mask", 1)):
        if ins[name][1] != ch:
            raise ModelError(f"input {name} has {ins[name][1]} channels, expected {ch}")
    if outs[OUTPUT][1] != 3:
        raise ModelError(f"output lab has {outs[OUTPUT][1]} channels, expected 3")
    pv = metadata.get("preprocessing_version")
    if pv != PREPROCESSING_VERSION:
        raise ModelError(f"model was exported for preprocessing version {pv}, this code is version {PREPROCESSING_VERSION}")


def model_file(path: str | Path, variant: str = "") -> Path:
    """A model folder (models/NAME/) or an .onnx file -> the .onnx file (variant: '', 'fp16', 'int8')."""
    p = Path(path)
    if p.is_dir():
        name = f"model.{variant}.onnx" if variant else MODEL_FILE
        p = p / name
    if not p.is_file():
        raise ModelError(f"no model at {p}: export one with `mangacolor export`")
    return p


def load_model(path: str | Path, device: str = "auto", threads: int = 0, variant: str = "", warm: bool = True) -> OnnxColorizer:
    """Load, check the contract and (by default) warm up an exported colorizer."""
    f = model_file(path, variant)
    sess = make_session(f, device, threads)
    meta = read_metadata(sess)
    check_contract(sess, meta)
    model = OnnxColorizer(f, sess, meta)
    if warm:
        model.warm_up()
    return model


def default_threads() -> int:
    """ORT intra-op threads: MANGACOLOR_THREADS, else 0 (ORT's choice: one per core)."""
    return int(os.environ.get("MANGACOLOR_THREADS", "0"))

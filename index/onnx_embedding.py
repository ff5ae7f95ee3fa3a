"""Embedding on ONNX Runtime: the same model, exported once from torch, then run without it.

Importing torch and sentence-transformers costs about 5 s, and on a 2-core CPU ONNX
Runtime's fused BERT graph runs the model 1.5-2x faster. So the model is exported once
and cached (under the data dir); the export is kept only if it agrees with the torch
model (cosine >= 0.999 on a fixed sample), and anything that goes wrong falls back to
torch, so this is only ever a faster way to get the same vectors.

By default the export is then quantised to int8 (dynamic, per-channel weights): about
1.7x the tokens a second of fp32 over a whole ingest on two cores, chosen by answer
quality on the eval set, not by cosine alone (see the README). Those are different vectors, so an int8 index has its own key
(the embedder's `name` says `:int8`) and an int8 failure is an error, never a quiet
switch to fp32 vectors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding import DEFAULT_MODEL, Embedder, SentenceTransformerEmbedder, load_tokenizer
from index.errors import ModelError

log = logging.getLogger(__name__)
# What a person waiting should hear (a front end shows it on stderr): the one-time export.
notice = logging.getLogger("assistant.notice")
_EXPORT_LOCK = threading.Lock()

EXPORT_VERSION = 1  # bump when the export changes, so old caches are not reused
AGREEMENT = 0.999  # least cosine between an exported and the torch model's vector on SAMPLE
# Least cosine between the int8 and the fp32 model's vectors on SAMPLE: a sanity check
# (measured 0.993 mean, 0.967 least over 1,200 sentences), not the quality measure.
INT8_AGREEMENT = 0.95
PRECISIONS = ("int8", "fp32")
BATCH = 8  # texts per run, sorted by length; small batches waste least on padding (best measured on 2 cores)
# int8 runs one text at a time: dynamic quantisation scales each run's activations by their
# range, so in a batch a text's vector would depend on its neighbours (cosine down to 0.97),
# and a sentence would get another vector at ingest than when asked. It costs ~14 % of the
# throughput (23.4k against 27.0k tokens/s in batches of 8).
INT8_BATCH = 1
SAMPLE = (
    "hi",
    "What did Chief Beck say about working with Homeland Security?",
    "shutil.copytree(src, dst) Recursively copy an entire directory tree rooted at src to a directory named dst.",
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in "
    "France. They were descended from Norse raiders and pirates from Denmark, Iceland and Norway who, under "
    "their leader Rollo, agreed to swear fealty to King Charles III of West Francia. " * 3,
)


class OnnxEmbedder:
    """A BERT-style sentence-transformers model (mean pooling) on ONNX Runtime; torch if it can't be."""

    def __init__(
        self,
        name: str = DEFAULT_MODEL,
        cache_dir: Path | str = ".assistant/models",
        batch_size: int | None = None,
        precision: str = "int8",
    ):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.model = name
        self.precision = precision
        self.cache_dir = Path(cache_dir)
        self.batch_size = batch_size or (INT8_BATCH if precision == "int8" else BATCH)
        self.backend = "onnx"  # becomes "torch" if an fp32 export can't be made or doesn't agree
        self._lock = threading.RLock()

    @property
    def name(self) -> str:
        """The model, and `:int8` when quantised: the index key, so vectors of the two never mix."""
        return self.model if self.precision == "fp32" else f"{self.model}:int8"

    @property
    def path(self) -> str:
        return self.fallback.path

    @cached_property
    def fallback(self) -> SentenceTransformerEmbedder:
        return SentenceTransformerEmbedder(self.model)

    @cached_property
    def _config(self) -> dict:
        folder = Path(self.path)
        cfg = json.loads((folder / "config.json").read_text())
        st = folder / "sentence_bert_config.json"
        cfg["max_seq_length"] = json.loads(st.read_text()).get("max_seq_length") if st.is_file() else None
        pooling = folder / "1_Pooling" / "config.json"
        cfg["mean_pooling"] = pooling.is_file() and json.loads(pooling.read_text()).get("pooling_mode_mean_tokens")
        return cfg

    @cached_property
    def _tokenizer(self):
        return load_tokenizer(self.path, self._config.get("max_seq_length") or 512)

    @cached_property
    def session(self):
        """The ONNX Runtime session, exporting the model first if no agreeing export is cached; None means torch."""
        with _EXPORT_LOCK:  # threads of one process (Slack's) must not export side by side
            return self._load_session()

    def _load_session(self):
        try:
            if self._config.get("model_type") != "bert" or not self._config["mean_pooling"] or self._tokenizer is None:
                raise ValueError("only BERT-style models with mean pooling are exported")
            file = self.cache_dir / f"{self._cache_key()}.onnx"
            if not file.is_file():
                notice.info(
                    "preparing the embedding model for this machine, once for every folder: exporting it to ONNX "
                    "in %s (about 20 s to a minute)",
                    self.cache_dir,
                )
                export(self.path, self._config, self._tokenizer, file, self.fallback)
        except Exception as exc:
            if self.precision == "int8":
                raise ModelError(
                    f"cannot run {self.model} in int8 ({exc}); set ASSISTANT_EMBEDDING_PRECISION=fp32 to use it unquantised"
                ) from exc
            log.warning("ONNX embedding unavailable for %s, using torch: %s", self.model, exc)
            self.backend = "torch"
            return None
        if self.precision == "fp32":
            return _open(file)
        quantised = file.with_name(f"{file.stem}-int8.onnx")
        try:
            if not quantised.is_file():
                notice.info("quantising the embedding model to int8, once (about 10 s)")
                quantise(file, quantised, self._tokenizer)
            return _open(quantised)
        except Exception as exc:
            raise ModelError(
                f"cannot quantise {self.model} to int8 ({exc}); set ASSISTANT_EMBEDDING_PRECISION=fp32 to use it unquantised"
            ) from exc

    def _cache_key(self) -> str:
        weights = [*Path(self.path).glob("*.safetensors"), *Path(self.path).glob("*.bin")]
        stamp = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(weights)]
        import onnxruntime

        raw = repr((self.path, stamp, EXPORT_VERSION, onnxruntime.__version__))
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.fallback.count_tokens(texts)  # the tokenizer only; the torch model isn't loaded

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:  # answers run in parallel threads; one tokenizer and session, loaded once, used in turn
            if self.session is None:
                return self.fallback.embed(texts)
            return _run(self.session, self._tokenizer, list(texts), self.batch_size)

    @property
    def dimension(self) -> int:
        return int(self._config["hidden_size"])


def _run(session: Any, tokenizer: Any, texts: list[str], batch_size: int) -> np.ndarray:
    out = np.zeros((len(texts), session.get_outputs()[0].shape[-1]), dtype=np.float32)
    if not texts:
        return out
    encodings = tokenizer.encode_batch(texts)
    order = np.argsort([len(e.ids) for e in encodings], kind="stable")
    wants_types = any(i.name == "token_type_ids" for i in session.get_inputs())
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        width = max(len(encodings[i].ids) for i in idx)
        ids = np.zeros((len(idx), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, i in enumerate(idx):
            n = len(encodings[i].ids)
            ids[row, :n] = encodings[i].ids
            mask[row, :n] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if wants_types:
            feed["token_type_ids"] = np.zeros_like(ids)
        out[idx] = session.run(None, feed)[0]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


def _open(file: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # its warnings are about graph details a user can't act on
    return ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])


def quantise(source: Path, target: Path, tokenizer: Any) -> None:
    """Dynamic int8 quantisation of the fp32 export at `source` (per-channel weights), kept
    at `target` if its vectors stay close to the fp32 ones on SAMPLE."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    # quantize_dynamic writes "<source>-inferred.onnx" beside its input and deletes it after: from
    # a private link to the source, processes quantising at the same time don't share that file.
    private = Path(tempfile.mkdtemp(prefix=".quantise-", dir=target.parent))
    fp32 = private / "fp32.onnx"
    try:
        try:
            os.link(source, fp32)
        except OSError:
            shutil.copyfile(source, fp32)  # a file system without hard links
        root = logging.getLogger()
        was, root.disabled = root.disabled, True  # quiet its "consider pre-processing" hint
        try:
            quantize_dynamic(
                str(fp32),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=True,  # a scale per output channel: cosine to fp32 0.993 vs 0.955 per tensor
                # Our fused graph has nodes without type information; FLOAT is what they carry.
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        finally:
            root.disabled = was
        agreement = float(
            (
                _run(_open(tmp), tokenizer, list(SAMPLE), INT8_BATCH)
                * _run(_open(source), tokenizer, list(SAMPLE), BATCH)
            )
            .sum(1)
            .min()
        )
        if agreement < INT8_AGREEMENT:
            raise ValueError(f"int8 model disagrees with fp32 (cosine {agreement:.4f} < {INT8_AGREEMENT})")
        os.replace(tmp, target)  # atomic, as for the export
        log.info("quantised %s to %s (agreement %.4f)", source, target, agreement)
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(private, ignore_errors=True)


def export(path: str, config: dict[str, Any], tokenizer: Any, target: Path, reference: Embedder) -> None:
    """Export the model at `path` (with mean pooling) to `target`, fused for CPU, if it agrees with `reference`."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(path, attn_implementation="eager").eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    # A padded example, so the attention mask is traced as an input and not folded away.
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = target.with_suffix(f".{os.getpid()}.raw")
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shapes the dynamic axes take care of
            axes = {
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "token_type_ids": {0: "batch", 1: "seq"},
                "embedding": {0: "batch"},
            }
            torch.onnx.export(
                MeanPooled(model),
                (ids, mask, torch.zeros_like(ids)),
                str(raw),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
            fused = optimize_model(
                str(raw),
                model_type="bert",
                num_heads=config["num_attention_heads"],
                hidden_size=config["hidden_size"],
                opt_level=1,
            )
            fused.save_model_to_file(str(tmp))
        agreement = float((_run(_open(tmp), tokenizer, list(SAMPLE), BATCH) * reference.embed(SAMPLE)).sum(1).min())
        if agreement < AGREEMENT:
            raise ValueError(f"exported model disagrees with torch (cosine {agreement:.5f} < {AGREEMENT})")
        os.replace(tmp, target)  # atomic: another process sees no model or a whole one
        log.info("exported %s to %s (agreement %.6f)", path, target, agreement)
    finally:
        for f in (raw, tmp):
            f.unlink(missing_ok=True)

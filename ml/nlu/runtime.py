"""Inference: one shared encoder in memory, one LoRA adapter and set of heads per workspace.

    runtime = NluRuntime()                      # loads MiniLM once
    runtime.load("acme", Path(".../artifact"))  # verifies the manifest, adds the adapter
    runtime.predict("acme", ["my card hasn't arrived"])

Loading another workspace (or a new version of one) adds an adapter to the same base; the
encoder is never reloaded. The adapter is an argument of each pass (``fast.py``), not state of
the shared model, so workspaces' calls don't wait for each other.
"""

import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from torch import Tensor, nn
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from ml.artifacts import MANIFEST, TamperedModelError, manifest_verify, sha256_of
from ml.encoders import minilm_path
from ml.nlu.contracts import Example, IntentScore, NluResult
from ml.nlu.fast import Adapter, FastEncoder, adapter_load
from ml.nlu.model import HeadOutputs, Labels, NluHeads, encode, load_base, mean_pool
from ml.nlu.oos import Floats, OosDetector, normalize_rows
from ml.nlu.probe import IntentProbe
from ml.nlu.tokens import Encoded, batches, decode_slots, encode_examples
from ml.serving.batching import MicroBatcher

REBUILD = "retrain it with python -m ml.nlu.train"
DEFAULT_TOP_K = 5


@dataclass(frozen=True)
class Outputs:
    """Model outputs for a list of texts, in the order of the texts."""

    pooled: Tensor
    intent_logits: Tensor
    sentiment_logits: Tensor
    slot_tags: list[list[int]]
    encoded: list[Encoded]
    base: Tensor | None = None  # pooled with the adapter off, when out-of-scope needs it

    def oos_space(self, detector: OosDetector) -> Tensor:
        """The embeddings the detector's method measures distances on."""
        pooled = self.base if detector.bank_is_base else self.pooled
        if pooled is None:
            raise ValueError(f"out-of-scope method {detector.method} needs the base embeddings")
        return pooled

    def with_probe(self, probe: IntentProbe | None) -> "Outputs":
        """The intent logits mixed with the base-space probe's (``ml/nlu/probe.py``)."""
        if probe is None:
            return self
        if self.base is None:
            raise ValueError("the intent probe needs the base embeddings")
        return replace(self, intent_logits=probe.logits(self.intent_logits, self.base))

    def oos_features(self, detector: OosDetector) -> Floats:
        """What the detector's score is made of (``OosDetector.features``)."""
        return detector.features(self.pooled, self.base, self.intent_logits)

    def oos_scores(self, detector: OosDetector) -> Floats:
        """The detector's raw out-of-scope scores."""
        return detector.raw_scores(self.pooled, self.base, self.intent_logits)


# An encoder pass over one padded batch: (input ids, attention mask) -> the last hidden states,
# and those of the plain encoder (adapter off) when the pass computes them.
EncodePass = Callable[[Tensor, Tensor], tuple[Tensor, Tensor | None]]


def own_pass(encoder: nn.Module) -> EncodePass:
    """A model's own forward (peft's, while training), without the plain encoder's states."""

    def run(input_ids: Tensor, attention_mask: Tensor) -> tuple[Tensor, Tensor | None]:
        return encode(encoder, input_ids, attention_mask), None

    return run


def fast_pass(fast: FastEncoder, adapter: Adapter, with_base: bool) -> EncodePass:
    """The serving forward (``fast.py``) with one workspace's adapter; ``with_base``: the
    plain encoder's states too, from the same pass."""

    def run(input_ids: Tensor, attention_mask: Tensor) -> tuple[Tensor, Tensor | None]:
        states: tuple[Tensor, Tensor | None] = fast(input_ids, attention_mask, adapter, with_base)
        return states

    return run


def run_model(
    encoder: EncodePass,
    heads: NluHeads,
    encoded: Sequence[Encoded],
    batch_size: int,
    pad_id: int,
) -> Outputs:
    """Forward passes in length-sorted batches, results put back in input order;
    ``Outputs.base`` is filled when ``encoder`` computes the plain encoder's states."""
    n = len(encoded)
    pooled: list[Tensor] = [torch.empty(0)] * n
    base: list[Tensor] = [torch.empty(0)] * n
    intents: list[Tensor] = [torch.empty(0)] * n
    sentiments: list[Tensor] = [torch.empty(0)] * n
    tags: list[list[int]] = [[] for _ in range(n)]
    with_base = False
    with torch.inference_mode():
        for batch in batches(encoded, batch_size, pad_id):
            mask = batch.attention_mask
            states, base_states = encoder(batch.input_ids, mask)
            base_pooled = None if base_states is None else mean_pool(base_states, mask)
            with_base = base_pooled is not None
            out: HeadOutputs = heads(states, mask)
            best = out.slot_logits.argmax(-1)
            for row, index in enumerate(batch.indices):
                pooled[index] = out.pooled[row]
                intents[index] = out.intent_logits[row]
                sentiments[index] = out.sentiment_logits[row]
                tags[index] = best[row, : len(encoded[index].input_ids)].tolist()
                if base_pooled is not None:
                    base[index] = base_pooled[row]
    return Outputs(
        pooled=torch.stack(pooled) if n else torch.empty(0, 0),
        intent_logits=torch.stack(intents) if n else torch.empty(0, 0),
        sentiment_logits=torch.stack(sentiments) if n else torch.empty(0, 0),
        slot_tags=tags,
        encoded=list(encoded),
        base=(torch.stack(base) if n else torch.empty(0, 0)) if with_base else None,
    )


def adapter_name(workspace: str, digest: str) -> str:
    return re.sub(r"\W", "_", f"{workspace}_{digest[:12]}")


class SharedEncoder:
    """The base encoder, loaded once, and the LoRA adapters of every loaded workspace, served
    by one ``FastEncoder`` whose shared weights every adapter uses."""

    def __init__(self, path: str | None = None, quantize: bool = False):
        self.path = path or str(minilm_path())
        self.tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(self.path)
        self.base: PreTrainedModel = load_base(self.path)
        self.base.train(False)
        self.hidden = int(self.base.config.hidden_size)
        self.fast = FastEncoder(self.base)
        self.quantize = quantize
        if quantize:
            self.fast.quantize()
        else:
            self.fast.pack()
        self.adapters: dict[str, Adapter] = {}
        self.lock = threading.Lock()  # guards ``adapters``; passes share nothing else

    def add_adapter(self, name: str, directory: Path) -> None:
        adapter = adapter_load(directory, self.hidden)
        if len(self.fast.layers) <= max(adapter.layers, default=0):
            raise ValueError(f"{directory} adapts layers this encoder doesn't have; {REBUILD}")
        with self.lock:
            self.adapters.setdefault(name, adapter)

    def remove_adapter(self, name: str) -> None:
        with self.lock:
            self.adapters.pop(name, None)

    def encoder_for(self, name: str, with_base: bool) -> EncodePass:
        """The pass with adapter ``name``; ``with_base``: the plain encoder's states too."""
        with self.lock:
            if name not in self.adapters:
                raise KeyError(f"adapter {name} is not loaded")
            adapter = self.adapters[name]
        return fast_pass(self.fast, adapter, with_base)


class NluModel:
    """One workspace's model: its adapter on the shared encoder, its heads and calibration."""

    def __init__(
        self,
        shared: SharedEncoder,
        adapter: str,
        heads: NluHeads,
        labels: Labels,
        oos: OosDetector,
        meta: dict[str, Any],
        probe: IntentProbe | None = None,
    ):
        self.shared = shared
        self.probe = probe
        self.adapter = adapter
        self.heads = heads.eval()
        self.labels = labels
        self.oos = oos
        self.meta = meta
        self.max_length = int(meta.get("max_length", 64))
        self.batcher: MicroBatcher[str, NluResult] | None = None

    def batch_across_callers(self, *, max_batch: int, max_wait_s: float) -> None:
        """From now on, ``predict`` calls from concurrent threads (the turns a server runs at
        once) share forward passes of this model's adapter (``ml/serving/batching.py``)."""
        self.batcher = MicroBatcher(
            self._predict_now, max_batch=max_batch, max_wait_s=max_wait_s, name=self.adapter
        )

    def outputs(self, texts: Sequence[str], batch_size: int = 64, oos: bool = True) -> Outputs:
        """``oos``: include what the out-of-scope score needs (the base encoder's embeddings,
        for knn_base, knn_mix and ensemble; the intent probe needs them always)."""
        tokenizer = self.shared.tokenizer
        encoded = encode_examples(
            [Example(text=t) for t in texts], tokenizer, self.labels, self.max_length
        )
        pad_id = int(tokenizer.pad_token_id)
        needs_base = (oos and self.oos.needs_base) or self.probe is not None
        encoder = self.shared.encoder_for(self.adapter, needs_base)
        out = run_model(encoder, self.heads, encoded, batch_size, pad_id)
        return out.with_probe(self.probe)

    def predict(
        self, texts: Sequence[str], top_k: int = DEFAULT_TOP_K, batch_size: int = 64
    ) -> list[NluResult]:
        texts = list(texts)
        if not texts:
            return []
        batcher = self.batcher
        if batcher is not None and top_k == DEFAULT_TOP_K and len(texts) < batcher.max_batch:
            return batcher.run(texts)
        return self._predict_now(texts, top_k, batch_size)

    def _predict_now(
        self, texts: Sequence[str], top_k: int = DEFAULT_TOP_K, batch_size: int = 64
    ) -> list[NluResult]:
        out = self.outputs(texts, batch_size)
        return self.results(texts, out, top_k)

    def results(self, texts: Sequence[str], out: Outputs, top_k: int = 5) -> list[NluResult]:
        probs = torch.softmax(out.intent_logits / self.oos.temperature, dim=-1)
        raw = out.oos_scores(self.oos)
        flagged = self.oos.is_oos(raw)
        calibrated = self.oos.calibrated(raw)
        sentiment = torch.softmax(out.sentiment_logits, dim=-1)
        k = min(top_k, len(self.labels.intents))
        top = probs.topk(k, dim=-1)
        results = []
        for i, text in enumerate(texts):
            intents = tuple(
                IntentScore(intent=self.labels.intents[int(j)], score=round(float(p), 4))
                for p, j in zip(top.values[i], top.indices[i], strict=True)
            )
            sentiments = {
                name: round(float(sentiment[i, j]), 4)
                for j, name in enumerate(self.labels.sentiments)
            }
            results.append(
                NluResult(
                    text=text,
                    intents=intents,
                    is_oos=bool(flagged[i]),
                    oos_score=round(float(calibrated[i]), 4),
                    slots=decode_slots(text, out.encoded[i].offsets, out.slot_tags[i], self.labels),
                    sentiment=max(sentiments, key=lambda name: sentiments[name]),
                    sentiment_scores=sentiments,
                )
            )
        return results

    def oos_refit(
        self,
        inscope: Sequence[str],
        outside: Sequence[str],
        target_recall: float | None = None,
        rule: str | None = None,
        method: str | None = None,
        bank: Sequence[str] | None = None,
    ) -> float:
        """Refits the out-of-scope threshold on validation texts (by ``rule`` when given, else
        the model's own); returns the new threshold. ``method`` switches the score (knn to
        knn_base, say) without retraining; a kNN method then needs ``bank``, the training texts
        to measure distances to."""
        if rule is not None:
            self.oos.rule = rule
        if method is not None and method != self.oos.method:
            if method.startswith("knn") and bank is None:
                raise ValueError(f"switching to {method} needs the training texts (bank)")
            self.oos.method = method
        if bank is not None:
            bank_out = self.outputs(list(bank))
            self.oos.bank = normalize_rows(bank_out.oos_space(self.oos))
            if self.oos.is_mixed:
                assert bank_out.base is not None
                self.oos.bank_base = normalize_rows(bank_out.base)
        outs = [self.outputs(list(texts)) for texts in (inscope, outside)]
        if self.oos.method == "knn_mix":
            self.oos.fit_mix(*(out.oos_features(self.oos) for out in outs))
        elif self.oos.method == "ensemble":
            self.oos.fit_standard(outs[0].oos_features(self.oos))
        scores = [out.oos_scores(self.oos) for out in outs]
        self.oos.fit(scores[0], scores[1], target_recall=target_recall)
        return self.oos.threshold

    def oos_refit_examples(self, outside: Sequence[str]) -> float:
        """Refits the threshold on out-of-scope examples given after training (``OosDetector.
        refit``: against the in-scope validation scores kept from training; with the general
        queries too when it was fitted with them); returns it."""
        if not outside:
            raise ValueError("no out-of-scope examples to refit on")
        texts = list(outside)
        if self.oos.generic_negatives:
            from ml.nlu.data.clinc150 import generic_oos_queries

            texts += generic_oos_queries()
        self.oos.refit(self.outputs(texts).oos_scores(self.oos))
        return self.oos.threshold

    def intent_probabilities(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Calibrated intent probabilities, one row per text (what SHAP explains)."""
        out = self.outputs(list(texts), oos=False)
        probs = torch.softmax(out.intent_logits / self.oos.temperature, dim=-1)
        return probs.numpy().astype(np.float32)


OOS_FILE = "oos.json"


def _replace_whole(path: Path, text: str) -> None:
    staged = path.with_name(f".{path.name}.tmp")
    staged.write_text(text)
    staged.replace(path)


def oos_save(directory: Path, detector: OosDetector) -> None:
    """Writes a refitted detector into a model folder and its digest into the manifest, each
    file replaced whole (a process loading the folder meanwhile sees the old or the new
    file, and retries when they don't match yet: ``model_load``)."""
    _replace_whole(directory / OOS_FILE, json.dumps(detector.to_json()) + "\n")
    digests = json.loads((directory / MANIFEST).read_text())["sha256"]
    digests[OOS_FILE] = sha256_of(directory / OOS_FILE)
    _replace_whole(directory / MANIFEST, json.dumps({"sha256": digests}, indent=1) + "\n")


def load_heads(directory: Path, labels: Labels, hidden: int) -> NluHeads:
    heads = NluHeads(hidden, labels, dropout=0.0)
    heads.load_state_dict(load_file(str(directory / "heads.safetensors")))
    return heads


def model_load(shared: SharedEncoder, workspace: str, directory: Path) -> NluModel:
    """Checks the artifact's manifest, then adds its adapter to the shared encoder."""
    if not directory.is_dir():
        raise FileNotFoundError(f"no NLU model at {directory}")
    try:
        digests = manifest_verify(directory, REBUILD)
    except TamperedModelError:
        # A refit (``oos_save``) replaces oos.json, then the manifest: a load between the two
        # sees them disagree for a moment.
        time.sleep(0.2)
        digests = manifest_verify(directory, REBUILD)
    labels = Labels.from_json(json.loads((directory / "labels.json").read_text()))
    meta = json.loads((directory / "meta.json").read_text())
    if meta.get("encoder_name") != Path(shared.path).name and meta.get("encoder_name"):
        raise ValueError(
            f"{directory} was trained on encoder {meta['encoder_name']}, "
            f"but this runtime shares {Path(shared.path).name}"
        )
    hidden = int(shared.base.config.hidden_size)
    bank_file = directory / "bank.safetensors"
    banks = load_file(str(bank_file)) if bank_file.is_file() else {}
    oos = OosDetector.from_json(
        json.loads((directory / OOS_FILE).read_text()), banks.get("bank"), banks.get("bank_base")
    )
    name = adapter_name(workspace, digests["adapter/adapter_model.safetensors"])
    shared.add_adapter(name, directory / "adapter")
    heads = load_heads(directory, labels, hidden)
    return NluModel(shared, name, heads, labels, oos, meta, IntentProbe.load(directory))


class NluRuntime:
    """The models of many workspaces on one shared encoder."""

    def __init__(self, encoder_path: str | None = None, quantize: bool = False):
        self.shared = SharedEncoder(encoder_path, quantize=quantize)
        self.models: dict[str, NluModel] = {}

    def load(self, workspace: str, directory: Path) -> NluModel:
        model = model_load(self.shared, workspace, directory)
        previous = self.models.get(workspace)
        self.models[workspace] = model
        if previous is not None and previous.adapter != model.adapter:
            self.shared.remove_adapter(previous.adapter)
        return model

    def get(self, workspace: str) -> NluModel:
        if workspace not in self.models:
            raise KeyError(f"no NLU model loaded for workspace {workspace!r}")
        return self.models[workspace]

    def predict(self, workspace: str, texts: Sequence[str], top_k: int = 5) -> list[NluResult]:
        return self.get(workspace).predict(texts, top_k=top_k)

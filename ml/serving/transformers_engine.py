"""``TransformersEngine``: the generator in process (transformers + peft), for machines without
a vLLM server and as its fallback.

One base model in memory, every workspace adapter loaded onto it (peft multi-adapter); a request
selects its adapter by name. Generation runs in a worker thread, one request at a time (the
active adapter is model-wide state, and on CPU two generations would only share the same cores),
with a manual decoding loop over the KV cache so that each token streams as soon as it exists and
a cancelled request stops at the next token.
"""

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, PreTrainedModel, PreTrainedTokenizerBase

from ml.artifacts import manifest_verify
from ml.generation.contracts import ChatMessage, GenerationParams
from ml.generation.lm import ids, render, tokenizer_load
from ml.serving.engine import EngineError, UnknownAdapter
from ml.serving.registry import AdapterRegistry, adapter_name_check, artifact_version

_DONE = object()


class TransformersEngine:
    name = "transformers"

    def __init__(self, base_path: Path, registry: AdapterRegistry | None = None):
        base_path = Path(base_path)
        if (base_path / "manifest.json").is_file():
            manifest_verify(base_path, "rebuild it with `python -m ml.generation.bootstrap`")
        self.tokenizer: PreTrainedTokenizerBase = tokenizer_load(base_path)
        base: PreTrainedModel = AutoModelForCausalLM.from_pretrained(
            str(base_path), dtype=torch.float32
        )
        base.eval()  # type: ignore[no-untyped-call]
        self.base = base
        self.model: PeftModel | None = None
        # name -> (peft's name for the loaded copy, the artifact's version when it was loaded):
        # a retrained adapter (a new version in the registry) loads beside the old copy.
        self._loaded: dict[str, tuple[str, int]] = {}
        self.registry = registry
        self._lock = threading.Lock()  # one generation at a time
        self.max_positions = int(getattr(base.config, "max_position_embeddings", 2048))
        if registry is not None:
            for entry in registry.entries():
                self.adapter_load(entry.name, entry.path)

    @property
    def adapters(self) -> set[str]:
        """The names of the adapters loaded."""
        return set(self._loaded)

    def adapter_load(self, name: str, path: Path) -> None:
        adapter_name_check(name)
        version = artifact_version(path)
        with self._lock:
            if name in self._loaded and self._loaded[name][1] == version:
                return
            internal = f"{name}__v{version}"
            if self.model is None:
                self.model = PeftModel.from_pretrained(self.base, str(path), adapter_name=internal)
                self.model.eval()
            else:
                self.model.load_adapter(str(path), adapter_name=internal)
            previous = self._loaded.get(name)
            self._loaded[name] = (internal, version)
            if previous is not None:  # no generation runs now: this thread holds the lock
                self.model.delete_adapter(previous[0])

    def _ensure_adapter(self, adapter: str | None) -> None:
        if adapter is None:
            return
        if self.registry is None:
            if adapter in self._loaded:
                return
            raise UnknownAdapter(f"no adapter named {adapter!r}")
        if adapter in self._loaded and self._loaded[adapter][1] == self.registry.version(adapter):
            return
        entry = self.registry.get(adapter)  # raises UnknownAdapter; checks the manifest
        self.adapter_load(entry.name, entry.path)

    def prompt_ids(self, messages: Sequence[ChatMessage]) -> list[int]:
        return ids(self.tokenizer, render(self.tokenizer, messages))

    async def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        adapter: str | None,
        params: GenerationParams,
    ) -> AsyncGenerator[str, None]:
        self._ensure_adapter(adapter)
        prompt = self.prompt_ids(messages)
        if len(prompt) + 1 >= self.max_positions:
            raise EngineError(
                f"the prompt is {len(prompt)} tokens; the model takes {self.max_positions}"
            )
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        cancelled = threading.Event()

        def put(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            try:
                with self._lock:
                    self._generate(prompt, adapter, params, cancelled, put)
            except Exception as exc:  # handed to the consumer, raised there
                put(exc)
            finally:
                put(_DONE)

        # Not awaited at the end: a cancelled request may still be queued behind another
        # generation, and its worker stops by itself at its first step.
        loop.run_in_executor(None, work)
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, Exception):
                    raise EngineError(f"in-process generation failed: {item!r}") from item
                assert isinstance(item, str)
                yield item
        finally:
            cancelled.set()  # the consumer left early, or we're done: stop the loop

    @torch.no_grad()
    def _generate(
        self,
        prompt: list[int],
        adapter: str | None,
        params: GenerationParams,
        cancelled: threading.Event,
        put: Callable[[object], None],
    ) -> None:
        model: torch.nn.Module
        context: AbstractContextManager[object] = nullcontext()
        if adapter is None:
            model = self.base if self.model is None else self.model
            if self.model is not None:
                context = self.model.disable_adapter()
        else:
            assert self.model is not None
            self.model.set_adapter(self._loaded[adapter][0])
            model = self.model
        eos = int(self.tokenizer.eos_token_id)
        generator = torch.Generator()
        if params.seed is not None:
            generator.manual_seed(params.seed)
        budget = min(params.max_tokens, self.max_positions - len(prompt))
        with context:
            input_ids = torch.tensor([prompt])
            past = None
            produced: list[int] = []
            shown = ""
            for _ in range(budget):
                if cancelled.is_set():
                    return
                out = model(input_ids=input_ids, past_key_values=past, use_cache=True)
                past = out.past_key_values
                logits = out.logits[0, -1]
                token = _pick(logits, params, generator)
                if token == eos and not params.ignore_eos:
                    break
                produced.append(token)
                text = str(self.tokenizer.decode(produced, skip_special_tokens=True))
                if text.endswith("\ufffd"):  # half of a multi-byte character: wait for the rest
                    input_ids = torch.tensor([[token]])
                    continue
                delta, shown = text[len(shown) :], text
                if params.stop and any(s in shown for s in params.stop):
                    return
                if delta:
                    put(delta)
                input_ids = torch.tensor([[token]])


def _pick(logits: torch.Tensor, params: GenerationParams, generator: torch.Generator) -> int:
    if params.temperature == 0:
        return int(logits.argmax())
    probs = torch.softmax(logits / params.temperature, dim=-1)
    if params.top_p < 1:
        sorted_probs, order = probs.sort(descending=True)
        keep = sorted_probs.cumsum(0) - sorted_probs < params.top_p
        probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_probs[keep])
    return int(torch.multinomial(probs / probs.sum(), 1, generator=generator))

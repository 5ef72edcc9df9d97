"""The multi-task model: a shared encoder with a LoRA adapter, and small task heads.

    text ─ tokenizer ─ MiniLM + LoRA ─ token states ─┬─ mean pool ─┬─ intent head (softmax)
                                                      │             └─ sentiment head
                                                      └─ slot head (BIO per token)

Out-of-scope is judged from the pooled embedding and the intent logits (see ``oos.py``).
"""

from dataclasses import dataclass
from typing import Any

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from torch import Tensor, nn
from transformers import AutoModel, PreTrainedModel
from transformers.masking_utils import create_bidirectional_mask

from ml.nlu.config import ModelConfig
from ml.nlu.contracts import SENTIMENTS

IGNORE = -100  # label of a position or task that is not trained


@dataclass(frozen=True)
class Labels:
    intents: tuple[str, ...]
    slot_tags: tuple[str, ...]  # "O", then "B-<slot>", "I-<slot>" per slot
    sentiments: tuple[str, ...] = SENTIMENTS

    @classmethod
    def build(cls, intents: set[str], slots: set[str]) -> "Labels":
        tags = ["O"]
        for slot in sorted(slots):
            tags += [f"B-{slot}", f"I-{slot}"]
        return cls(intents=tuple(sorted(intents)), slot_tags=tuple(tags))

    def to_json(self) -> dict[str, Any]:
        return {
            "intents": list(self.intents),
            "slot_tags": list(self.slot_tags),
            "sentiments": list(self.sentiments),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "Labels":
        return cls(
            intents=tuple(raw["intents"]),
            slot_tags=tuple(raw["slot_tags"]),
            sentiments=tuple(raw["sentiments"]),
        )


@dataclass(frozen=True)
class HeadOutputs:
    pooled: Tensor  # (batch, hidden)
    intent_logits: Tensor  # (batch, intents)
    slot_logits: Tensor  # (batch, tokens, tags)
    sentiment_logits: Tensor  # (batch, sentiments)


def mean_pool(states: Tensor, mask: Tensor) -> Tensor:
    weights = mask.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)


class NluHeads(nn.Module):
    """The task heads of one workspace; the encoder below them is shared."""

    def __init__(self, hidden: int, labels: Labels, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.intent = nn.Linear(hidden, max(1, len(labels.intents)))
        self.slots = nn.Linear(hidden, len(labels.slot_tags))
        self.sentiment = nn.Linear(hidden, len(labels.sentiments))

    def forward(self, states: Tensor, mask: Tensor) -> HeadOutputs:
        pooled = mean_pool(states, mask)
        dropped = self.dropout(pooled)
        return HeadOutputs(
            pooled=pooled,
            intent_logits=self.intent(dropped),
            slot_logits=self.slots(self.dropout(states)),
            sentiment_logits=self.sentiment(dropped),
        )


class TaskWeighting(nn.Module):
    """How the task losses add up; the weights adapt while training.

    - ``uncertainty``: learned homoscedastic uncertainty (Kendall et al., 2018):
      sum of exp(-s_t) * L_t + s_t, with one learned s_t per task, clamped to [-2, 2]: unclamped,
      a task whose loss goes to zero (here sentiment) drives its weight into the hundreds and
      drowns the intent gradient after clipping (seen on BANKING77 + WOZ + Bitext).
    - ``dwa``: dynamic weight average (Liu et al., 2019): a task whose loss falls slowly over
      the last two epochs gets more weight; weights sum to the number of tasks.
    - ``equal``: a plain sum, the baseline of the ablation.
    """

    LOG_VAR_BOUND = 2.0

    def __init__(self, tasks: tuple[str, ...], mode: str, temperature: float = 2.0):
        super().__init__()
        self.tasks = tasks
        self.mode = mode
        self.temperature = temperature
        self.log_vars = nn.Parameter(torch.zeros(len(tasks)), requires_grad=mode == "uncertainty")
        self.dwa_weights = {task: 1.0 for task in tasks}
        self._epoch_losses: list[dict[str, float]] = []

    def forward(self, losses: dict[str, Tensor]) -> Tensor:
        total = torch.zeros((), dtype=torch.float32)
        for index, task in enumerate(self.tasks):
            if task not in losses:
                continue
            loss = losses[task]
            if self.mode == "uncertainty":
                s = self.log_vars[index].clamp(-self.LOG_VAR_BOUND, self.LOG_VAR_BOUND)
                total = total + torch.exp(-s) * loss + s
            elif self.mode == "dwa":
                total = total + self.dwa_weights[task] * loss
            else:
                total = total + loss
        return total

    def weights(self) -> dict[str, float]:
        if self.mode == "uncertainty":
            bound = self.LOG_VAR_BOUND
            return {
                t: float(torch.exp(-self.log_vars[i].detach().clamp(-bound, bound)))
                for i, t in enumerate(self.tasks)
            }
        if self.mode == "dwa":
            return dict(self.dwa_weights)
        return {task: 1.0 for task in self.tasks}

    def epoch_end(self, mean_losses: dict[str, float]) -> None:
        """DWA reweights from the ratio of the last two epochs' mean losses."""
        self._epoch_losses.append(mean_losses)
        if self.mode != "dwa" or len(self._epoch_losses) < 2:
            return
        previous, current = self._epoch_losses[-2], self._epoch_losses[-1]
        rates = {
            t: current[t] / previous[t]
            for t in self.tasks
            if previous.get(t, 0.0) > 0 and t in current
        }
        if not rates:
            return
        exps = {t: float(torch.exp(torch.tensor(r / self.temperature))) for t, r in rates.items()}
        norm = sum(exps.values())
        self.dwa_weights = {t: len(rates) * exps[t] / norm for t in rates}


def load_base(path: str) -> PreTrainedModel:
    model: PreTrainedModel = AutoModel.from_pretrained(path)
    return model


def with_new_lora(base: PreTrainedModel, config: ModelConfig, adapter: str) -> PeftModel:
    layers = int(base.config.num_hidden_layers)
    if not 0 <= config.frozen_layers < layers:
        raise ValueError(f"model.frozen_layers must be from 0 to {layers - 1}")
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
        bias="none",
        layers_to_transform=(
            list(range(config.frozen_layers, layers)) if config.frozen_layers else None
        ),
        layers_pattern="layer" if config.frozen_layers else None,
    )
    model: PeftModel = get_peft_model(base, lora, adapter_name=adapter)
    return model


def encode(encoder: nn.Module, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
    output = encoder(input_ids=input_ids, attention_mask=attention_mask)
    states: Tensor = output.last_hidden_state
    return states


class FrozenBottom:
    """The encoder split where its LoRA layers begin. The layers below have no adapter and get
    no gradient, so their outputs for each training example are computed once (``bottom``)
    and each training step runs only the layers above (``top``): with the top half adapted, a
    step costs about half as much. The same states as ``encode`` up to dropout below the split.
    """

    def __init__(self, encoder: PeftModel, layers: int):
        self.bert: Any = encoder.get_base_model()
        self.layers = layers

    def _mask(self, states: Tensor, attention_mask: Tensor) -> Any:
        return create_bidirectional_mask(
            config=self.bert.config, inputs_embeds=states, attention_mask=attention_mask
        )

    def bottom(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """The states below the split for one padded batch, without gradient or dropout."""
        was_training = self.bert.training
        self.bert.eval()
        with torch.no_grad():
            states: Tensor = self.bert.embeddings(input_ids=input_ids)
            mask = self._mask(states, attention_mask)
            for layer in self.bert.encoder.layer[: self.layers]:
                states = layer(states, mask)
        self.bert.train(was_training)
        return states

    def top(self, states: Tensor, attention_mask: Tensor) -> Tensor:
        mask = self._mask(states, attention_mask)
        for layer in self.bert.encoder.layer[self.layers :]:
            states = layer(states, mask)
        return states

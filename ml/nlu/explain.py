"""Why the model chose an intent: SHAP token attributions (``explain(model, text)``).

A partition explainer over the tokenizer's tokens masks parts of the text and watches the
calibrated probability of the chosen intent; a token's weight is how much it pushed that
probability up (positive) or down (negative). Takes about a second on CPU, so the app runs it in
a background task.
"""

import time

import numpy as np
import shap
from numpy.typing import NDArray

from ml.nlu.contracts import Explanation, TokenAttribution
from ml.nlu.runtime import NluModel


def explain(
    model: NluModel, text: str, intent: str | None = None, max_evals: int = 200
) -> Explanation:
    """Attributions for ``intent`` (default: the predicted one) on ``text``."""
    if not text.strip():
        raise ValueError("there is nothing to explain in an empty text")
    started = time.perf_counter()
    if intent is None:
        intent = model.predict([text], top_k=1)[0].intents[0].intent
    if intent not in model.labels.intents:
        raise ValueError(f"unknown intent {intent!r}")
    column = model.labels.intents.index(intent)

    def probability(texts: NDArray[np.str_]) -> NDArray[np.float32]:
        return model.intent_probabilities([str(t) for t in texts])[:, column]

    masker = shap.maskers.Text(model.shared.tokenizer)
    explainer = shap.Explainer(probability, masker)
    values = explainer([text], max_evals=max_evals, batch_size=64, silent=True)
    tokens = tuple(
        TokenAttribution(token=str(token), weight=round(float(weight), 5))
        for token, weight in zip(values.data[0], values.values[0], strict=True)
        if str(token).strip()
    )
    return Explanation(
        text=text, intent=intent, tokens=tokens, seconds=time.perf_counter() - started
    )

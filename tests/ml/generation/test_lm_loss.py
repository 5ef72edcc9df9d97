import torch

from ml.generation.lm import IGNORE, EncodedExample, pad_batch, weighted_loss


def _items() -> list[EncodedExample]:
    return [
        EncodedExample([5, 6, 7, 8, 9, 10], [IGNORE, IGNORE, 7, 8, 9, 10], decision=2),
        EncodedExample([5, 6, 7], [IGNORE, 6, 7], decision=0),
    ]


def test_decision_tokens_get_their_weight_and_padding_none() -> None:
    batch = pad_batch(_items(), pad_id=0, decision_weight=5.0)
    assert batch.weights[0].tolist() == [1, 1, 5, 5, 1, 1]  # the first two answer tokens
    assert batch.weights[1].tolist()[:3] == [1, 1, 1]
    assert batch.labels[1].tolist() == [IGNORE, 6, 7, IGNORE, IGNORE, IGNORE]
    assert batch.mask[1].tolist() == [1, 1, 1, 0, 0, 0]


def test_weighted_loss_is_the_usual_mean_with_unit_weights_and_tilts_with_others() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 6, 12)
    plain = pad_batch(_items(), pad_id=0)
    usual = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, 12), plain.labels[:, 1:].reshape(-1), ignore_index=IGNORE
    )
    torch.testing.assert_close(weighted_loss(logits, plain), usual)

    # Make the decision tokens of row 0 (labels 7 and 8) certain: a higher weight on them
    # lowers the loss.
    logits[0, 1, 7] = logits[0, 2, 8] = 50.0
    assert weighted_loss(logits, pad_batch(_items(), 0, 10.0)) < weighted_loss(logits, plain)

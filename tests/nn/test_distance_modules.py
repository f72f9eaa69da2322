"""nn.PairwiseDistance and nn.CosineSimilarity (nn/modules/distance.py) against torch's values,
recorded here for the bare install."""

import pytest

import retrograd
from tests.helpers import assert_values_and_grads

X1 = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
X2 = [[1.0, 0.5, -0.5], [0.0, 2.0, 1.0]]

CASES = {
    "pairwise_p3_keepdim": (
        lambda m, x, y: m.nn.PairwiseDistance(p=3.0, eps=1e-3, keepdim=True)(x, y),
        [[[2.674765507683119], [2.4148466253487473]],
         [[-0.03480404030877858, -0.31407389278704023, 0.8742908941548441],
          [0.38635121239695847, -0.5245664538424566, -0.5245664538424566]],
         [[0.03480404030877858, 0.31407389278704023, -0.8742908941548441],
          [-0.38635121239695847, 0.5245664538424566, 0.5245664538424566]]]),
    "pairwise_default": (
        lambda m, x, y: m.nn.PairwiseDistance()(x, y),
        [[2.9580400605811614, 2.8939585346032515],
         [[-0.16903050322508684, -0.5070921857986256, 0.8451545444955295],
          [0.5183215246743829, -0.6047076967672991, -0.6047076967672991]],
         [[0.16903050322508684, 0.5070921857986256, -0.8451545444955295],
          [-0.5183215246743829, 0.6047076967672991, 0.6047076967672991]]]),
    "cosine_dim0": (
        lambda m, x, y: m.nn.CosineSimilarity(dim=0, eps=1e-6)(x, y),
        [[0.31622776601683794, 0.0, -0.7327934916262993],
         [[0.5692099788303083, 0.23529411764705882, 0.11185497523845661],
          [-0.18973665961010275, 0.9411764705882353, 0.2982799339692177]],
         [[0.0, -0.47058823529411764, 0.5443608794938223],
          [0.9486832980505138, 0.11764705882352941, 0.27218043974691103]]]),
    "cosine_default": (
        lambda m, x, y: m.nn.CosineSimilarity()(x, y),
        [[-0.35634832254989923, -0.0659380473395787],
         [[0.39028625803084205, 0.11029829031306404, -0.042422419351178464],
          [0.03440245948151932, 0.5332381219635495, 0.24655095961755513]],
         [[0.41573970964154916, -0.23756554836659943, 0.5939138709164987],
          [0.3956282840374722, 0.09231326627541017, -0.18462653255082034]]]),
}


@pytest.mark.parametrize("case", CASES)
def test_values_and_gradients_match_torch(case):
    fn, expected = CASES[case]
    assert_values_and_grads(fn, [X1, X2], expected)


def test_attributes_and_repr_as_torch():
    d = retrograd.nn.PairwiseDistance(p=1.5, eps=0.1, keepdim=True)
    assert (d.norm, d.eps, d.keepdim) == (1.5, 0.1, True)  # torch keeps p as `norm`
    c = retrograd.nn.CosineSimilarity(dim=-1, eps=1e-3)
    assert (c.dim, c.eps) == (-1, 1e-3)
    assert (repr(d), repr(c)) == ("PairwiseDistance()", "CosineSimilarity()")
    assert retrograd.nn.modules.distance.PairwiseDistance is retrograd.nn.PairwiseDistance

"""torch 2.13's autocast op lists, and one call of each listed op that retrograd has.

TORCH_LISTS: the aten ops torch registers an autocast kernel for, per device, by policy
(aten/src/ATen/autocast_mode.cpp and .h; test_autocast checks these names against torch's
dispatcher when torch is installed). CASES: name -> fn(t, F, m) calling the op through the
public API, identical for torch and retrograd; ``m(*shape)`` makes an input in the case's
input dtype, ``m(*shape, f32=True)`` a float32 one (the promote cases mix them).
ABSENT: the listed ops retrograd does not have, with the public name that must stay absent
(None: an internal aten op that torch's public calls reach through another listed op).
"""

import numpy as np

_CPU_LOWER = {
    "_addmm_activation", "_convolution", "_native_multi_head_attention", "addbmm", "addmm", "baddbmm",
    "bmm", "conv1d", "conv2d", "conv3d", "conv_tbc", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "linalg_vecdot", "linear", "matmul", "mkldnn_rnn_layer", "mm", "prelu",
    "scaled_dot_product_attention"}
_CPU_PROMOTE = {"cat", "index_copy", "stack"}
_CPU_FP32 = {
    "_grid_sampler_2d_cpu_fallback", "_lu_with_info", "adaptive_avg_pool3d", "adaptive_max_pool3d",
    "avg_pool3d", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cdist", "cholesky",
    "cholesky_inverse", "cholesky_solve", "cosine_embedding_loss", "cross_entropy_loss", "ctc_loss",
    "fake_quantize_per_tensor_affine", "fft_fft", "fft_fft2", "fft_fftn", "fft_hfft", "fft_ifft",
    "fft_ifft2", "fft_ifftn", "fft_ihfft", "fft_irfft", "fft_irfft2", "fft_irfftn", "fft_rfft",
    "fft_rfft2", "fft_rfftn", "fractional_max_pool2d", "fractional_max_pool3d", "geqrf", "grid_sampler",
    "grid_sampler_2d", "grid_sampler_3d", "hinge_embedding_loss", "huber_loss", "inverse", "kl_div",
    "l1_loss", "linalg_cholesky", "linalg_cholesky_ex", "linalg_cond", "linalg_eig", "linalg_eigh",
    "linalg_eigvals", "linalg_eigvalsh", "linalg_householder_product", "linalg_inv", "linalg_inv_ex",
    "linalg_lstsq", "linalg_matrix_rank", "linalg_qr", "linalg_solve", "linalg_svd", "linalg_svdvals",
    "linalg_tensorinv", "linalg_tensorsolve", "lu_solve", "margin_ranking_loss", "max_pool3d",
    "max_unpool2d", "max_unpool3d", "mse_loss", "multi_margin_loss", "multilabel_margin_loss",
    "multilabel_margin_loss_forward", "nanquantile", "nll_loss", "nll_loss2d", "orgqr", "ormqr",
    "pinverse", "poisson_nll_loss", "polar", "prod", "qr", "quantile", "reflection_pad1d",
    "reflection_pad2d", "replication_pad1d", "replication_pad2d", "replication_pad3d",
    "smooth_l1_loss", "soft_margin_loss", "stft", "svd", "trace", "triangular_solve",
    "triplet_margin_loss", "view_as_complex"}
_CUDA_LOWER = {
    "_convolution", "_scaled_dot_product_flash_attention", "_thnn_fused_gru_cell", "_thnn_fused_lstm_cell",
    "addbmm", "addmm", "addmv", "addr", "baddbmm", "bmm", "chain_matmul", "conv1d", "conv2d", "conv3d",
    "conv_tbc", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "convolution",
    "cudnn_convolution", "cudnn_convolution_transpose", "einsum", "gru_cell", "linalg_multi_dot",
    "linalg_vecdot", "linear", "lstm_cell", "matmul", "mm", "mv", "prelu", "rnn_relu_cell",
    "rnn_tanh_cell", "scaled_dot_product_attention"}
_CUDA_PROMOTE = {"addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "grid_sampler", "index_put",
                 "scatter_add", "tensordot", "vdot"}
_CUDA_BANNED = {"binary_cross_entropy"}  # raises under CUDA autocast
_CUDA_FP32 = {
    "_upsample_bicubic2d_aa", "_upsample_bilinear2d_aa", "_upsample_nearest_exact1d",
    "_upsample_nearest_exact2d", "_upsample_nearest_exact3d", "acos", "asin", "binary_cross_entropy_with_logits",
    "cdist", "cosh", "cosine_embedding_loss", "cosine_similarity", "cumprod", "cumsum", "dist", "erfinv",
    "exp", "expm1", "frobenius_norm", "group_norm", "hinge_embedding_loss", "huber_loss", "kl_div",
    "l1_loss", "layer_norm", "linalg_matrix_norm", "linalg_vector_norm", "log", "log10", "log1p", "log2",
    "log_softmax", "logsumexp", "margin_ranking_loss", "mse_loss", "multi_margin_loss",
    "multilabel_margin_loss", "native_layer_norm", "nll_loss", "nll_loss2d", "norm", "nuclear_norm",
    "pdist", "poisson_nll_loss", "pow", "prod", "reciprocal", "renorm", "rms_norm", "rsqrt", "sinh",
    "smooth_l1_loss", "soft_margin_loss", "softmax", "softplus", "sum", "tan", "triplet_margin_loss",
    "upsample_bicubic2d", "upsample_bilinear2d", "upsample_linear1d", "upsample_nearest1d",
    "upsample_nearest2d", "upsample_nearest3d", "upsample_trilinear3d"}

TORCH_LISTS = {
    "cpu": {"lower": _CPU_LOWER, "fp32": _CPU_FP32, "promote": _CPU_PROMOTE},
    "cuda": {"lower": _CUDA_LOWER, "fp32": _CUDA_FP32, "promote": _CUDA_PROMOTE, "banned": _CUDA_BANNED},
}
# not in the lists above, yet run in that precision: on the CPU torch's implementation runs a
# listed op (bmm/mm) on the inputs; on CUDA the recurrent layers run _cudnn_rnn, which CUDA
# builds cast to float16 (aten/src/ATen/cudnn/AutocastRNN.cpp), cross_entropy runs log_softmax
# and nll_loss (both fp32), and the ctc_loss case's log_softmax makes its input float32
THROUGH_ANOTHER_OP = {
    "cpu": {"einsum": "lower", "tensordot": "lower", "chain_matmul": "lower", "linalg_multi_dot": "lower"},
    "cuda": {"mkldnn_rnn_layer": "lower", "cross_entropy_loss": "fp32", "ctc_loss": "fp32"},
}


def policy(device_type, name):
    """torch's policy for aten op ``name`` (a case name: the part before the first '.')."""
    base = name.split(".")[0]
    for pol, names in TORCH_LISTS[device_type].items():
        if base in names:
            return pol
    return THROUGH_ANOTHER_OP[device_type].get(base)


def _arr(shape, seed, pos, spd):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5 if pos else -1.0, 1.0, size=shape)
    if spd:  # symmetric positive definite, well conditioned
        a = a @ np.swapaxes(a, -1, -2) + np.eye(shape[-1]) * shape[-1]
    return a.astype(np.float32)


class Maker:
    """Inputs of one case: the same values for torch and retrograd, in ``dtype``."""

    def __init__(self, t, dtype):
        self.t, self.dtype, self.n = t, dtype, 0

    mixed = False  # an input of another floating dtype was made

    def __call__(self, *shape, pos=False, f32=False, spd=False):
        self.n += 1
        self.mixed |= f32 and self.dtype != self.t.float32
        x = self.t.tensor(_arr(shape, self.n, pos, spd))
        return x if f32 else x.to(self.dtype)

    def long(self, *vals):
        return self.t.tensor(list(vals))


CASES = {
    # lower precision
    "conv1d": lambda t, F, m: F.conv1d(m(2, 3, 8), m(4, 3, 3), m(4)),
    "conv2d": lambda t, F, m: F.conv2d(m(2, 3, 6, 6), m(4, 3, 3, 3), m(4)),
    "conv3d": lambda t, F, m: F.conv3d(m(1, 2, 4, 4, 4), m(3, 2, 2, 2, 2)),
    "conv_transpose1d": lambda t, F, m: F.conv_transpose1d(m(2, 3, 8), m(3, 4, 3), m(4)),
    "conv_transpose2d": lambda t, F, m: F.conv_transpose2d(m(2, 3, 5, 5), m(3, 4, 3, 3)),
    "conv_transpose3d": lambda t, F, m: F.conv_transpose3d(m(1, 2, 3, 3, 3), m(2, 3, 2, 2, 2)),
    "prelu": lambda t, F, m: F.prelu(m(2, 3, 4), m(3)),
    "addmm": lambda t, F, m: t.addmm(m(3, 5), m(3, 4), m(4, 5)),
    "addmv": lambda t, F, m: t.addmv(m(3), m(3, 4), m(4)),
    "addr": lambda t, F, m: t.addr(m(3, 4), m(3), m(4)),
    "matmul": lambda t, F, m: m(2, 3, 4) @ m(4, 5),
    "einsum": lambda t, F, m: t.einsum("ij,jk->ik", m(3, 4), m(4, 5)),
    "mm": lambda t, F, m: t.mm(m(3, 4), m(4, 5)),
    "mv": lambda t, F, m: t.mv(m(3, 4), m(4)),
    "linalg_vecdot": lambda t, F, m: t.linalg.vecdot(m(3, 4), m(3, 4)),
    "linear": lambda t, F, m: F.linear(m(3, 4), m(5, 4), m(5)),
    "addbmm": lambda t, F, m: t.addbmm(m(3, 5), m(2, 3, 4), m(2, 4, 5)),
    "baddbmm": lambda t, F, m: t.baddbmm(m(2, 3, 5), m(2, 3, 4), m(2, 4, 5)),
    "bmm": lambda t, F, m: t.bmm(m(2, 3, 4), m(2, 4, 5)),
    "chain_matmul": lambda t, F, m: t.chain_matmul(m(3, 4), m(4, 5), m(5, 2)),
    "linalg_multi_dot": lambda t, F, m: t.linalg.multi_dot([m(3, 4), m(4, 5), m(5, 2)]),
    "scaled_dot_product_attention": lambda t, F, m: F.scaled_dot_product_attention(m(2, 3, 4), m(2, 5, 4),
                                                                                   m(2, 5, 4)),
    "mkldnn_rnn_layer": lambda t, F, m: _rnn(t, "LSTM", m),
    "mkldnn_rnn_layer.rnn_tanh": lambda t, F, m: _rnn(t, "RNN", m),
    # float32
    "acos": lambda t, F, m: t.acos(m(5) * 0.5),
    "asin": lambda t, F, m: t.asin(m(5) * 0.5),
    "cosh": lambda t, F, m: t.cosh(m(5)),
    "erfinv": lambda t, F, m: t.erfinv(m(5) * 0.5),
    "exp": lambda t, F, m: m(5).exp(),
    "expm1": lambda t, F, m: t.expm1(m(5)),
    "log": lambda t, F, m: t.log(m(5, pos=True)),
    "log10": lambda t, F, m: t.log10(m(5, pos=True)),
    "log2": lambda t, F, m: t.log2(m(5, pos=True)),
    "log1p": lambda t, F, m: t.log1p(m(5, pos=True)),
    "reciprocal": lambda t, F, m: t.reciprocal(m(5, pos=True)),
    "rsqrt": lambda t, F, m: t.rsqrt(m(5, pos=True)),
    "sinh": lambda t, F, m: t.sinh(m(5)),
    "tan": lambda t, F, m: t.tan(m(5)),
    "pow.Tensor_Scalar": lambda t, F, m: m(5, pos=True) ** 2.5,
    "pow.Tensor_Tensor": lambda t, F, m: t.pow(m(5, pos=True), m(5)),
    "pow.Scalar": lambda t, F, m: t.pow(2.0, m(5)),
    "softplus": lambda t, F, m: F.softplus(m(5)),
    "layer_norm": lambda t, F, m: F.layer_norm(m(3, 4), (4,), m(4), m(4)),
    "group_norm": lambda t, F, m: F.group_norm(m(2, 4, 3), 2, m(4), m(4)),
    "rms_norm": lambda t, F, m: F.rms_norm(m(3, 4), (4,), m(4)),
    "cosine_similarity": lambda t, F, m: F.cosine_similarity(m(3, 4), m(3, 4)),
    "poisson_nll_loss": lambda t, F, m: F.poisson_nll_loss(m(3, 4), m(3, 4, pos=True)),
    "cosine_embedding_loss": lambda t, F, m: F.cosine_embedding_loss(m(3, 4), m(3, 4), m.long(1, -1, 1)),
    "nll_loss": lambda t, F, m: F.nll_loss(m(3, 4), m.long(0, 3, 1)),
    "nll_loss2d": lambda t, F, m: F.nll_loss(m(2, 3, 2, 2), m.long(0, 2, 1, 1, 0, 1, 2, 0).reshape(2, 2, 2)),
    "hinge_embedding_loss": lambda t, F, m: F.hinge_embedding_loss(m(3, 4), m.long(1, -1, 1, 1).float()),
    "kl_div": lambda t, F, m: F.kl_div(m(3, 4), m(3, 4, pos=True), reduction="batchmean"),
    "l1_loss": lambda t, F, m: F.l1_loss(m(3, 4), m(3, 4)),
    "smooth_l1_loss": lambda t, F, m: F.smooth_l1_loss(m(3, 4), m(3, 4)),
    "huber_loss": lambda t, F, m: F.huber_loss(m(3, 4), m(3, 4)),
    "mse_loss": lambda t, F, m: F.mse_loss(m(3, 4), m(3, 4)),
    "margin_ranking_loss": lambda t, F, m: F.margin_ranking_loss(m(4), m(4), m.long(1, -1, 1, 1).float()),
    "multilabel_margin_loss": lambda t, F, m: F.multilabel_margin_loss(
        m(2, 4), m.long(3, 0, -1, 1, 0, 1, 2, -1).reshape(2, 4)),
    "soft_margin_loss": lambda t, F, m: F.soft_margin_loss(m(3, 4), m.long(1, -1, 1, 1).float()),
    "triplet_margin_loss": lambda t, F, m: F.triplet_margin_loss(m(3, 4), m(3, 4), m(3, 4)),
    "multi_margin_loss": lambda t, F, m: F.multi_margin_loss(m(3, 4), m.long(0, 3, 1)),
    "binary_cross_entropy_with_logits": lambda t, F, m: F.binary_cross_entropy_with_logits(
        m(3, 4), m(3, 4, pos=True)),
    "pdist": lambda t, F, m: F.pdist(m(4, 3)),
    "cdist": lambda t, F, m: t.cdist(m(3, 4), m(5, 4)),
    "dist": lambda t, F, m: t.dist(m(3, 4), m(4)),
    "renorm": lambda t, F, m: t.renorm(m(3, 4), 2, 0, 0.5),
    "logsumexp": lambda t, F, m: t.logsumexp(m(3, 4), 1),
    "upsample_nearest1d": lambda t, F, m: F.interpolate(m(1, 2, 4), scale_factor=2),
    "_upsample_nearest_exact1d": lambda t, F, m: F.interpolate(m(1, 2, 4), scale_factor=2, mode="nearest-exact"),
    "upsample_nearest2d": lambda t, F, m: F.interpolate(m(1, 2, 3, 3), scale_factor=2),
    "_upsample_nearest_exact2d": lambda t, F, m: F.interpolate(m(1, 2, 3, 3), scale_factor=1.5,
                                                               mode="nearest-exact"),
    "upsample_nearest3d": lambda t, F, m: F.interpolate(m(1, 2, 2, 2, 2), scale_factor=2),
    "_upsample_nearest_exact3d": lambda t, F, m: F.interpolate(m(1, 2, 2, 2, 2), scale_factor=2,
                                                               mode="nearest-exact"),
    "upsample_linear1d": lambda t, F, m: F.interpolate(m(1, 2, 4), scale_factor=2, mode="linear"),
    "upsample_bilinear2d": lambda t, F, m: F.interpolate(m(1, 2, 3, 3), scale_factor=2, mode="bilinear"),
    "upsample_trilinear3d": lambda t, F, m: F.interpolate(m(1, 2, 2, 2, 2), scale_factor=2, mode="trilinear"),
    "upsample_bicubic2d": lambda t, F, m: F.interpolate(m(1, 2, 3, 3), scale_factor=2, mode="bicubic"),
    "_upsample_bilinear2d_aa": lambda t, F, m: F.interpolate(m(1, 2, 6, 6), scale_factor=0.5, mode="bilinear",
                                                             antialias=True),
    "_upsample_bicubic2d_aa": lambda t, F, m: F.interpolate(m(1, 2, 6, 6), scale_factor=0.5, mode="bicubic",
                                                            antialias=True),
    "adaptive_avg_pool3d.area": lambda t, F, m: F.interpolate(m(1, 2, 4, 4, 4), scale_factor=0.5, mode="area"),
    "prod": lambda t, F, m: t.prod(m(5)),
    "prod.dim_int": lambda t, F, m: m(3, 4).prod(1),
    "softmax": lambda t, F, m: t.softmax(m(3, 4), 1),
    "softmax.softmin": lambda t, F, m: F.softmin(m(3, 4), 1),
    "log_softmax": lambda t, F, m: F.log_softmax(m(3, 4), 1),
    "cumprod": lambda t, F, m: t.cumprod(m(3, 4), 1),
    "cumsum": lambda t, F, m: m(3, 4).cumsum(1),
    "linalg_vector_norm": lambda t, F, m: t.linalg.vector_norm(m(3, 4)),
    "linalg_matrix_norm": lambda t, F, m: t.linalg.matrix_norm(m(3, 4)),
    "linalg_matrix_norm.str_ord": lambda t, F, m: t.linalg.matrix_norm(m(3, 4), "fro"),
    "sum": lambda t, F, m: t.sum(m(3, 4)),
    "sum.dim_IntList": lambda t, F, m: m(3, 4).sum(1),
    "norm.Scalar": lambda t, F, m: t.norm(m(3, 4)),
    "norm.ScalarOpt_dim": lambda t, F, m: m(3, 4).norm(2, 1),
    "avg_pool3d": lambda t, F, m: F.avg_pool3d(m(1, 2, 4, 4, 4), 2),
    "binary_cross_entropy": lambda t, F, m: F.binary_cross_entropy(m(3, 4, pos=True) * 0.9, m(3, 4, pos=True)),
    "quantile": lambda t, F, m: t.quantile(m(5), 0.3),
    "nanquantile": lambda t, F, m: t.nanquantile(m(5), 0.3),
    "trace": lambda t, F, m: t.trace(m(3, 3)),
    "cholesky": lambda t, F, m: t.cholesky(m(3, 3, spd=True)),
    "inverse": lambda t, F, m: t.inverse(m(3, 3, spd=True)),
    "max_pool3d": lambda t, F, m: F.max_pool3d(m(1, 2, 4, 4, 4), 2),
    "max_unpool2d": lambda t, F, m: F.max_unpool2d(*F.max_pool2d(m(1, 2, 4, 4), 2, return_indices=True), 2),
    "max_unpool3d": lambda t, F, m: F.max_unpool3d(*F.max_pool3d(m(1, 2, 4, 4, 4, f32=True), 2,
                                                                 return_indices=True), 2),
    "adaptive_avg_pool3d": lambda t, F, m: F.adaptive_avg_pool3d(m(1, 2, 4, 4, 4), 2),
    "adaptive_max_pool3d": lambda t, F, m: F.adaptive_max_pool3d(m(1, 2, 4, 4, 4), 2),
    "fractional_max_pool2d": lambda t, F, m: (lambda x: F.fractional_max_pool2d(  # (samples fixed: torch's values)
        x, 2, output_size=3, _random_samples=t.tensor([[[0.3, 0.7], [0.5, 0.2]]], dtype=x.dtype)))(m(1, 2, 5, 5)),
    "fractional_max_pool3d": lambda t, F, m: (lambda x: F.fractional_max_pool3d(
        x, 2, output_size=3, _random_samples=t.tensor([[[0.3, 0.7, 0.1], [0.5, 0.2, 0.9]]], dtype=x.dtype)))(
        m(1, 2, 5, 5, 5)),
    "reflection_pad1d": lambda t, F, m: F.pad(m(1, 2, 4), (1, 2), mode="reflect"),
    "reflection_pad2d": lambda t, F, m: F.pad(m(1, 2, 4, 4), (1, 2, 1, 1), mode="reflect"),
    "replication_pad1d": lambda t, F, m: F.pad(m(1, 2, 4), (1, 2), mode="replicate"),
    "replication_pad2d": lambda t, F, m: F.pad(m(1, 2, 4, 4), (1, 2, 1, 1), mode="replicate"),
    "replication_pad3d": lambda t, F, m: F.pad(m(1, 2, 3, 3, 3), (1, 1, 1, 1, 1, 1), mode="replicate"),
    "cross_entropy_loss": lambda t, F, m: F.cross_entropy(m(3, 4), m.long(0, 3, 1)),
    "ctc_loss": lambda t, F, m: F.ctc_loss(m(6, 2, 4).log_softmax(2), m.long(1, 2, 1, 3), m.long(6, 6),
                                           m.long(2, 2)),
    "linalg_solve": lambda t, F, m: t.linalg.solve(m(3, 3, spd=True), m(3, 2)),
    "linalg_cholesky": lambda t, F, m: t.linalg.cholesky(m(3, 3, spd=True)),
    "linalg_cholesky_ex": lambda t, F, m: t.linalg.cholesky_ex(m(3, 3, spd=True))[0],
    "linalg_svdvals": lambda t, F, m: t.linalg.svdvals(m(3, 3)),
    "linalg_eigvalsh": lambda t, F, m: t.linalg.eigvalsh(m(3, 3, spd=True)),
    "linalg_eigh": lambda t, F, m: t.linalg.eigh(m(3, 3, spd=True))[0],
    "linalg_inv": lambda t, F, m: t.linalg.inv(m(3, 3, spd=True)),
    "linalg_inv_ex": lambda t, F, m: t.linalg.inv_ex(m(3, 3, spd=True))[0],
    "linalg_qr": lambda t, F, m: t.linalg.qr(m(3, 3))[1],
    "linalg_svd": lambda t, F, m: t.linalg.svd(m(3, 3))[1],
    "linalg_cond": lambda t, F, m: t.linalg.cond(m(3, 3, spd=True)),
    "linalg_householder_product": lambda t, F, m: t.linalg.householder_product(m(3, 2), m(2)),
    "linalg_lstsq": lambda t, F, m: t.linalg.lstsq(m(3, 2), m(3, 1)).solution,
    "linalg_matrix_rank": lambda t, F, m: t.linalg.matrix_rank(m(3, 3)).float() + m(3, f32=True) * 0,
    "linalg_tensorinv": lambda t, F, m: t.linalg.tensorinv(m(4, 4, spd=True).reshape(2, 2, 4)),
    "linalg_tensorsolve": lambda t, F, m: t.linalg.tensorsolve(m(4, 4, spd=True).reshape(2, 2, 4), m(2, 2)),
    "pinverse": lambda t, F, m: t.pinverse(m(3, 2)),
    "cholesky_solve": lambda t, F, m: t.cholesky_solve(m(3, 2), m(3, 3, spd=True)),
    "cholesky_inverse": lambda t, F, m: t.cholesky_inverse(m(3, 3, spd=True)),
    "lu_solve": lambda t, F, m: t.lu_solve(m(3, 2), m(3, 3, spd=True), t.tensor([1, 2, 3], dtype=t.int32)),
    "orgqr": lambda t, F, m: t.orgqr(m(3, 2), m(2)),
    "triangular_solve": lambda t, F, m: t.triangular_solve(m(3, 2), m(3, 3, spd=True)).solution,
    "svd": lambda t, F, m: t.svd(m(3, 3))[1],
    "qr": lambda t, F, m: t.qr(m(3, 3))[1],
    # promote: one float32 input among the others
    "addcdiv": lambda t, F, m: t.addcdiv(m(3), m(3, f32=True), m(3, pos=True)),
    "addcmul": lambda t, F, m: t.addcmul(m(3), m(3, f32=True), m(3)),
    "atan2": lambda t, F, m: t.atan2(m(3), m(3, f32=True)),
    "bilinear": lambda t, F, m: F.bilinear(m(2, 3), m(2, 4), m(5, 3, 4, f32=True), m(5)),
    "cross": lambda t, F, m: t.cross(m(2, 3), m(2, 3, f32=True), dim=1),
    "dot": lambda t, F, m: t.dot(m(3), m(3, f32=True)),
    "vdot": lambda t, F, m: t.vdot(m(3), m(3, f32=True)),
    "grid_sampler": lambda t, F, m: F.grid_sample(m(1, 2, 3, 3), m(1, 2, 2, 2, f32=True) * 0.9,
                                                  align_corners=False),
    "index_put": lambda t, F, m: t.index_put(m(4), (m.long(0, 2),), m(2, f32=True)),
    "tensordot": lambda t, F, m: t.tensordot(m(3, 4), m(4, 2, f32=True), dims=1),
    "scatter_add": lambda t, F, m: t.scatter_add(m(4), 0, m.long(0, 2), m(2, f32=True)),
    "stack": lambda t, F, m: t.stack([m(3), m(3, f32=True)]),
    "cat": lambda t, F, m: t.cat([m(3), m(3, f32=True)]),
    "index_copy": lambda t, F, m: t.index_copy(m(4), 0, m.long(0, 2), m(2, f32=True)),
}


def _rnn(t, mode, m):
    layer = getattr(t.nn, mode)(4, 3)
    with t.no_grad():  # the same weights in both libraries
        for p in layer.parameters():
            p.copy_(t.linspace(-0.5, 0.5, p.numel()).reshape(p.shape))
    return layer(m(2, 2, 4))[0]


# listed ops retrograd does not have -> the public name that must stay absent (None: internal)
ABSENT = {
    "_addmm_activation": None, "_convolution": None, "convolution": None, "cudnn_convolution": None,
    "cudnn_convolution_transpose": None, "_scaled_dot_product_flash_attention": None,
    "_native_multi_head_attention": None, "_thnn_fused_gru_cell": None, "_thnn_fused_lstm_cell": None,
    "native_layer_norm": None, "multilabel_margin_loss_forward": None, "grid_sampler_2d": None,
    "grid_sampler_3d": None, "_grid_sampler_2d_cpu_fallback": None, "_lu_with_info": None,
    "conv_tbc": "conv_tbc", "gru_cell": "gru_cell", "lstm_cell": "lstm_cell", "rnn_relu_cell": "rnn_relu_cell",
    "rnn_tanh_cell": "rnn_tanh_cell", "frobenius_norm": "frobenius_norm",
    "nuclear_norm": "nuclear_norm", "polar": "polar", "stft": "stft", "view_as_complex": "view_as_complex",
    "ormqr": "ormqr", "geqrf": "geqrf",
    "fake_quantize_per_tensor_affine": "fake_quantize_per_tensor_affine",
    "linalg_eig": "linalg.eig", "linalg_eigvals": "linalg.eigvals",
    **{f"fft_{k}": "fft" for k in ("fft", "fft2", "fftn", "hfft", "ifft", "ifft2", "ifftn", "ihfft", "irfft",
                                   "irfft2", "irfftn", "rfft", "rfft2", "rfftn")},
}

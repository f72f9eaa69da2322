"""Fused CUDA kernels for the hot composites, run through CuPy on CUDA tensors.

A composite written with array ops (GELU's erf, a layer norm's statistics and affine, a
softmax's max/exp/sum/divide, an LSTM step's gates) costs one kernel launch and one pass over
memory per array op on the GPU; each kernel here does the whole composite in one launch, and
the ops (activation.py, normalization.py, softmax.py, loss.py, rnn.py, optim/adam.py and
optim/sgd.py) call it when their array is a CuPy array of a dtype it is built for. The NumPy
path does not come here: a CPU op pays one ``type(x) is np.ndarray`` check.

Each kernel is a complete ``extern "C" __global__`` CUDA source (``source(name, dtype)``),
compiled by CuPy (``cupy.RawKernel``, NVRTC) on first use and cached per dtype, and written so
that it reads as its formula. The sources use no headers and only these CUDA features: the
overloaded math functions (exp, log, tanh, erf, sqrt, fmax), ``__shared__`` arrays of
``RG_BLOCK`` entries, ``__syncthreads`` and the thread/block indices; reductions are
shared-memory trees, so a kernel is correct for any power-of-two block size. That is what lets
tests/ops/test_cuda_kernels.py compile every source with nvcc where it is installed and also
run the very same source on the CPU (g++, one std::thread per CUDA thread, a barrier for
``__syncthreads``) against the ops' NumPy results, on machines without a GPU.

Launch layout: elementwise kernels use a grid-stride loop over every element; row kernels
(layer norm, softmax, log-softmax, the NLL gather) one block per row of a (rows, m) array,
each thread striding over the row.

CuPy is never required: the kernels use the CuPy that retrograd._backend found (None without
it), and are compiled only when a CUDA array reaches them; ``fits`` is False otherwise, also
under a stand-in CuPy without ``RawKernel`` (tests/strict_device.py).
"""

import re

import numpy as np

from .. import _backend

# CUDA threads per block. Kernels take any power of two; the CPU emulation in the tests
# builds the same sources with a small block so that the strided loops and the reduction
# trees both run.
BLOCK = 256
_MAX_GRID = 65535 * 32  # elementwise grids stride beyond this
_CTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
DTYPES = tuple(_CTYPES)

# Written before every kernel: the element type and the block-wide reductions.
_PRELUDE = r"""
typedef {ctype} T;
#ifndef RG_BLOCK
#define RG_BLOCK {block}
#endif

// The sum over the block of each thread's v (every thread gets it). buf: RG_BLOCK entries of
// __shared__ memory; blockDim.x must be a power of two.
__device__ T block_sum(T v, T* buf) {{
    unsigned t = threadIdx.x;
    buf[t] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {{
        if (t < s) buf[t] += buf[t + s];
        __syncthreads();
    }}
    T total = buf[0];
    __syncthreads();  // buf is free again for the next reduction
    return total;
}}

// The maximum over the block of each thread's v (fmax: a NaN loses to a number; the NaN
// still reaches the result through exp(x - max)).
__device__ T block_max(T v, T* buf) {{
    unsigned t = threadIdx.x;
    buf[t] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {{
        if (t < s) buf[t] = fmax(buf[t], buf[t + s]);
        __syncthreads();
    }}
    T total = buf[0];
    __syncthreads();
    return total;
}}

__device__ T sigmoid(T a) {{ return T(0.5) + T(0.5) * tanh(T(0.5) * a); }}  // 1/(1 + e^-a), no overflow
"""

# for the kernels' constants: exact decimal expansions
_SQRT_2_OVER_PI = "0.7978845608028654"
_INV_SQRT_2 = "0.7071067811865476"
_INV_SQRT_2PI = "0.3989422804014327"

KERNELS = {}


def _kernel_source(body):
    """Register a kernel body (its name is the name after ``void``)."""
    name = re.search(r"__global__\s+void\s+(\w+)\s*\(", body).group(1)
    KERNELS[name] = body
    return name


# ------------------------------------------------------------------------------ GELU
# gelu(x) = x Phi(x), Phi(x) = (1 + erf(x/sqrt 2))/2;  gelu'(x) = Phi(x) + x phi(x),
# phi(x) = e^(-x^2/2)/sqrt(2 pi).  'tanh': gelu(x) = x (1 + tanh u)/2, u = k (x + 0.044715 x^3),
# k = sqrt(2/pi);  gelu'(x) = (1 + t)/2 + x (1 - t^2) k (1 + 3*0.044715 x^2)/2, t = tanh u.

_kernel_source(r"""
extern "C" __global__ void gelu_erf_forward(const T* x, T* y, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        T a = x[i];
        T Phi = T(0.5) * (T(1) + erf(a * T(%(INV_SQRT_2)s)));
        y[i] = a * Phi;
    }
}
""" % {"INV_SQRT_2": _INV_SQRT_2})

_kernel_source(r"""
extern "C" __global__ void gelu_erf_backward(const T* x, const T* g, T* dx, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        T a = x[i];
        T Phi = T(0.5) * (T(1) + erf(a * T(%(INV_SQRT_2)s)));
        T phi = T(%(INV_SQRT_2PI)s) * exp(T(-0.5) * a * a);
        dx[i] = g[i] * (Phi + a * phi);
    }
}
""" % {"INV_SQRT_2": _INV_SQRT_2, "INV_SQRT_2PI": _INV_SQRT_2PI})

_kernel_source(r"""
extern "C" __global__ void gelu_tanh_forward(const T* x, T* y, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        T a = x[i];
        T u = T(%(K)s) * (a + T(0.044715) * a * a * a);
        y[i] = T(0.5) * a * (T(1) + tanh(u));
    }
}
""" % {"K": _SQRT_2_OVER_PI})

_kernel_source(r"""
extern "C" __global__ void gelu_tanh_backward(const T* x, const T* g, T* dx, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        T a = x[i];
        T t = tanh(T(%(K)s) * (a + T(0.044715) * a * a * a));
        T du = T(%(K)s) * (T(1) + T(3) * T(0.044715) * a * a);
        dx[i] = g[i] * (T(0.5) * (T(1) + t) + T(0.5) * a * (T(1) - t * t) * du);
    }
}
""" % {"K": _SQRT_2_OVER_PI})


# ------------------------------------------------------------------------ layer norm
# Per row of x (rows, m): mean = sum(x)/m, var = sum((x - mean)^2)/m, rstd = 1/sqrt(var + eps),
# x_hat = (x - mean) rstd, y = x_hat w + b.  Backward, g_hat = g w:
#   dx = rstd (g_hat - sum(g_hat)/m - x_hat sum(g_hat x_hat)/m);  dw = sum over rows of g x_hat,
#   db = sum over rows of g (partial sums per chunk of rows, added up by the caller).

_kernel_source(r"""
extern "C" __global__ void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean_out,
                                              T* rstd_out, int m, T eps, int has_w, int has_b) {
    __shared__ T buf[RG_BLOCK];
    long long row = blockIdx.x;
    const T* xr = x + row * m;
    T* yr = y + row * m;
    T s = 0;
    for (int j = threadIdx.x; j < m; j += blockDim.x) s += xr[j];
    T mean = block_sum(s, buf) / T(m);
    T ss = 0;
    for (int j = threadIdx.x; j < m; j += blockDim.x) ss += (xr[j] - mean) * (xr[j] - mean);
    T var = block_sum(ss, buf) / T(m);
    T rstd = T(1) / sqrt(var + eps);
    for (int j = threadIdx.x; j < m; j += blockDim.x) {
        T x_hat = (xr[j] - mean) * rstd;
        yr[j] = x_hat * (has_w ? w[j] : T(1)) + (has_b ? b[j] : T(0));
    }
    if (threadIdx.x == 0) {
        mean_out[row] = mean;
        rstd_out[row] = rstd;
    }
}
""")

_kernel_source(r"""
extern "C" __global__ void layer_norm_backward_input(const T* x, const T* w, const T* g, const T* mean,
                                                     const T* rstd, T* dx, int m, int has_w) {
    __shared__ T buf[RG_BLOCK];
    long long row = blockIdx.x;
    const T* xr = x + row * m;
    const T* gr = g + row * m;
    T mu = mean[row], r = rstd[row];
    T s1 = 0, s2 = 0;  // sum(g_hat), sum(g_hat x_hat)
    for (int j = threadIdx.x; j < m; j += blockDim.x) {
        T g_hat = gr[j] * (has_w ? w[j] : T(1));
        s1 += g_hat;
        s2 += g_hat * (xr[j] - mu) * r;
    }
    T mean_g_hat = block_sum(s1, buf) / T(m);
    T mean_g_hat_x_hat = block_sum(s2, buf) / T(m);
    for (int j = threadIdx.x; j < m; j += blockDim.x) {
        T g_hat = gr[j] * (has_w ? w[j] : T(1));
        T x_hat = (xr[j] - mu) * r;
        dx[row * m + j] = r * (g_hat - mean_g_hat - x_hat * mean_g_hat_x_hat);
    }
}
""")

_kernel_source(r"""
extern "C" __global__ void layer_norm_backward_params(const T* x, const T* g, const T* mean, const T* rstd,
                                                      T* dw_part, T* db_part, long long rows, int m,
                                                      long long rows_per_chunk) {
    // block b: columns (b % col_blocks)*blockDim.x + threadIdx.x of the chunk b / col_blocks of
    // rows; writes that chunk's partial sums of g x_hat (dw) and g (db), row `chunk` of the parts
    int col_blocks = (m + blockDim.x - 1) / blockDim.x;
    long long chunk = blockIdx.x / col_blocks;
    int j = (blockIdx.x % col_blocks) * blockDim.x + threadIdx.x;
    if (j >= m) return;
    long long start = chunk * rows_per_chunk;
    long long end = start + rows_per_chunk < rows ? start + rows_per_chunk : rows;
    T dw = 0, db = 0;
    for (long long row = start; row < end; ++row) {
        T gj = g[row * m + j];
        dw += gj * (x[row * m + j] - mean[row]) * rstd[row];
        db += gj;
    }
    dw_part[chunk * m + j] = dw;
    db_part[chunk * m + j] = db;
}
""")


# ------------------------------------------------------------- softmax and log-softmax
# Per row of x (rows, m), M = max(x):  softmax z = e^(x - M) / sum(e^(x - M));
# dx = z (g - sum(g z)).   log-softmax z = x - M - log(sum(e^(x - M)));  dx = g - e^z sum(g).

_kernel_source(r"""
extern "C" __global__ void softmax_forward(const T* x, T* z, int m) {
    __shared__ T buf[RG_BLOCK];
    long long row = blockIdx.x;
    const T* xr = x + row * m;
    T mx = xr[0];
    for (int j = threadIdx.x; j < m; j += blockDim.x) mx = fmax(mx, xr[j]);
    T M = block_max(mx, buf);
    T s = 0;
    for (int j = threadIdx.x; j < m; j += blockDim.x) s += exp(xr[j] - M);
    T sum = block_sum(s, buf);
    for (int j = threadIdx.x; j < m; j += blockDim.x) z[row * m + j] = exp(xr[j] - M) / sum;
}
""")

_kernel_source(r"""
extern "C" __global__ void softmax_backward(const T* z, const T* g, T* dx, int m) {
    __shared__ T buf[RG_BLOCK];
    long long row = blockIdx.x;
    const T* zr = z + row * m;
    const T* gr = g + row * m;
    T s = 0;
    for (int j = threadIdx.x; j < m; j += blockDim.x) s += gr[j] * zr[j];
    T gz = block_sum(s, buf);
    for (int j = threadIdx.x; j < m; j += blockDim.x) dx[row * m + j] = zr[j] * (gr[j] - gz);
}
""")

_kernel_source(r"""
extern "C" __global__ void log_softmax_forward(const T* x, T* z, int m) {
    __shared__ T buf[RG_BLOCK];
    long long row = blockIdx.x;
    const T* xr = x + row * m;
    T mx = xr[0];
    for (int j = threadIdx.x; j < m; j += blockDim.x) mx = fmax(mx, xr[j]);
    T M = block_max(mx, buf);
    T s = 0;
    for (int j = threadIdx.x; j < m; j += blockDim.x) s += exp(xr[j] - M);
    T log_sum = log(block_sum(s, buf));
    for (int j = threadIdx.x; j < m; j += blockDim.x) z[row * m + j] = xr[j] - M - log_sum;
}
""")

_kernel_source(r"""
extern "C" __global__ void log_softmax_backward(const T* z, const T* g, T* dx, int m) {
    __shared__ T buf[RG_BLOCK];
    long long row = blockIdx.x;
    const T* zr = z + row * m;
    const T* gr = g + row * m;
    T s = 0;
    for (int j = threadIdx.x; j < m; j += blockDim.x) s += gr[j];
    T sum_g = block_sum(s, buf);
    for (int j = threadIdx.x; j < m; j += blockDim.x) dx[row * m + j] = gr[j] - exp(zr[j]) * sum_g;
}
""")


# --------------------------------------------------------- negative log likelihood
# cross_entropy = nll_loss(log_softmax(x)), the two nodes torch has; the log-softmax kernels are
# above. Per row i with target t_i (ignored rows: t_i = ignore_index):
#   w_i = w[t_i] (1 without class weights, 0 when ignored),  loss_i = -w_i logp[i, t_i];
#   dlogp[i, :] = -coef_i w_i onehot(t_i)   (coef: g/sum(w_i) for the mean, g for the sum).
# A target outside [0, C) sets *bad to 1 + the first such row (the caller raises IndexError).

_kernel_source(r"""
extern "C" __global__ void nll_forward(const T* logp, const long long* target, const T* w, T* loss,
                                       T* weight_out, int* bad, long long rows, int C,
                                       long long ignore_index, int has_w) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < rows;
         i += (long long)gridDim.x * blockDim.x) {
        long long t = target[i];
        T w_i = 0, loss_i = 0;
        if (t != ignore_index) {
            if (t < 0 || t >= C) {
                atomicMin(bad, (int)(i < 2147483646 ? i : 2147483646));
            } else {
                w_i = has_w ? w[t] : T(1);
                loss_i = -w_i * logp[i * C + t];
            }
        }
        loss[i] = loss_i;
        weight_out[i] = w_i;
    }
}
""")

_kernel_source(r"""
extern "C" __global__ void nll_backward(const long long* target, const T* weight, const T* coef,
                                        long long coef_stride, T* dlogp, long long rows, int C) {
    // every entry of dlogp written: -coef_i w_i where j == t_i, 0 elsewhere
    long long n = rows * C;
    for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k < n;
         k += (long long)gridDim.x * blockDim.x) {
        long long i = k / C;
        long long j = k - i * C;
        T w_i = weight[i];
        dlogp[k] = (w_i != T(0) && j == target[i]) ? -coef[i * coef_stride] * w_i : T(0);
    }
}
""")


# -------------------------------------------------------------------------- LSTM step
# rnn.py's transposed layout: a step of n rows keeps its gates as a contiguous (4H, n) block in
# the internal order i, f, o, g, and the rows of W for i, f, o are halved, so the block holds
# a/2 for those gates: sigmoid(a) = (1 + tanh(a/2))/2.  One thread per (unit j, column q):
#   i, f, o = sigmoid;  g = tanh;  c = f c_prev + i g;  h = o tanh(c)
# (the activated gates overwrite the block: the backward reads them). h goes to h (H, n) and,
# when has_out, transposed to out (n, H), the layer's output rows.

_kernel_source(r"""
extern "C" __global__ void lstm_cell_forward(T* gates, const T* c_prev, long long cp_rs, long long cp_cs,
                                             T* c, T* h, long long h_rs, T* out, int has_out, int H, int n) {
    long long Hn = (long long)H * n;
    for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k < Hn;
         k += (long long)gridDim.x * blockDim.x) {
        long long j = k / n, q = k - j * n;
        T i = T(0.5) + T(0.5) * tanh(gates[k]);           // the i, f, o rows hold a/2
        T f = T(0.5) + T(0.5) * tanh(gates[Hn + k]);
        T o = T(0.5) + T(0.5) * tanh(gates[2 * Hn + k]);
        T g = tanh(gates[3 * Hn + k]);
        gates[k] = i;
        gates[Hn + k] = f;
        gates[2 * Hn + k] = o;
        gates[3 * Hn + k] = g;
        T c_t = f * c_prev[j * cp_rs + q * cp_cs] + i * g;
        c[k] = c_t;
        T h_t = o * tanh(c_t);
        h[j * h_rs + q] = h_t;
        if (has_out) out[q * H + j] = h_t;
    }
}
""")

# Backward of one step (dm = dL/dh_t, plus dout^T (n, H) when has_dout; dc holds dc_{t+1} f_{t+1}
# on entry and dc_t f_t on exit):
#   dc_t = dm o (1 - tanh^2 c) + dc;
#   di = dc_t g i(1-i),  df = dc_t c_prev f(1-f),  do = dm tanh(c) o(1-o),  dg = dc_t i (1-g^2)

_kernel_source(r"""
extern "C" __global__ void lstm_cell_backward(const T* gates, const T* c, const T* c_prev, long long cp_rs,
                                              long long cp_cs, const T* dm, long long dm_rs, const T* dout,
                                              long long do_rs, int has_dout, T* dc, long long dc_rs, T* dG,
                                              long long dG_rs, int H, int n) {
    long long Hn = (long long)H * n;
    for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k < Hn;
         k += (long long)gridDim.x * blockDim.x) {
        long long j = k / n, q = k - j * n;
        T i = gates[k], f = gates[Hn + k], o = gates[2 * Hn + k], g = gates[3 * Hn + k];
        T tc = tanh(c[k]);
        T dm_k = dm[j * dm_rs + q] + (has_dout ? dout[q * do_rs + j] : T(0));
        T dc_t = dm_k * o * (T(1) - tc * tc) + dc[j * dc_rs + q];
        dG[j * dG_rs + q] = dc_t * g * i * (T(1) - i);
        dG[(H + j) * dG_rs + q] = dc_t * c_prev[j * cp_rs + q * cp_cs] * f * (T(1) - f);
        dG[(2 * H + j) * dG_rs + q] = dm_k * tc * o * (T(1) - o);
        dG[(3 * H + j) * dG_rs + q] = dc_t * i * (T(1) - g * g);
        dc[j * dc_rs + q] = dc_t * f;
    }
}
""")


# --------------------------------------------------------------------------- GRU step
# Rows of a step (n, 3H): gi = W_i x + b_i (in place: becomes r, z, n), gh = W_h h_prev + b_h
# (b_h added here when has_b).
#   r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z),  n = tanh(gi_n + r gh_n),
#   h = (1 - z) n + z h_prev  (written as (h_prev - n) z + n);  gh_n is kept for dr.

_kernel_source(r"""
extern "C" __global__ void gru_cell_forward(T* gi, const T* W_h_h, const T* b_h, int has_b, const T* h_prev,
                                            long long hp_rs, T* hn_out, T* h, int H, int n) {
    long long count = (long long)H * n;
    for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k < count;
         k += (long long)gridDim.x * blockDim.x) {
        long long q = k / H, j = k - q * H;
        T* a = gi + q * 3 * H;
        const T* w = W_h_h + q * 3 * H;
        T gh_r = w[j] + (has_b ? b_h[j] : T(0));
        T gh_z = w[H + j] + (has_b ? b_h[H + j] : T(0));
        T gh_n = w[2 * H + j] + (has_b ? b_h[2 * H + j] : T(0));
        T r = sigmoid(a[j] + gh_r);
        T z = sigmoid(a[H + j] + gh_z);
        T nt = tanh(a[2 * H + j] + r * gh_n);
        a[j] = r;
        a[H + j] = z;
        a[2 * H + j] = nt;
        hn_out[q * H + j] = gh_n;
        h[q * H + j] = (h_prev[q * hp_rs + j] - nt) * z + nt;
    }
}
""")

# Backward of one step, dh' = dh + dout (dL/dh_t):
#   dn = dh' (1 - z)(1 - n^2);  dgi_n = dn,  dgh_n = dn r;  dgi_r = dgh_r = dn gh_n r(1 - r);
#   dgi_z = dgh_z = dh' (h_prev - n) z(1 - z);  dh <- dh' z  (the caller adds dgh W_hh).

_kernel_source(r"""
extern "C" __global__ void gru_cell_backward(const T* gates, const T* hn, const T* h_prev, long long hp_rs,
                                             const T* dout, long long do_rs, T* dh, T* dgi, T* dgh,
                                             int H, int n) {
    long long count = (long long)H * n;
    for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k < count;
         k += (long long)gridDim.x * blockDim.x) {
        long long q = k / H, j = k - q * H;
        const T* a = gates + q * 3 * H;
        T r = a[j], z = a[H + j], nt = a[2 * H + j];
        T dh_t = dh[q * H + j] + dout[q * do_rs + j];
        T dn = dh_t * (T(1) - z) * (T(1) - nt * nt);
        T dr = dn * hn[q * H + j] * r * (T(1) - r);
        T dz = dh_t * (h_prev[q * hp_rs + j] - nt) * z * (T(1) - z);
        T* di = dgi + q * 3 * H;
        T* dhh = dgh + q * 3 * H;
        di[j] = dr;
        di[H + j] = dz;
        di[2 * H + j] = dn;
        dhh[j] = dr;
        dhh[H + j] = dz;
        dhh[2 * H + j] = dn * r;
        dh[q * H + j] = dh_t * z;
    }
}
""")


# ----------------------------------------------------- multi-tensor optimizer updates
# One launch updates up to RG_MAX_TENSORS parameters: their addresses come by value, in the
# kernel's parameter struct (no host-to-device copy): row r of `address` holds the r-th array of
# each tensor (Adam: p, grad, m, v, vmax; SGD: p, grad, momentum buffer), and `ends` the running
# total of the tensors' sizes: element k belongs to the tensor t whose range [ends[t-1], ends[t])
# holds it.
MAX_TENSORS = 32
_TENSORS = r"""
#define RG_MAX_TENSORS %d
struct Tensors {
    unsigned long long address[5][RG_MAX_TENSORS];
    long long ends[RG_MAX_TENSORS];
};

__device__ int find_tensor(const Tensors& ts, int count, long long k) {
    int lo = 0, hi = count - 1;  // the first t with k < ends[t]
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (k < ts.ends[mid]) hi = mid; else lo = mid + 1;
    }
    return lo;
}
""" % MAX_TENSORS

# Adam (optim/adam.py's order of operations): g = -grad when maximizing; weight decay:
# p *= 1 - lr wd (decoupled, AdamW) or g += wd p;  m = lerp(m, g, 1 - b1);
# v = b2 v + (1 - b2) g^2;  (amsgrad: v = vmax = max(vmax, v));
# p += -step_size m / (sqrt(v)/sqrt(1 - b2^t) + eps),  step_size = lr/(1 - b1^t).
_kernel_source(_TENSORS + r"""
extern "C" __global__ void adam_step(Tensors ts, int count, T lr, T beta1, T beta2, T eps, T wd,
                                     T step_size, T bc2_sqrt, int decoupled, int amsgrad, int maximize) {
    long long total = ts.ends[count - 1];
    for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k < total;
         k += (long long)gridDim.x * blockDim.x) {
        int t = find_tensor(ts, count, k);
        long long e = k - (t ? ts.ends[t - 1] : 0);
        T* p = (T*)ts.address[0][t] + e;
        T g = ((const T*)ts.address[1][t])[e];
        T* m = (T*)ts.address[2][t] + e;
        T* v = (T*)ts.address[3][t] + e;
        if (maximize) g = -g;
        if (wd != T(0)) {
            if (decoupled) *p *= T(1) - lr * wd;
            else g = g + *p * wd;
        }
        T weight = T(1) - beta1;  // lerp, rounded as torch's: two formulas by weight
        *m = weight < T(0.5) ? *m + (g - *m) * weight : g - (g - *m) * (T(1) - weight);
        *v = *v * beta2 + g * g * (T(1) - beta2);
        T v_hat = *v;
        if (amsgrad) {
            T* vmax = (T*)ts.address[4][t] + e;
            *vmax = fmax(*vmax, *v);
            v_hat = *vmax;
        }
        T denom = sqrt(v_hat) / bc2_sqrt + eps;
        *p += *m / denom * -step_size;
    }
}
""")

# SGD (optim/sgd.py): g = -grad when maximizing;  g += wd p;  with momentum:
# buf = g at the first step, else momentum buf + (1 - dampening) g;  g = g + momentum buf
# (Nesterov) or buf;  p -= lr g.
_kernel_source(_TENSORS + r"""
extern "C" __global__ void sgd_step(Tensors ts, int count, T lr, T momentum, T dampening, T wd, int nesterov,
                                    int maximize, int first) {
    long long total = ts.ends[count - 1];
    for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k < total;
         k += (long long)gridDim.x * blockDim.x) {
        int t = find_tensor(ts, count, k);
        long long e = k - (t ? ts.ends[t - 1] : 0);
        T* p = (T*)ts.address[0][t] + e;
        T g = ((const T*)ts.address[1][t])[e];
        if (maximize) g = -g;
        if (wd != T(0)) g = g + *p * wd;
        if (momentum != T(0)) {
            T* buf = (T*)ts.address[2][t] + e;
            *buf = first ? g : *buf * momentum + (dampening == T(0) ? g : g * (T(1) - dampening));
            g = nesterov ? g + *buf * momentum : *buf;
        }
        *p -= g * lr;
    }
}
""")


# ------------------------------------------------------------------ sources and launches

def source(name, dtype, block=BLOCK):
    """The complete CUDA source of kernel ``name`` for elements of ``dtype`` (float32, float64)."""
    return _PRELUDE.format(ctype=_CTYPES[np.dtype(dtype)], block=block) + KERNELS[name]


_compiled = {}


def _kernel(name, dtype):
    key = (name, dtype)
    k = _compiled.get(key)
    if k is None:
        k = _compiled[key] = _backend.cupy.RawKernel(source(name, dtype), name)
    return k


def _ready():
    """Whether the backend's CuPy can compile kernels (a stand-in without RawKernel cannot)."""
    return hasattr(_backend.cupy, "RawKernel")


def fits(*arrays):
    """Whether the kernels take these arrays: CuPy arrays of one dtype they are built for, all
    C-contiguous (None entries are skipped). False for NumPy arrays."""
    if not _ready():
        return False
    dtype = None
    for a in arrays:
        if a is None:
            continue
        if type(a) is np.ndarray or _backend.device_of(a).type != "cuda":
            return False
        if dtype is None:
            dtype = a.dtype
            if dtype not in _CTYPES:
                return False
        elif a.dtype != dtype or not a.flags.c_contiguous:
            return False
        if not a.flags.c_contiguous:
            return False
    return dtype is not None


def _grid(n):
    return (max(1, min((n + BLOCK - 1) // BLOCK, _MAX_GRID)),)


def _launch(name, dtype, grid, args, device=None):
    """Kernel ``name`` for ``dtype`` on ``grid`` blocks of BLOCK threads, on the GPU of ``device``
    (an array; default: the first argument)."""
    with _backend.cupy.cuda.Device((args[0] if device is None else device).device.id):
        _kernel(name, dtype)(grid, (BLOCK,), args)


def _i64(v):
    return np.int64(v)


def _i32(v):
    return np.int32(v)


def gelu_forward(x, approximate):
    """gelu(x) (approximate 'none' or 'tanh') in one pass."""
    y = _backend.cupy.empty_like(x)
    _launch(f"gelu_{'tanh' if approximate == 'tanh' else 'erf'}_forward", x.dtype, _grid(x.size),
            (x, y, _i64(x.size)))
    return y


def gelu_backward(x, g, approximate):
    """g * gelu'(x) in one pass (g made contiguous: a sum's gradient arrives broadcast)."""
    g = _backend.cupy.ascontiguousarray(g, dtype=x.dtype)
    dx = _backend.cupy.empty_like(x)
    _launch(f"gelu_{'tanh' if approximate == 'tanh' else 'erf'}_backward", x.dtype, _grid(x.size),
            (x, g, dx, _i64(x.size)))
    return dx


def layer_norm_forward(x, w, b, eps):
    """(y, mean, rstd) for x (rows, m) normalized over its rows; w, b (m,) or None. mean and rstd
    are (rows, 1)."""
    cp = _backend.cupy
    rows, m = x.shape
    y = cp.empty_like(x)
    mean = cp.empty((rows, 1), dtype=x.dtype)
    rstd = cp.empty((rows, 1), dtype=x.dtype)
    _launch("layer_norm_forward", x.dtype, (rows,),
            (x, x if w is None else w, x if b is None else b, y, mean, rstd, _i32(m), x.dtype.type(eps),
             _i32(w is not None), _i32(b is not None)))
    return y, mean, rstd


def layer_norm_backward(x, w, g, mean, rstd, need_x, need_w, need_b):
    """(dx, dw, db) of layer norm over the rows of x (rows, m), each None where not needed."""
    cp = _backend.cupy
    rows, m = x.shape
    dx = dw = db = None
    if need_x:
        dx = cp.empty_like(x)
        _launch("layer_norm_backward_input", x.dtype, (rows,),
                (x, x if w is None else w, g, mean, rstd, dx, _i32(m), _i32(w is not None)))
    if need_w or need_b:
        per_chunk = 64  # rows summed by one thread; the chunks' partial sums are added by CuPy
        chunks = (rows + per_chunk - 1) // per_chunk
        dw_part = cp.empty((chunks, m), dtype=x.dtype)
        db_part = cp.empty((chunks, m), dtype=x.dtype)
        col_blocks = (m + BLOCK - 1) // BLOCK
        _launch("layer_norm_backward_params", x.dtype, (chunks * col_blocks,),
                (x, g, mean, rstd, dw_part, db_part, _i64(rows), _i32(m), _i64(per_chunk)))
        dw = dw_part.sum(axis=0) if need_w else None
        db = db_part.sum(axis=0) if need_b else None
    return dx, dw, db


def _rows_kernel(name, x, *more):
    out = _backend.cupy.empty_like(x)
    m = x.shape[-1]
    rows = x.size // m if m else 0
    if rows:
        _launch(name, x.dtype, (rows,), (x, *more, out, _i32(m)))
    return out


def softmax_forward(x):
    """softmax over the last dim of a C-contiguous x."""
    return _rows_kernel("softmax_forward", x)


def softmax_backward(z, g):
    """z (g - sum(g z)) over the last dim."""
    return _rows_kernel("softmax_backward", z, g)


def log_softmax_forward(x):
    """log-softmax over the last dim of a C-contiguous x."""
    return _rows_kernel("log_softmax_forward", x)


def log_softmax_backward(z, g):
    """g - e^z sum(g) over the last dim."""
    return _rows_kernel("log_softmax_backward", z, g)


def nll_forward(logp, target, w, ignore_index):
    """(loss_i, w_i, bad) of logp (rows, C) at int64 targets (rows,): bad is a device int32 holding
    the first row whose target lies outside [0, C) (2**31 - 1 when none)."""
    cp = _backend.cupy
    rows, c = logp.shape
    loss = cp.empty(rows, dtype=logp.dtype)
    weight = cp.empty(rows, dtype=logp.dtype)
    bad = cp.full((), 2**31 - 1, dtype=cp.int32)
    if rows:
        _launch("nll_forward", logp.dtype, _grid(rows),
                (logp, target, logp if w is None else w, loss, weight, bad, _i64(rows), _i32(c),
                 _i64(ignore_index), _i32(w is not None)))
    return loss, weight, bad


def nll_backward(target, weight, coef, c):
    """dlogp (rows, C): -coef_i w_i at each row's target, 0 elsewhere. coef: (rows, 1) or one value."""
    cp = _backend.cupy
    rows = weight.shape[0]
    coef = cp.ascontiguousarray(coef, dtype=weight.dtype).reshape(-1)
    out = cp.empty((rows, c), dtype=weight.dtype)
    if out.size:
        _launch("nll_backward", weight.dtype, _grid(out.size),
                (target, weight, coef, _i64(1 if coef.size > 1 else 0), out, _i64(rows), _i32(c)))
    return out


def _strides(a):
    """a's (row, column) strides in elements."""
    return tuple(_i64(s // a.itemsize) for s in a.strides)


def lstm_cell_forward(gates, c_prev, c, h, out=None):
    """One LSTM step in rnn.py's transposed layout: gates (4H, n) pre-activations (i, f, o rows
    halved) become the activations; writes c (H, n), h (rows strided, columns contiguous) and,
    when given, h transposed into out (n, H) contiguous."""
    H, n = c.shape
    _launch("lstm_cell_forward", gates.dtype, _grid(H * n),
            (gates, c_prev, *_strides(c_prev), c, h, _strides(h)[0], h if out is None else out,
             _i32(out is not None), _i32(H), _i32(n)))


def lstm_cell_backward(gates, c, c_prev, dm, dc, dG, dout=None):
    """One LSTM step's gate gradients into dG (4H, n) (rows strided) from dL/dh_t = dm (H, n) (+ dout^T,
    dout (n, H), when given); dc updated in place."""
    H, n = c.shape
    if dout is not None and dout.strides[1] != dout.itemsize:
        dout = _backend.cupy.ascontiguousarray(dout)
    _launch("lstm_cell_backward", gates.dtype, _grid(H * n),
            (gates, c, c_prev, *_strides(c_prev), dm, _strides(dm)[0], dm if dout is None else dout,
             _strides(dm if dout is None else dout)[0], _i32(dout is not None), dc, _strides(dc)[0], dG,
             _strides(dG)[0], _i32(H), _i32(n)))


def gru_cell_forward(gi, W_h_h, b_h, h_prev, hn, h):
    """One GRU step: gi (n, 3H) becomes r, z, n from gh = W_h_h (h_prev W_hh^T, (n, 3H)) + b_h
    (None: no bias); hn (n, H) gets gh's n part; h (n, H) the state."""
    n, H = h.shape
    _launch("gru_cell_forward", gi.dtype, _grid(H * n),
            (gi, W_h_h, W_h_h if b_h is None else b_h, _i32(b_h is not None), h_prev, _strides(h_prev)[0], hn, h,
             _i32(H), _i32(n)))


def gru_cell_backward(gates, hn, h_prev, dout, dh, dgi, dgh):
    """One GRU step's gate gradients into dgi, dgh (n, 3H); dh (n, H) becomes dh' z."""
    n, H = dh.shape
    _launch("gru_cell_backward", gates.dtype, _grid(H * n),
            (gates, hn, h_prev, _strides(h_prev)[0], dout, _strides(dout)[0], dh, dgi, dgh, _i32(H), _i32(n)))


_TENSORS_DTYPE = np.dtype([("address", np.uint64, (5, MAX_TENSORS)), ("ends", np.int64, (MAX_TENSORS,))],
                          align=True)


def _address(a):
    return a.data.ptr


def _tensor_chunks(*lists):
    """(Tensors struct, count, total elements) per run of at most MAX_TENSORS tensors; ``lists``
    are the arrays of each row (None: a row the kernel does not read)."""
    n = len(lists[0])
    for start in range(0, n, MAX_TENSORS):
        stop = min(n, start + MAX_TENSORS)
        ts = np.zeros((), dtype=_TENSORS_DTYPE)
        for row, arrays in enumerate(lists):
            if arrays is not None:
                ts["address"][row, :stop - start] = [_address(a) for a in arrays[start:stop]]
        ts["ends"][:stop - start] = np.cumsum([a.size for a in lists[0][start:stop]])
        yield ts[()], stop - start, int(ts["ends"][stop - start - 1])


def adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, *, lr, beta1, beta2, eps, wd,
              step_size, bc2_sqrt, decoupled, maximize):
    """One Adam/AdamW update of every array in ``params`` (lists of CuPy arrays of one dtype, on
    one device), one launch per MAX_TENSORS; max_exp_avg_sqs None without amsgrad."""
    f = params[0].dtype.type
    for ts, count, total in _tensor_chunks(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs):
        _launch("adam_step", params[0].dtype, _grid(total),
                (ts, _i32(count), f(lr), f(beta1), f(beta2), f(eps), f(wd), f(step_size), f(bc2_sqrt),
                 _i32(decoupled), _i32(max_exp_avg_sqs is not None), _i32(maximize)), params[0])


def sgd_step(params, grads, bufs, *, lr, momentum, dampening, wd, nesterov, maximize, first):
    """One SGD update of every array in ``params``, one launch per MAX_TENSORS; bufs the momentum
    buffers (None without momentum), filled with g at the first step."""
    f = params[0].dtype.type
    for ts, count, total in _tensor_chunks(params, grads, bufs):
        _launch("sgd_step", params[0].dtype, _grid(total),
                (ts, _i32(count), f(lr), f(momentum), f(dampening), f(wd), _i32(nesterov), _i32(maximize),
                 _i32(first)), params[0])

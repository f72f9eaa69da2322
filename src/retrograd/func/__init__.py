"""retrograd.func: composable function transforms, as torch.func.

``grad``/``grad_and_value``/``vjp``/``jacrev``/``hessian`` differentiate by reverse mode,
``jvp``/``jacfwd`` by forward mode (retrograd.autograd.forward_ad), and ``vmap`` batches a
function of one sample: each op runs once on the whole batch through the batching rule its
class declares (ops/_batching.py). Ops without a rule run once per sample and are counted:
``vmap_fallbacks()`` lists them. ``vmap(grad(f))`` gives per-sample gradients.
"""

from ._batched import BatchedTensor, VmapInfo, reset_vmap_fallbacks, vmap_fallbacks
from ._forward import jacfwd, jvp
from ._grad import grad, grad_and_value, hessian, jacrev, vjp
from ._linearize import linearize
from ._module import functional_call, replace_all_batch_norm_modules_, stack_module_state
from ._vmap import vmap

__all__ = ["grad", "grad_and_value", "vmap", "hessian", "jacfwd", "jacrev", "jvp", "vjp",
           "functional_call", "stack_module_state", "vmap_fallbacks", "reset_vmap_fallbacks", "linearize",
           "replace_all_batch_norm_modules_"]

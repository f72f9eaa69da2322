"""Tensor: an array, its dtype and device, and its place in the autograd graph.

The array lives in ``_data`` (NumPy or CuPy, through ``_backend``). A tensor that an op
produced while recording has ``grad_fn``, the node that computes its inputs'
gradients; a leaf that requires grad receives ``.grad`` from backward. ``_vc`` is the
version counter, shared by views of one memory, bumped by every in-place op.
Operators and most methods are attached by the op modules (``retrograd.ops``).
"""

import builtins
import warnings
import weakref

import numpy as np

from . import _backend, _dtype
from ._bfloat16 import DeviceBFloat16
from ._layouts import strided
from ._tensor_str import tensor_repr
from ._unsupported import reject
from .autograd import engine, function
from .autograd.grad_mode import _InferenceVersion, _state as _grad_state, mark_inference as _mark_inference


# NumPy's module defines __getattr__, so CPython 3.11 cannot specialise ``np.ndarray`` reads
# (~300 machine instructions each, against ~20 for a module global): the hot paths read these
_ndarray = np.ndarray
_new_object = object.__new__
# True while some thread is inside torch.inference_mode: only then do _make and _init look at
# the thread's mode, to make the new tensor an inference tensor (autograd/grad_mode.py)
_inference_on = False


class Size(tuple):
    """The shape of a tensor: a tuple that prints as ``torch.Size([4, 3])``."""

    def __repr__(self):
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return Size(out) if isinstance(key, slice) else out

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))


def _check_float_for_grad(dtype):
    if not dtype.is_floating_point:
        raise RuntimeError(
            f"only Tensors of floating point dtype can require gradients (got {dtype})"
        )


_NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead. See github.com/pytorch/pytorch/pull/30531 for more information."
)


_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined in Python


def _tp_name(value):
    """The name of value's type as CPython's tp_name, which torch's messages print: "float",
    "numpy.ndarray", "numpy.bool"."""
    cls = type(value)
    return cls.__name__ if cls.__flags__ & _HEAP_TYPE or cls.__module__ == "builtins" \
        else f"{cls.__module__}.{cls.__name__}"


# the C++ type names torch's messages give a dtype in: 'double', 'c10::Half', ...
_C_TYPE = {"float64": "double", "float32": "float", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
           "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
           "bool": "bool"}


def _check_assigned_grad(tensor, grad):
    """torch's rules for ``tensor.grad = grad``, in torch's order: a Tensor, not the tensor
    itself, then the tensor's grad_dtype (unless None), device and size."""
    if not isinstance(grad, Tensor):
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {_tp_name(grad)}")
    if grad is tensor:
        raise RuntimeError("can't assign Variable as its own grad")
    allowed = tensor.__dict__.get("_grad_dtype", tensor.dtype)
    if allowed is not None and grad.dtype != allowed:
        from .ops._kernel_dtypes import SCALAR_NAME

        raise RuntimeError(
            f"attempting to assign a gradient with dtype '{_C_TYPE.get(grad.dtype.name, grad.dtype.name)}' to a "
            f"tensor with grad_dtype '{SCALAR_NAME.get(allowed.name, allowed.name)}'. The gradient must match the "
            "tensor's grad_dtype (defaults to the tensor's dtype). You can set the tensor's grad_dtype attribute "
            "with a specific dtype, or None to allow any dtype. Set grad_dtype with caution. Diverging the dtypes "
            "of a tensor and its gradient may break downstream systems that assume they match."
        )
    gd, td = grad.device, tensor.device
    if gd.type != td.type:
        raise RuntimeError(
            f"attempting to assign a gradient with device type '{gd.type}' to a tensor with "
            f"device type '{td.type}'. Please ensure that the gradient and the tensor are on "
            "the same device"
        )
    if gd.index != td.index:
        raise RuntimeError(
            f"attempting to assign a gradient located on device with index '{gd.index}' to a "
            f"tensor located on device with index '{td.index}'. Please ensure that the "
            "gradient and the tensor are on the same device"
        )
    if grad._data.shape != tensor._data.shape:
        raise RuntimeError(
            f"attempting to assign a gradient of size '{list(grad.shape)}' to a tensor of size "
            f"'{list(tensor.shape)}'. Please ensure that the gradient and the tensor are the "
            "same size"
        )


class Tensor:
    """A multi-dimensional array that records the operations applied to it."""

    __slots__ = ("_data", "_requires_grad", "_grad", "grad_fn", "_output_nr", "_vc", "_base",
                 "_view_chain", "_hooks", "_retains_grad", "_accumulator", "__weakref__",
                 "_grad_lock", "__dict__")  # _grad_lock: unset until a backward writes .grad

    # ------------------------------------------------------------ construction
    def __init__(self, *args, dtype=None, device=None, requires_grad=False):
        """``Tensor(data)`` copies data as float32; ``Tensor(2, 3)`` is uninitialised. A CPU tensor,
        as torch's legacy constructor (device='cuda' raises; a CuPy array is copied to the host)."""
        if device is not None and _backend.device(device).type != "cpu":
            raise RuntimeError(f"legacy constructor expects device type: cpu but device type: "
                               f"{_backend.device(device).type} was passed (make CUDA tensors with "
                               f"torch.empty/zeros/tensor(..., device='{device}'))")
        if len(args) == 1 and not isinstance(args[0], int):
            data = args[0]
            if _backend.device_of(data).type == "cuda":  # torch copies CUDA array-interface data to the CPU
                data = _backend.to_device(data, "cpu")
            arr = _to_array(data, dtype or _dtype.get_default_dtype())
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            if not args:
                shape = (0,)  # torch.Tensor() is an empty 1-D tensor
            arr = np.zeros(tuple(shape), dtype=(dtype or _dtype.get_default_dtype()).np)
        if device is not None:
            arr = _backend.to_device(arr, device)
        self._init(arr)
        if requires_grad:
            self.requires_grad = True

    def _init(self, data):
        self._data = data
        self._requires_grad = False
        self._grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._vc = [0]
        self._base = None
        self._view_chain = None
        self._hooks = None
        self._retains_grad = False
        self._accumulator = None
        if _inference_on:
            _mark_inference(self)

    @staticmethod
    def _make(data, requires_grad=False):
        """Wrap an array without copying (internal fast path; a staticmethod, as calling a
        classmethod costs a bound method per call)."""
        t = _new_object(Tensor)
        if type(data) is not _ndarray and not hasattr(data, "__cuda_array_interface__") \
                and type(data) is not DeviceBFloat16:  # (CUDA bfloat16, see _bfloat16)
            if hasattr(data, "_vmap_levels"):  # vmap(randomness='different')'s draw: a batch of samples
                return data.batched()
            data = np.asarray(data)
        t._data = data
        t._requires_grad = requires_grad
        t._grad = None
        t.grad_fn = None
        t._output_nr = 0
        t._vc = [0]
        t._base = None
        t._view_chain = None
        t._hooks = None
        t._retains_grad = False
        t._accumulator = None
        if _inference_on:
            _mark_inference(t)
        return t

    _dtype_of = staticmethod(_dtype.from_numpy_dtype)
    # a view's version when its grad_fn was last set (None: not tracked); stored in the
    # instance __dict__ of views only, to keep plain tensors small and _make fast
    _view_version = None
    # how a view made with grad mode off was made ("no_grad", "inference"; autograd.function._link_view)
    _view_mode = None
    _post_accumulate_hooks = None  # {id: hook(tensor)}, run after backward updates .grad

    # ------------------------------------------------------------ metadata
    @property
    def shape(self):
        """The size of each dimension, as a Size (a tuple)."""
        return Size(self._data.shape)

    def size(self, dim=None):
        """The shape as a Size, or the size of dimension dim."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self):
        """The element type."""
        return _dtype.from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        """Where the data lives: cpu, or cuda (CuPy)."""
        return _backend.device_of(self._data)

    @property
    def is_cuda(self):
        """True if the data is on a CUDA device."""
        return self.device.type == "cuda"

    @property
    def is_cpu(self):
        """True if the data is in host memory."""
        return self.device.type == "cpu"

    @property
    def ndim(self):
        """The number of dimensions."""
        return self._data.ndim

    def dim(self):
        """The number of dimensions."""
        return self._data.ndim

    ndimension = dim

    def numel(self):
        """The number of elements."""
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        """Bytes per element."""
        return self._data.itemsize

    @property
    def itemsize(self):
        """Bytes per element."""
        return self._data.itemsize

    @property
    def nbytes(self):
        """Bytes of all the elements: numel() * element_size()."""
        return int(self._data.nbytes)

    def stride(self, dim=None):
        """Elements to step in memory for each dimension (a tuple), or for dimension dim."""
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[_wrap_dim(dim, self._data.ndim)]

    def storage_offset(self):
        """Elements between the start of the underlying memory and this tensor's first one."""
        data = self._data
        root = data
        while getattr(root, "base", None) is not None and hasattr(root.base, "dtype"):
            root = root.base
        if root is data:
            return 0
        if not isinstance(data, np.ndarray):  # CuPy: the device pointers' difference
            return (data.data.ptr - root.data.ptr) // data.itemsize
        start = data.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        return start // data.itemsize

    def is_shared(self):
        """Whether the memory is shared between processes: after ``share_memory_()``, for a tensor
        received through an mp queue, and always for CUDA tensors, as torch's."""
        from .multiprocessing import _share

        return self.is_cuda or _share.segment_of(self._data) is not None

    def share_memory_(self):
        """Move the memory to shared memory (a no-op if it is there already, and for CUDA tensors), so
        that processes forked afterwards, and those it is sent to, write to the same memory. Every
        tensor on this memory (views, ``detach()``) moves with it; returns self."""
        from .multiprocessing import _share

        _share.share([self])
        return self

    def apply_(self, callable):
        """Apply a Python function to each element, in place (CPU only, slow, as torch)."""
        flat = self._data.reshape(-1) if self._data.flags.c_contiguous else None
        values = [callable(v) for v in self._data.ravel().tolist()]
        if flat is None:
            self._data[...] = np.array(values, dtype=self._data.dtype).reshape(self._data.shape)
        else:
            flat[...] = values
        self._vc[0] += 1
        return self

    def map_(self, tensor, callable):
        """self[i] = callable(self[i], tensor[i]) for each element, in place."""
        other = np.broadcast_to(tensor._data, self._data.shape).ravel().tolist()
        values = [callable(a, b) for a, b in zip(self._data.ravel().tolist(), other)]
        self._data[...] = np.array(values, dtype=self._data.dtype).reshape(self._data.shape)
        self._vc[0] += 1
        return self

    def is_contiguous(self, memory_format=None):
        """True if the elements are laid out in row-major (C) order without gaps."""
        reject("is_contiguous", memory_format=memory_format)
        return bool(self._data.flags.c_contiguous)

    def is_floating_point(self):
        """True if the dtype is a floating-point type."""
        return self.dtype.is_floating_point

    def is_complex(self):
        """Always False: retrograd has no complex dtypes."""
        return False

    def data_ptr(self):
        """The address of the first element."""
        if isinstance(self._data, np.ndarray):
            return self._data.__array_interface__["data"][0]
        return self._data.data.ptr

    @property
    def layout(self):
        """The memory layout: always ``torch.strided`` (dense)."""
        return strided

    # ------------------------------------------------------------ autograd state
    @property
    def requires_grad(self):
        """Whether autograd records operations on this tensor (settable on leaves)."""
        if not self._requires_grad and self._base is not None:
            if self._view_mode is not None:  # made with grad mode off: as its base (torch)
                return self._base.requires_grad
            function.refresh_if_stale(self)  # its base may have joined the graph since
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if type(value) is not bool:  # (torch: a Python bool only; 1, np.True_ and tensor(True) raise)
            raise RuntimeError("requires_grad must be a bool")
        if self.grad_fn is not None:
            if value:
                return
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if value:
            _check_float_for_grad(self.dtype)
            if type(self._vc) is _InferenceVersion and not _grad_state.inference:
                raise RuntimeError("Setting requires_grad=True on inference tensor outside InferenceMode is not "
                                   "allowed (clone() it outside inference_mode to get a normal tensor).")
        self._requires_grad = value

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad in place and return self."""
        if not isinstance(requires_grad, bool):
            raise TypeError("requires_grad_(): argument 'requires_grad' (position 1) must be bool, not "
                            f"{_tp_name(requires_grad)}")
        self.requires_grad = requires_grad
        return self

    def is_inference(self):
        """True if this is an inference tensor: made inside ``torch.inference_mode()`` (or a view
        or ``detach()`` of one)."""
        return type(self._vc) is _InferenceVersion

    @property
    def is_leaf(self):
        """True if the tensor was not made by a recorded operation (grad_fn is None); leaves get .grad."""
        if self._base is not None:
            function.refresh_if_stale(self)  # (a view written through since: its grad_fn now, as torch)
        return self.grad_fn is None

    # .grad: internal code reads and writes the slot ``_grad`` (no warning, no checks)
    @property
    def grad(self):
        """The gradient backward accumulated into this tensor (leaves, and non-leaves that
        called retain_grad()), or None. Reading it on any other non-leaf warns, as in torch."""
        g = self._grad
        if g is None and self.grad_fn is not None and not self._retains_grad:
            warnings.warn(_NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value):
        if value is not None:
            _check_assigned_grad(self, value)
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def grad_dtype(self):
        """The dtype of this leaf's .grad: backward casts the gradients it accumulates (and autograd.grad
        those it returns for it) to it, and ``.grad = g`` must have it. The tensor's dtype unless set;
        None takes gradients of any dtype as they come (torch 2.13)."""
        if not self.is_leaf:
            raise RuntimeError("grad_dtype can only be accessed on leaf tensors.")
        return self.__dict__.get("_grad_dtype", self.dtype)

    @grad_dtype.setter
    def grad_dtype(self, value):
        if not self.is_leaf:
            raise RuntimeError("grad_dtype can only be set on leaf tensors.")
        if value is not None and not isinstance(value, _dtype.dtype):
            raise RuntimeError(f"grad_dtype must be a torch.dtype or None, but got {_tp_name(value)}")
        grad = self._grad
        if value is not None and grad is not None and grad.dtype != value:
            from .ops._kernel_dtypes import SCALAR_NAME

            raise RuntimeError(
                f"Cannot set grad_dtype to '{SCALAR_NAME.get(value.name, value.name)}' because there is already a "
                f"gradient with dtype '{_C_TYPE.get(grad.dtype.name, grad.dtype.name)}'. Please clear the gradient "
                "(.grad = None) before changing grad_dtype, or ensure the new grad_dtype matches the existing "
                "gradient's dtype.")
        self.__dict__["_grad_dtype"] = value
        engine._grad_dtypes = True  # (the engine reads a leaf's grad_dtype from now on)

    @property
    def data(self):
        """The same memory, detached from the graph (changes to it are not tracked)."""
        out = Tensor._make(self._data)
        if type(self._vc) is _InferenceVersion:  # (its own version counter, as torch's)
            out._vc = _InferenceVersion(out._vc)
        return out

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        if self._requires_grad and not (value.dtype.is_floating_point or value.dtype.is_complex):
            raise RuntimeError("data set to a tensor that requires gradients must be floating point or "
                               f"complex dtype (got {value.dtype}); call requires_grad_(False) first")
        self._data = value._data

    @property
    def output_nr(self):
        """Which output of its grad_fn this tensor is."""
        return self._output_nr

    @property
    def _version(self):
        if type(self._vc) is _InferenceVersion:
            raise RuntimeError("Inference tensors do not track version counter.")
        return self._vc[0]

    @property
    def retains_grad(self):
        """True if retain_grad() was called on this non-leaf tensor."""
        return self._retains_grad

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        function.refresh_if_stale(self)
        if self.grad_fn is None or self._retains_grad:
            return
        node = self.grad_fn
        if node._retained is None:
            node._retained = {}
            node._hooked = True
        node._retained[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    def register_hook(self, hook):
        """``hook(grad)`` runs when this tensor's gradient is computed; it may return a
        replacement. Returns a handle whose ``remove()`` unregisters it."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        function.refresh_if_stale(self)
        if self.grad_fn is not None:
            return self.grad_fn._add_tensor_hook(self._output_nr, hook)
        from .autograd.graph import RemovableHandle

        if self._hooks is None:
            self._hooks = {}
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = hook
        return handle

    def register_post_accumulate_grad_hook(self, hook):
        """``hook(tensor)`` runs after backward has added into this leaf's ``.grad``
        (e.g. to step an optimizer during backward). Returns a removable handle."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        from .autograd.graph import RemovableHandle

        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = {}
        handle = RemovableHandle(self._post_accumulate_hooks)
        self._post_accumulate_hooks[handle.id] = hook
        return handle

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute the gradient of this tensor with respect to the graph's leaves and add
        it into their ``.grad``."""
        engine.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self):
        """A tensor sharing this memory with no graph history."""
        out = Tensor._make(self._data)
        out._vc = self._vc
        return out

    def detach_(self):
        """Detach from the graph in place (no grad_fn, requires_grad False); not allowed on views
        (torch refuses every view, whether or not its base requires grad)."""
        if self._base is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel "
                "(DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP "
                "buckets, and hence detach_() cannot be called on these gradients. To fix this error, please "
                "refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution."
            )
        self.grad_fn = None
        self._requires_grad = False
        return self

    # ------------------------------------------------------------ conversion
    def item(self):
        """The value of a one-element tensor as a Python number (no graph)."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._host_array().reshape(()).item()

    def tolist(self):
        """The elements as (nested) Python lists of numbers."""
        return self._host_array().tolist()

    def numpy(self, force=False):
        """The data as a NumPy array sharing memory (a host copy from the GPU only with force=True)."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        if not isinstance(self._data, np.ndarray):
            if not force:
                raise TypeError(
                    f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() "
                    "to copy the tensor to host memory first."
                )
            return _backend.to_device(self._data, "cpu")
        return self._data

    def _host_array(self):
        data = self._data
        return data if isinstance(data, np.ndarray) else _backend.to_device(data, "cpu")

    # NumPy's forward operators and its scalars' defer to ours (np.float64(2) * t is a Tensor); ours refuse
    # an ndarray operand, so that NumPy computes t + a and wraps it (ops/_numpy_operands.py), as torch's
    __array_priority__ = 1000

    def __array_wrap__(self, array, context=None, return_scalar=False):
        """A NumPy ufunc's result (np.exp(t), t + ndarray) as a tensor sharing its memory, as torch's:
        a bool result becomes uint8, and a 0-dim one a 0-dim tensor (torch's wrap gives a tensor
        whatever the ufunc, its context and NumPy's return_scalar). A dtype retrograd has no tensors of
        (uint16, complex) is from_numpy's TypeError."""
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        _dtype.from_numpy_dtype(array.dtype)
        return Tensor._make(array)

    def __array__(self, dtype=None, copy=None):
        """NumPy's protocol: copy=True always copies, copy=False never does (ValueError if it must)."""
        arr = self.numpy()
        if dtype is not None and np.dtype(dtype) != arr.dtype:
            if copy is False:
                raise ValueError(f"Unable to avoid copy while converting a {self.dtype} tensor to {np.dtype(dtype)}")
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def __repr__(self):
        return tensor_repr(self)

    def __format__(self, spec):
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous "
                f"(shape {list(self.shape)}); use .any() or .all()"
            )
        return builtins.bool(self.item())

    def __float__(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return builtins.float(self.item())

    def __int__(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return builtins.int(self.item())

    def __index__(self):
        if self.dtype.is_floating_point or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self.item())

    def __complex__(self):
        return complex(self.item())

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __contains__(self, element):
        """``element in t``: whether element (a number, or a tensor broadcast against t) equals some entry."""
        if not isinstance(element, (Tensor, builtins.bool, builtins.int, builtins.float, np.bool_, np.number)):
            raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                               f"{type(element)}.")
        return builtins.bool((element == self).any().item())

    def __hash__(self):
        return id(self)

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self._host_array(), self._requires_grad, str(self.device)))

    def __init_subclass__(cls, **kwargs):
        """A subclass crosses process boundaries as Tensor does: through shared memory
        (multiprocessing/reductions.py registers it with multiprocessing's pickler)."""
        super().__init_subclass__(**kwargs)
        from .multiprocessing import reductions

        reductions.register(cls)

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment. If you were attempting to deepcopy a module, this may "
                "be because of a torch.nn.utils.weight_norm usage."
            )
        out = type(self).__new__(type(self))
        out._init(self._data.copy())
        out._requires_grad = self._requires_grad
        if self._grad is not None:
            out._grad = self._grad.__deepcopy__(memo)
        if hasattr(self, "__dict__"):
            for k, v in self.__dict__.items():
                import copy

                out.__dict__[k] = copy.deepcopy(v, memo)
        memo[id(self)] = out
        return out

    # ------------------------------------------------------------ dtype and device moves
    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``."""
        reject("to", memory_format=memory_format)
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, (_dtype.dtype, type)) or (isinstance(a, np.dtype)):
                dtype = a
            elif isinstance(a, (str, _backend.device, int)):
                device = a
        from .ops.elementwise import _to

        return _to(self, None if dtype is None else _dtype.to_dtype(dtype), device, copy)

    def type(self, dtype=None, non_blocking=False):
        """With no dtype, the legacy type name ("torch.FloatTensor"); else the tensor converted
        to ``dtype``: a legacy type (``torch.LongTensor``), its name, or a dtype."""
        from . import _legacy

        if dtype is None:
            return _legacy.type_name(self)
        return _legacy.convert(self, dtype, non_blocking)

    def float(self):
        """self.to(float32)."""
        return self.to(_dtype.float32)

    def double(self):
        """self.to(float64)."""
        return self.to(_dtype.float64)

    def half(self):
        """self.to(float16)."""
        return self.to(_dtype.float16)

    def bfloat16(self):
        """self.to(bfloat16) (needs ml_dtypes on the CPU)."""
        return self.to(_dtype.bfloat16)

    def long(self):
        """self.to(int64)."""
        return self.to(_dtype.int64)

    def int(self):
        """self.to(int32)."""
        return self.to(_dtype.int32)

    def short(self):
        """self.to(int16)."""
        return self.to(_dtype.int16)

    def char(self):
        """self.to(int8)."""
        return self.to(_dtype.int8)

    def byte(self):
        """self.to(uint8)."""
        return self.to(_dtype.uint8)

    def bool(self):
        """self.to(bool)."""
        return self.to(_dtype.bool_)

    def cpu(self):
        """self.to("cpu"): a copy in host memory (self if already there)."""
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False):
        """self.to("cuda") (through CuPy); device an index or a device."""
        return self.to("cuda" if device is None else _backend.device("cuda", device)
                       if isinstance(device, builtins.int) else device)

    def type_as(self, other):
        """self.to(other.dtype)."""
        return self.to(other.dtype)

    # ------------------------------------------------------------ new_* constructors
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A new tensor from data, with this tensor's dtype and device unless given."""
        from .creation import copy_of, warn_copy_construct

        if isinstance(data, Tensor):
            warn_copy_construct("tensor.new_tensor(sourceTensor)")
        return copy_of(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def _new_filled(self, size, value, dtype, device, requires_grad):
        if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
            size = tuple(size[0])
        dtype = _dtype.to_dtype(dtype) if dtype is not None else self.dtype
        xp = _backend.array_module(self._data) if device is None else _backend.module_for(device)
        out = Tensor._make(_backend.full(xp, tuple(size), value, dtype.np))
        if requires_grad:
            out.requires_grad = True
        return out

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """Zeros of size, with this tensor's dtype and device unless given."""
        return self._new_filled(size, 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        """Ones of size, with this tensor's dtype and device unless given."""
        return self._new_filled(size, 1, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        """A tensor of size with this tensor's dtype and device unless given; zeros (torch leaves it
        uninitialized)."""
        return self._new_filled(size, 0, dtype, device, requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        """A tensor of size filled with fill_value, with this tensor's dtype and device unless given."""
        return self._new_filled((size,), fill_value, dtype, device, requires_grad)


def _rebuild(array, requires_grad, device):
    t = Tensor._make(array.copy())
    if device != "cpu":
        t._data = _backend.to_device(t._data, device)
    t._requires_grad = requires_grad
    return t


def _wrap_dim(dim, ndim):
    """A dim in [-ndim, ndim) made non-negative, else IndexError as torch raises."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def _to_array(data, dtype=None):
    """Copy Python data (nested lists, scalars, arrays, tensors) into a new array (a CuPy array's
    copy stays on its GPU)."""
    if isinstance(data, Tensor):
        arr = data._data
        return _backend.cast(arr, dtype.np) if dtype is not None else arr.copy()
    xp = _backend.array_module(data)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _tensors_to_lists(data)
    if isinstance(data, (list, tuple)) and data and type(data[0]) is np.ndarray:
        from ._warn_once import warn_once
        warn_once("tensor from ndarrays", "Creating a tensor from a list of numpy.ndarrays is extremely slow. "
                  "Please consider converting the list to a single numpy.ndarray with numpy.array() before "
                  "converting to a tensor.")
    if dtype is None:
        if isinstance(data, (np.ndarray, np.generic)) or xp is not np:
            arr = xp.array(data)
            _dtype.from_numpy_dtype(arr.dtype)  # reject types torch lacks
            return arr
        dtype = _infer_dtype(data)
    try:
        if dtype.name == "bfloat16":  # Python floats are doubles: to bfloat16 through float32, as torch
            return _backend.cast(xp.array(data), dtype.np)
        return xp.array(data, dtype=dtype.np)
    except OverflowError:
        if dtype._category != 1:  # not an integer type
            raise
        return xp.asarray(_wrapped_ints(data, dtype))
    except ValueError:
        if isinstance(data, (list, tuple)) and any(isinstance(x, str) for x in _flat(data)):
            raise TypeError(f"must be real number, not str (tensor data of dtype {dtype} must be "
                            "numbers)") from None
        raise


def _wrapped_ints(data, dtype):
    """torch's conversion of Python ints: within the type's width they wrap (-1 -> 255 as
    uint8; an unsigned type takes -max..max), beyond it a RuntimeError."""
    info = np.iinfo(dtype.np)
    wide = np.array(data, dtype=object)
    low = -info.max if info.min == 0 else info.min
    if not (low <= wide.min() and wide.max() <= info.max):
        raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow")
    return wide.astype(np.int64).astype(dtype.np)


def _flat(data):
    for x in data:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _tensors_to_lists(data):
    if isinstance(data, Tensor):
        return data.tolist()
    if isinstance(data, (list, tuple)):
        return [_tensors_to_lists(x) for x in data]
    return data


def _infer_dtype(data):
    """torch.tensor's inference: any float gives the default float dtype, else int64, else bool;
    NumPy scalars count with their own dtype (np.float64 makes the tensor float64)."""
    seen_float = seen_int = False
    np_dtype = None
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, builtins.bool) or isinstance(x, np.bool_):
            continue
        elif (isinstance(x, np.generic) and isinstance(x, (np.integer, np.floating))
              or type(x) is np.ndarray and x.ndim and x.dtype.kind in "iuf"):  # (an array in a list: its dtype, as torch)
            d = _dtype.from_numpy_dtype(x.dtype)
            np_dtype = d if np_dtype is None else _dtype.promote_types(np_dtype, d)
        elif isinstance(x, builtins.int):
            seen_int = True
        elif isinstance(x, builtins.float):
            seen_float = True
        elif isinstance(x, complex):
            raise TypeError("complex tensors are not supported by retrograd")
        else:
            raise TypeError(
                f"Could not infer dtype of {type(x).__name__}: tensor() takes numbers, nested "
                "lists of numbers, NumPy arrays or tensors"
            )
    if np_dtype is not None:
        if seen_float:
            np_dtype = _dtype.promote_types(np_dtype, _dtype.get_default_dtype())
        elif seen_int:
            np_dtype = _dtype.promote_types(np_dtype, _dtype.int64)
        return np_dtype
    if seen_float:
        return _dtype.get_default_dtype()
    if seen_int:
        return _dtype.int64
    return _dtype.bool_ if _contains_bool(data) else _dtype.get_default_dtype()


def _contains_bool(data):
    return any(isinstance(x, (builtins.bool, np.bool_)) for x in _flat(data)) if isinstance(
        data, (list, tuple)) else isinstance(data, (builtins.bool, np.bool_))


function.bind_tensor_class(Tensor)  # the autograd package's one way to the class (see there)

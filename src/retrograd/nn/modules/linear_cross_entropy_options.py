"""nn.LinearCrossEntropyOptions: the settings of linear_cross_entropy's chunked path."""

import dataclasses
import re

__all__ = ["LinearCrossEntropyOptions"]

_CHUNKING = re.compile(r"aspect_ratio:(\d+)")


@dataclasses.dataclass(frozen=True)
class LinearCrossEntropyOptions:
    """Opt-in settings for ``nn.functional.linear_cross_entropy``'s chunked path, which runs the
    batch through in chunks of rows so that the whole (N, C) logits matrix never exists.

    - ``batch_chunk_size``: rows per chunk (a positive int); None: ``chunking_method`` decides.
    - ``chunking_method``: "auto" (= "aspect_ratio:2") or "aspect_ratio:K": chunks of K *
      in_features rows, so one chunk's logits hold K times the linear weight's elements; None: as
      "auto" (retrograd's rule; torch picks its chunk sizes by measured tables).
    - ``acc_policy``: "accurate" | "balanced" | "compact" | "auto": which intermediates stay in
      ``acc_dtype``. retrograd keeps them all there ("accurate"; "auto" resolves to it); the
      others raise NotImplementedError for float16/bfloat16 input, the only case they change.
    - ``acc_dtype``: None (float32 for float16/bfloat16 input, else the input's dtype) or
      float32 with float16/bfloat16 input.
    - ``allow_retain_graph``: allow a second backward through the loss (torch raises without it).
    """

    allow_retain_graph: bool = False
    batch_chunk_size: "int | None" = None
    chunking_method: "str | None" = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None

    def __post_init__(self):
        size = self.batch_chunk_size
        if size is not None and (not isinstance(size, int) or size <= 0):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {size}")
        method = self.chunking_method
        ratio = _CHUNKING.fullmatch(method) if isinstance(method, str) else None
        if method is not None and method != "auto" and not (ratio and int(ratio.group(1)) > 0):
            raise ValueError(f"invalid chunking_method: {method!r}")
        if self.acc_policy not in ("accurate", "balanced", "compact", "auto"):
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")

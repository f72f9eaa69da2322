"""``TORCH_DISTRIBUTED_DEBUG=DETAIL``: before each collective the ranks compare what they run.

With the variable set to DETAIL when ``init_process_group`` is called, every collective first
gathers each rank's fingerprint (operation, sequence number, tensor shapes and dtypes) and, where
the ranks differ, raises RuntimeError on every rank naming both ranks' fingerprints, instead of
letting MPI mix mismatched buffers or wait forever. It costs one small allgather per collective,
so it is off by default, as in torch.
"""


class _Fingerprint:
    def __init__(self, seq, op, tensors, check_shapes):
        self.seq = seq
        self.op = op
        self.shapes = [list(t.shape) for t in tensors] if check_shapes else None
        self.dtypes = [str(t.dtype).replace("torch.", "") for t in tensors]

    def _key(self):
        return self.seq, self.op, self.shapes, self.dtypes

    def differences(self, other):
        names = ("SequenceNumber", "OpType", "TensorShape", "TensorDtypes")
        return [f"{name}: {a} vs {b}" for name, a, b in zip(names, self._key(), other._key()) if a != b]

    def __repr__(self):
        shapes = "" if self.shapes is None else f", TensorShape={self.shapes}"
        return f"CollectiveFingerPrint(SequenceNumber={self.seq}, OpType={self.op}{shapes}, TensorDtypes={self.dtypes})"


def check(pg, op, tensors, check_shapes=True):
    """Raise RuntimeError on every rank if the ranks of ``pg`` run different collectives or tensors."""
    if pg._debug_level != "DETAIL":
        return
    pg._debug_seq = getattr(pg, "_debug_seq", 0) + 1
    mine = _Fingerprint(pg._debug_seq, op, tensors, check_shapes)
    token = pg._watchdog_begin(f"{op} (TORCH_DISTRIBUTED_DEBUG=DETAIL check)")
    try:
        prints = pg._comm.allgather(mine)
    finally:
        pg._watchdog_end(token)
    for rank, theirs in enumerate(prints):
        if mine.differences(theirs):
            first, second = sorted((rank, pg.rank()))
            diff = prints[first].differences(prints[second])
            raise RuntimeError(
                f"Detected mismatch between collectives on ranks. Rank {pg._global_rank(first)} is running "
                f"collective: {prints[first]}, but Rank {pg._global_rank(second)} is running collective: "
                f"{prints[second]}. Collectives differ in the following aspects: " + "; ".join(diff)
                + ". Every rank must call the same collectives in the same order with tensors of the same "
                "shape and dtype.")

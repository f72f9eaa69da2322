"""What the processes started by tests/multiprocessing run: a module importing retrograd alone, so
that a spawned child starts quickly (not importing pytest's test modules or torch)."""

import retrograd as torch


def add_in_place_and_reply(inbox, outbox):
    tensors = inbox.get()
    for t in tensors:
        with torch.no_grad():
            t.add_(1)
    outbox.put([(type(t).__name__, t.requires_grad, t.is_shared(), t.dtype) for t in tensors] + [tensors[0]])
    inbox.get()  # the sender of a file descriptor runs until it is received

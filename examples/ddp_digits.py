"""The digits CNN (examples/digits_cnn.py) trained data-parallel on several processes: each rank
reads its share of every epoch through a DistributedSampler, DistributedDataParallel averages
the gradients across the ranks during backward, SyncBatchNorm normalizes over the batches of all
ranks, and rank 0 saves a checkpoint that every rank loads back.

    python -m retrograd.distributed.run --nproc-per-node 2 examples/ddp_digits.py [--epochs 8]
    mpiexec -n 2 python examples/ddp_digits.py        (the same, with MPI's own launcher)

--batch-size is per rank: 2 ranks of 16 take the optimizer steps of one process with 32.
"""

import argparse
import os
import tempfile
import time

import retrograd as torch
import retrograd.distributed as dist
from digits_cnn import DigitsCNN, accuracy
from retrograd import nn
from retrograd.demo.data import load_split
from retrograd.nn import functional as F
from retrograd.nn.parallel import DistributedDataParallel as DDP
from retrograd.utils.data import DataLoader, DistributedSampler, TensorDataset


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=16, help="per rank")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--subset", type=int, default=None, help="use only this many images")
    parser.add_argument("--checkpoint", default=None, help="where rank 0 saves (default: a temporary file)")
    args = parser.parse_args(argv)

    dist.init_process_group()  # MPI tells each process its rank and the world size
    rank, world = dist.get_rank(), dist.get_world_size()

    x_train, y_train, x_test, y_test = load_split(seed=0, subset=args.subset)
    train = TensorDataset(torch.from_numpy(x_train.reshape(-1, 1, 8, 8)), torch.from_numpy(y_train))
    x_test, y_test = torch.from_numpy(x_test.reshape(-1, 1, 8, 8)), torch.from_numpy(y_test)
    sampler = DistributedSampler(train, seed=0)  # rank r takes every world-th index of a shared shuffle
    loader = DataLoader(train, batch_size=args.batch_size, sampler=sampler)

    torch.manual_seed(rank)  # different on purpose: DDP starts every rank from rank 0's weights
    model = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(DigitsCNN()))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

    start = time.perf_counter()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        totals = torch.zeros(2, dtype=torch.float64)  # summed loss, samples
        for X, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X), y)
            loss.backward()  # gradients averaged over the ranks when it returns
            optimizer.step()
            totals += torch.tensor([loss.item() * len(y), len(y)], dtype=torch.float64)
        scheduler.step()
        dist.all_reduce(totals)
        if rank == 0:
            print(f"epoch {epoch + 1:2d}  train loss {totals[0].item() / totals[1].item():.4f}  "
                  f"test accuracy {100 * accuracy(model.module, x_test, y_test):.1f}%", flush=True)
    acc = accuracy(model.module, x_test, y_test)
    if rank == 0:
        print(f"{world} ranks: test accuracy {100 * acc:.2f}% in {time.perf_counter() - start:.1f}s")

    # Checkpoint: rank 0 saves, everyone waits for the file, then every rank loads it.
    path = [args.checkpoint or os.path.join(tempfile.mkdtemp(), "ddp_digits.pt")]
    dist.broadcast_object_list(path, src=0)  # rank 0's file name
    if rank == 0:
        torch.save(model.state_dict(), path[0])  # keys "module.conv1.weight", ...
    dist.barrier()
    restored = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(DigitsCNN()))
    restored.load_state_dict(torch.load(path[0], map_location="cpu"))
    agree = torch.tensor([float(accuracy(restored.module, x_test, y_test) == acc)])
    dist.all_reduce(agree, op=dist.ReduceOp.MIN)
    if rank == 0:
        print(f"rank 0 saved {len(model.state_dict())} tensors to {path[0]}; every rank's reloaded model "
              f"agrees: {bool(agree.item())}")
    dist.destroy_process_group()
    return 0 if agree.item() else 1


if __name__ == "__main__":
    raise SystemExit(main())

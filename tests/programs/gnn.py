"""Graph neural networks the way PyTorch Geometric-style code writes them without the library:
small graphs batched into one block-diagonal graph (edge_index offsets by cumsum of the node
counts, a batch vector by repeat_interleave), self-loops added and duplicate edges removed with
torch.unique(dim=1), a GCN layer normalised by degrees from index_add_ / scatter_add_ (inf of a
zero degree masked to 0), a GAT layer whose edge softmax runs per destination node through
scatter_reduce('amax', include_self=False), exp and index_add_, a GraphSAGE mean aggregation by
scatter_reduce('mean'), global mean and max pooling per graph, a dense adjacency built with
index_put_(accumulate=True) and checked against the message passing, bincount and is_sparse
checks, then graph classification with AdamW and nn.functional.cross_entropy. Weights from NumPy,
so torch and retrograd print the same losses.
"""

import numpy as np


def main(torch, epochs=6, hidden=8, classes=2):
    nn, F = torch.nn, torch.nn.functional
    rng = np.random.default_rng(0)

    def random_graph(label):
        n = int(rng.integers(4, 8))
        if label == 0:  # a ring
            src = np.arange(n)
            dst = (src + 1) % n
        else:  # a star around node 0, and one chord
            src = np.zeros(n - 1, dtype=np.int64)
            dst = np.arange(1, n)
            src, dst = np.append(src, 1), np.append(dst, n - 1)
        edges = np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])])  # undirected
        edges = np.concatenate([edges, edges[:, :2]], axis=1)  # a duplicate edge, as real data has
        x = rng.normal(0.0, 1.0, (n, 3))
        return torch.from_numpy(x), torch.from_numpy(edges.astype(np.int64)), label

    def collate(graphs):
        xs, edge_indices, labels = zip(*graphs)
        sizes = torch.tensor([x.size(0) for x in xs])
        offsets = torch.cumsum(sizes, dim=0) - sizes
        edge_index = torch.cat([e + off for e, off in zip(edge_indices, offsets.tolist())], dim=1)
        batch = torch.repeat_interleave(torch.arange(len(xs)), sizes)
        return torch.cat(xs, dim=0), edge_index, batch, torch.tensor(labels)

    def add_self_loops(edge_index, num_nodes):
        loop = torch.arange(num_nodes, dtype=edge_index.dtype).unsqueeze(0).repeat(2, 1)
        return torch.cat([edge_index, loop], dim=1)

    def coalesce(edge_index):
        return torch.unique(edge_index, dim=1)  # sorted by (row, col), duplicates gone

    class GCNConv(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.lin = nn.Linear(in_channels, out_channels, bias=False)
            self.bias = nn.Parameter(torch.empty(out_channels))
            nn.init.zeros_(self.bias)

        def forward(self, x, edge_index):
            edge_index = coalesce(add_self_loops(edge_index, x.size(0)))
            row, col = edge_index
            x = self.lin(x)
            deg = torch.zeros(x.size(0), dtype=x.dtype).index_add_(0, col, torch.ones(col.size(0), dtype=x.dtype))
            deg_inv_sqrt = deg.pow(-0.5)
            deg_inv_sqrt[deg_inv_sqrt == float("inf")] = 0
            norm = deg_inv_sqrt[row] * deg_inv_sqrt[col]
            msg = norm.view(-1, 1) * x.index_select(0, row)
            out = torch.zeros_like(x).scatter_add_(0, col.unsqueeze(-1).expand_as(msg), msg)
            return out + self.bias

    class GATConv(nn.Module):
        def __init__(self, in_channels, out_channels, heads=2):
            super().__init__()
            self.heads, self.out_channels = heads, out_channels
            self.lin = nn.Linear(in_channels, heads * out_channels, bias=False)
            self.att_src = nn.Parameter(torch.empty(1, heads, out_channels))
            self.att_dst = nn.Parameter(torch.empty(1, heads, out_channels))
            nn.init.xavier_uniform_(self.att_src)
            nn.init.xavier_uniform_(self.att_dst)

        def forward(self, x, edge_index):
            H, C = self.heads, self.out_channels
            edge_index = coalesce(add_self_loops(edge_index, x.size(0)))
            src, dst = edge_index[0], edge_index[1]
            x = self.lin(x).view(-1, H, C)
            alpha_src = (x * self.att_src).sum(dim=-1)
            alpha_dst = (x * self.att_dst).sum(dim=-1)
            alpha = F.leaky_relu(alpha_src[src] + alpha_dst[dst], 0.2)  # (E, H)
            # softmax over the edges into each node
            index = dst.unsqueeze(-1).expand_as(alpha)
            amax = torch.full((x.size(0), H), float("-inf"), dtype=x.dtype)
            amax = amax.scatter_reduce(0, index, alpha, reduce="amax", include_self=False)
            alpha = (alpha - amax.gather(0, index)).exp()
            denom = torch.zeros(x.size(0), H, dtype=x.dtype).index_add_(0, dst, alpha)
            alpha = alpha / (denom[dst] + 1e-16)
            out = torch.zeros_like(x).index_add_(0, dst, alpha.unsqueeze(-1) * x[src])
            return out.mean(dim=1)

    class SAGEConv(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.lin_l = nn.Linear(in_channels, out_channels)
            self.lin_r = nn.Linear(in_channels, out_channels, bias=False)

        def forward(self, x, edge_index):
            src, dst = edge_index
            index = dst.view(-1, 1).expand(-1, x.size(1))
            agg = torch.zeros_like(x).scatter_reduce(0, index, x[src], reduce="mean", include_self=False)
            return self.lin_l(agg) + self.lin_r(x)

    def global_mean_pool(x, batch, size):
        out = torch.zeros(size, x.size(1), dtype=x.dtype).index_add_(0, batch, x)
        return out / torch.bincount(batch, minlength=size).clamp(min=1).unsqueeze(-1).to(x.dtype)

    def global_max_pool(x, batch, size):
        index = batch.view(-1, 1).expand_as(x)
        return torch.full((size, x.size(1)), float("-inf"), dtype=x.dtype).scatter_reduce(
            0, index, x, reduce="amax", include_self=False)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = GCNConv(3, hidden)
            self.conv2 = GATConv(hidden, hidden)
            self.conv3 = SAGEConv(hidden, hidden)
            self.classifier = nn.Linear(2 * hidden, classes)

        def forward(self, x, edge_index, batch, num_graphs):
            x = F.relu(self.conv1(x, edge_index))
            x = F.elu(self.conv2(x, edge_index))
            x = F.relu(self.conv3(x, edge_index))
            x = torch.cat([global_mean_pool(x, batch, num_graphs), global_max_pool(x, batch, num_graphs)], dim=1)
            x = F.dropout(x, p=0.5, training=False)
            return self.classifier(x)

    graphs = [random_graph(i % 2) for i in range(16)]
    loader = torch.utils.data.DataLoader(graphs, batch_size=8, shuffle=False, collate_fn=collate)
    x, edge_index, batch, y = next(iter(loader))
    assert not edge_index.is_sparse and edge_index.layout == torch.strided

    # the GCN normalisation as a dense matrix product: D^-1/2 (A + I) D^-1/2 X W
    conv = GCNConv(3, hidden).double()
    n = x.size(0)
    ei = coalesce(add_self_loops(edge_index, n))
    adj = torch.zeros(n, n, dtype=torch.float64)
    adj.index_put_((ei[1], ei[0]), torch.ones(ei.size(1), dtype=torch.float64), accumulate=True)
    d = adj.sum(dim=1).pow(-0.5)
    dense = (d.unsqueeze(1) * adj * d.unsqueeze(0)) @ conv.lin(x) + conv.bias
    print(f"edges before and after coalesce {float(edge_index.size(1) + n):.15e}")
    print(f"edges after coalesce {float(ei.size(1)):.15e}")
    print(f"message passing vs dense gcn below 1e-12 {float((conv(x, edge_index) - dense).abs().max() < 1e-12):.15e}")

    model = Net().double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.4, tuple(p.shape))))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.02, weight_decay=5e-4)
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for x, edge_index, batch, y in loader:
            num_graphs = int(batch.max()) + 1
            optimizer.zero_grad()
            out = model(x, edge_index, batch, num_graphs)
            loss = F.cross_entropy(out, y)
            loss.backward()
            optimizer.step()
            total += loss.item() * num_graphs
        print(f"epoch {epoch} loss {total / len(loader.dataset):.15e}")
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, edge_index, batch, y in loader:
            pred = model(x, edge_index, batch, int(batch.max()) + 1).argmax(dim=1)
            correct += int((pred == y).sum())
    print(f"train accuracy {correct / len(loader.dataset):.15e}")
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and not g.is_sparse for g in grads)


if __name__ == "__main__":
    from _run import script
    script(main)

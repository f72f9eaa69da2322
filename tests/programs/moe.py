"""A sparse Mixture-of-Experts layer in the style of the Switch / Mixtral-like implementations
written from scratch: a router Linear whose logits go through F.softmax(dtype=torch.float) and
torch.topk, the top-k weights renormalised, the expert mask from F.one_hot(...).permute(2, 1, 0),
each expert's tokens found with torch.where and its weighted output summed back by index_add_,
a dense reference form (every expert on every token, gathered by the routing weights, scatter'ed
into a full weight matrix) checked equal, the Switch load-balancing loss (fraction of tokens per
expert times mean router probability) and the router z-loss (logsumexp squared), tokens per
expert by torch.bincount, capacity dropping by cumsum over the one-hot assignments, experts in an
nn.ModuleList, then a tiny MoE transformer block trained with AdamW on a next-token task.
Weights from NumPy, so torch and retrograd print the same numbers.
"""

import numpy as np


def main(torch, steps=6, vocab=12, dim=16, num_experts=4, top_k=2, seq=10, batch=6):
    nn, F = torch.nn, torch.nn.functional

    class Expert(nn.Module):
        def __init__(self, dim, hidden):
            super().__init__()
            self.w1 = nn.Linear(dim, hidden, bias=False)
            self.w3 = nn.Linear(dim, hidden, bias=False)
            self.w2 = nn.Linear(hidden, dim, bias=False)

        def forward(self, x):
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class SparseMoE(nn.Module):
        def __init__(self, dim, num_experts, top_k):
            super().__init__()
            self.num_experts, self.top_k = num_experts, top_k
            self.gate = nn.Linear(dim, num_experts, bias=False)
            self.experts = nn.ModuleList([Expert(dim, 2 * dim) for _ in range(num_experts)])

        def forward(self, hidden_states):
            batch_size, sequence_length, hidden_dim = hidden_states.shape
            hidden_states = hidden_states.view(-1, hidden_dim)
            router_logits = self.gate(hidden_states)
            routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
            routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)
            routing_weights = routing_weights / routing_weights.sum(dim=-1, keepdim=True)
            routing_weights = routing_weights.to(hidden_states.dtype)
            final = torch.zeros((batch_size * sequence_length, hidden_dim), dtype=hidden_states.dtype,
                                device=hidden_states.device)
            expert_mask = F.one_hot(selected_experts, num_classes=self.num_experts).permute(2, 1, 0)
            for expert_idx in range(self.num_experts):
                idx, top_x = torch.where(expert_mask[expert_idx])
                if top_x.numel() == 0:
                    continue
                current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
                current = self.experts[expert_idx](current_state) * routing_weights[top_x, idx, None]
                final.index_add_(0, top_x, current.to(hidden_states.dtype))
            final = final.reshape(batch_size, sequence_length, hidden_dim)
            return final, router_logits

        def dense_forward(self, hidden_states):
            """Every expert on every token, weighted by a full (tokens, experts) matrix."""
            flat = hidden_states.reshape(-1, hidden_states.shape[-1])
            probs = self.gate(flat).softmax(-1)
            weights, selected = probs.topk(self.top_k, dim=-1)
            weights = weights / weights.sum(-1, keepdim=True)
            full = torch.zeros_like(probs).scatter(1, selected, weights)
            outs = torch.stack([expert(flat) for expert in self.experts], dim=1)  # (T, E, D)
            return torch.einsum("te,ted->td", full, outs).reshape(hidden_states.shape)

    def load_balancing_loss(router_logits, num_experts, top_k):
        probs = F.softmax(router_logits, dim=-1)
        _, selected = torch.topk(probs, top_k, dim=-1)
        expert_mask = F.one_hot(selected, num_experts)  # (T, k, E)
        tokens_per_expert = torch.mean(expert_mask.float(), dim=0)  # (k, E)
        router_prob_per_expert = torch.mean(probs, dim=0)  # (E,)
        return torch.sum(tokens_per_expert * router_prob_per_expert.unsqueeze(0)) * num_experts

    def router_z_loss(router_logits):
        return torch.logsumexp(router_logits, dim=-1).square().mean()

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(dim)
            self.attn = nn.MultiheadAttention(dim, 2, batch_first=True, bias=False)
            self.ln2 = nn.LayerNorm(dim)
            self.moe = SparseMoE(dim, num_experts, top_k)

        def forward(self, x, mask):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
            out, router_logits = self.moe(self.ln2(x))
            return x + out, router_logits

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, dim)
            self.block = Block()
            self.head = nn.Linear(dim, vocab)

        def forward(self, idx):
            mask = nn.Transformer.generate_square_subsequent_mask(idx.shape[1], dtype=torch.float64)
            x, router_logits = self.block(self.embed(idx), mask)
            return self.head(x), router_logits

    rng = np.random.default_rng(0)
    model = Model().double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".ln" in name:
                continue
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.3, tuple(p.shape))))

    # the sparse dispatch equals the dense weighting
    x = torch.from_numpy(rng.normal(size=(3, 5, dim)))
    sparse, logits = model.block.moe(x)
    dense = model.block.moe.dense_forward(x)
    print(f"sparse vs dense below 1e-6 {float((sparse - dense).abs().max() < 1e-6):.15e}")  # float32 routing weights
    _, top1 = logits.topk(1, dim=-1)
    counts = torch.bincount(top1.flatten(), minlength=num_experts)
    assert counts.dtype == torch.int64 and int(counts.sum()) == 15
    print(f"tokens per expert {' '.join(str(int(c)) for c in counts)} {counts.max().item() / 15:.15e}")
    # capacity: each expert keeps its first `capacity` tokens in order, the rest are dropped
    capacity = 4
    assignment = F.one_hot(top1.squeeze(-1), num_experts)  # (T, E)
    position = torch.cumsum(assignment, dim=0) * assignment
    kept = (position <= capacity) & (assignment > 0)
    print(f"tokens kept under capacity {kept.sum().item() / 15:.15e}")

    tokens = torch.from_numpy(np.array([(np.arange(seq + 1) * (b + 1) + b) % vocab for b in range(batch)]))
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.01)
    for step in range(steps):
        optimizer.zero_grad(set_to_none=True)
        logits, router_logits = model(inputs)
        ce = F.cross_entropy(logits.view(-1, vocab), targets.reshape(-1))
        aux = load_balancing_loss(router_logits, num_experts, top_k)
        z = router_z_loss(router_logits)
        loss = ce + 0.01 * aux + 0.001 * z
        loss.backward()
        optimizer.step()
        print(f"step {step} ce {ce.item():.15e}")
        print(f"step {step} aux loss {aux.item():.15e}")
        print(f"step {step} z loss {z.item():.15e}")
    grads = [p.grad is not None for p in model.block.moe.experts.parameters()]
    print(f"expert parameters with gradients {sum(grads) / len(grads):.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)

"""A sequence-to-sequence Transformer in the style of the PyTorch translation tutorial: a
PositionalEncoding module whose sin/cos table (torch.exp of -arange * log(10000) / d) is a
registered buffer, TokenEmbedding scaled by sqrt(d), nn.Transformer (encoder and decoder, post-norm,
batch_first=False) with create_mask building the causal target mask by
generate_square_subsequent_mask and the padding masks from (tokens == PAD_IDX).transpose(0, 1),
memory_key_padding_mask, a collate_fn that adds BOS/EOS with torch.cat and pads with pad_sequence,
xavier_uniform_ on every p.dim() > 1 (then replaced from NumPy), CrossEntropyLoss(ignore_index=PAD,
label_smoothing=0.1), Adam(betas=(0.9, 0.98), eps=1e-9), greedy decoding with encode/decode and
torch.max over the generator's output, and the decoder run incrementally checked against the full
causal pass. The task: reverse a sequence. Torch and retrograd print the same numbers.
"""

import math

import numpy as np

PAD_IDX, BOS_IDX, EOS_IDX = 0, 1, 2


def main(torch, epochs=3, d_model=16, nhead=2, layers=1, vocab=9, batch=6):
    nn = torch.nn
    Tensor = torch.Tensor

    class PositionalEncoding(nn.Module):
        def __init__(self, emb_size, dropout, maxlen=64):
            super().__init__()
            den = torch.exp(- torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
            pos = torch.arange(0, maxlen).reshape(maxlen, 1)
            pos_embedding = torch.zeros((maxlen, emb_size))
            pos_embedding[:, 0::2] = torch.sin(pos * den)
            pos_embedding[:, 1::2] = torch.cos(pos * den)
            pos_embedding = pos_embedding.unsqueeze(-2)
            self.dropout = nn.Dropout(dropout)
            self.register_buffer("pos_embedding", pos_embedding)

        def forward(self, token_embedding: Tensor):
            return self.dropout(token_embedding + self.pos_embedding[:token_embedding.size(0), :])

    class TokenEmbedding(nn.Module):
        def __init__(self, vocab_size, emb_size):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, emb_size)
            self.emb_size = emb_size

        def forward(self, tokens: Tensor):
            return self.embedding(tokens.long()) * math.sqrt(self.emb_size)

    class Seq2SeqTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.Transformer(d_model=d_model, nhead=nhead, num_encoder_layers=layers,
                                              num_decoder_layers=layers, dim_feedforward=32, dropout=0.0)
            self.generator = nn.Linear(d_model, vocab)
            self.src_tok_emb = TokenEmbedding(vocab, d_model)
            self.tgt_tok_emb = TokenEmbedding(vocab, d_model)
            self.positional_encoding = PositionalEncoding(d_model, dropout=0.0)

        def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                    memory_key_padding_mask):
            src_emb = self.positional_encoding(self.src_tok_emb(src))
            tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
            outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                    src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
            return self.generator(outs)

        def encode(self, src, src_mask):
            return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)), src_mask)

        def decode(self, tgt, memory, tgt_mask):
            return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)), memory, tgt_mask)

    def generate_square_subsequent_mask(sz):
        mask = (torch.triu(torch.ones((sz, sz))) == 1).transpose(0, 1)
        return mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, float(0.0))

    def create_mask(src, tgt):
        src_seq_len, tgt_seq_len = src.shape[0], tgt.shape[0]
        tgt_mask = generate_square_subsequent_mask(tgt_seq_len).double()
        src_mask = torch.zeros((src_seq_len, src_seq_len)).type(torch.bool)
        src_padding_mask = (src == PAD_IDX).transpose(0, 1)
        tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
        return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask

    def tensor_transform(token_ids):
        return torch.cat((torch.tensor([BOS_IDX]), torch.tensor(token_ids), torch.tensor([EOS_IDX])))

    def collate_fn(batch):
        src_batch, tgt_batch = [], []
        for src_sample, tgt_sample in batch:
            src_batch.append(tensor_transform(src_sample))
            tgt_batch.append(tensor_transform(tgt_sample))
        src_batch = nn.utils.rnn.pad_sequence(src_batch, padding_value=PAD_IDX)
        tgt_batch = nn.utils.rnn.pad_sequence(tgt_batch, padding_value=PAD_IDX)
        return src_batch, tgt_batch

    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(4 * batch):
        seq = rng.integers(3, vocab, int(rng.integers(2, 6))).tolist()
        pairs.append((seq, seq[::-1]))
    loader = torch.utils.data.DataLoader(pairs, batch_size=batch, collate_fn=collate_fn)

    model = Seq2SeqTransformer().double()
    for p in model.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" not in name:
                p.copy_(torch.from_numpy(rng.normal(0.0, 0.3, tuple(p.shape))))
    assert not any(n.startswith("positional_encoding") for n, _ in model.named_parameters())
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD_IDX, label_smoothing=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.98), eps=1e-9)

    for epoch in range(1, epochs + 1):
        model.train()
        losses = 0
        for src, tgt in loader:
            tgt_input = tgt[:-1, :]
            src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
            logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                           src_padding_mask)
            optimizer.zero_grad()
            tgt_out = tgt[1:, :]
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
            loss.backward()
            optimizer.step()
            losses += loss.item()
        print(f"epoch {epoch} train loss {losses / len(loader):.15e}")

    def greedy_decode(model, src, src_mask, max_len, start_symbol):
        memory = model.encode(src, src_mask)
        ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long)
        for i in range(max_len - 1):
            tgt_mask = generate_square_subsequent_mask(ys.size(0)).type(torch.bool)
            out = model.decode(ys, memory, tgt_mask)
            out = out.transpose(0, 1)
            prob = model.generator(out[:, -1])
            _, next_word = torch.max(prob, dim=1)
            next_word = next_word.item()
            ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)
            if next_word == EOS_IDX:
                break
        return ys

    model.eval()
    with torch.no_grad():
        correct = 0
        for seq, target in pairs[:6]:
            src = tensor_transform(seq).view(-1, 1)
            num_tokens = src.shape[0]
            src_mask = torch.zeros(num_tokens, num_tokens).type(torch.bool)
            tokens = greedy_decode(model, src, src_mask, max_len=num_tokens + 2, start_symbol=BOS_IDX).flatten()
            correct += int(tokens[1:-1].tolist() == target)
            print(f"decoded length {len(seq)} {tokens.sum().item():.15e}")
        print(f"exact reversals {correct:.15e}")

        # the causal mask: the last position of a full pass equals the output of the prefix alone
        src, tgt = collate_fn(pairs[:2])
        memory = model.encode(src, None)
        full = model.decode(tgt, memory, generate_square_subsequent_mask(tgt.size(0)).double())
        prefix = model.decode(tgt[:3], memory, generate_square_subsequent_mask(3).double())
        print(f"prefix equals the causal pass below 1e-12 {float((full[:3] - prefix).abs().max() < 1e-12):.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)

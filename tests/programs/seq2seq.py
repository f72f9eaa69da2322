"""A sequence-to-sequence model with attention in the style of the well-known translation
tutorial: a GRU encoder (batch_first) and a GRU decoder with additive (Bahdanau) attention, the
decoder's first input made by torch.empty(...).fill_(SOS), teacher forcing on a coin drawn from
NumPy, otherwise the decoder's own topk(1) guess fed back .detach()ed, the scores through
F.softmax and torch.bmm, torch.cat of the steps, NLLLoss on log_softmax, one Adam per network,
data through TensorDataset and DataLoader. The task: reverse a sequence of digits. Weights and
coins come from NumPy, so torch and retrograd print the same losses.
"""

import numpy as np

SOS, EOS = 0, 1
MAX_LENGTH = 6


def main(torch, epochs=6, hidden_size=16, teacher_forcing_ratio=0.5):
    nn, F = torch.nn, torch.nn.functional
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset

    class EncoderRNN(nn.Module):
        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
            self.dropout = nn.Dropout(0.0)

        def forward(self, input):
            embedded = self.dropout(self.embedding(input))
            output, hidden = self.gru(embedded)
            return output, hidden

    class BahdanauAttention(nn.Module):
        def __init__(self, hidden_size):
            super().__init__()
            self.Wa = nn.Linear(hidden_size, hidden_size)
            self.Ua = nn.Linear(hidden_size, hidden_size)
            self.Va = nn.Linear(hidden_size, 1)

        def forward(self, query, keys):
            scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
            scores = scores.squeeze(2).unsqueeze(1)
            weights = F.softmax(scores, dim=-1)
            context = torch.bmm(weights, keys)
            return context, weights

    class AttnDecoderRNN(nn.Module):
        def __init__(self, hidden_size, output_size):
            super().__init__()
            self.embedding = nn.Embedding(output_size, hidden_size)
            self.attention = BahdanauAttention(hidden_size)
            self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
            self.out = nn.Linear(hidden_size, output_size)

        def forward(self, encoder_outputs, encoder_hidden, target_tensor=None, coins=()):
            batch_size = encoder_outputs.size(0)
            decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS)
            decoder_hidden = encoder_hidden
            decoder_outputs, attentions = [], []
            for i in range(MAX_LENGTH):
                decoder_output, decoder_hidden, attn_weights = self.forward_step(
                    decoder_input, decoder_hidden, encoder_outputs)
                decoder_outputs.append(decoder_output)
                attentions.append(attn_weights)
                if target_tensor is not None and coins[i]:
                    decoder_input = target_tensor[:, i].unsqueeze(1)  # teacher forcing
                else:
                    _, topi = decoder_output.topk(1)
                    decoder_input = topi.squeeze(-1).detach()
            decoder_outputs = torch.cat(decoder_outputs, dim=1)
            decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
            attentions = torch.cat(attentions, dim=1)
            return decoder_outputs, decoder_hidden, attentions

        def forward_step(self, input, hidden, encoder_outputs):
            embedded = self.embedding(input)
            query = hidden.permute(1, 0, 2)
            context, attn_weights = self.attention(query, encoder_outputs)
            input_gru = torch.cat((embedded, context), dim=2)
            output, hidden = self.gru(input_gru, hidden)
            output = self.out(output)
            return output, hidden, attn_weights

    rng = np.random.default_rng(0)
    n_words = 8  # SOS, EOS and the digits 2..7
    pairs = []
    for _ in range(24):
        length = int(rng.integers(2, MAX_LENGTH))
        seq = rng.integers(2, n_words, length)
        src = np.zeros(MAX_LENGTH, dtype=np.int64)
        tgt = np.zeros(MAX_LENGTH, dtype=np.int64)
        src[:length], src[length] = seq, EOS
        tgt[:length], tgt[length] = seq[::-1], EOS
        pairs.append((src, tgt))
    input_ids = torch.from_numpy(np.stack([p[0] for p in pairs]))
    target_ids = torch.from_numpy(np.stack([p[1] for p in pairs]))
    train_dataloader = DataLoader(TensorDataset(input_ids, target_ids), batch_size=8)

    encoder = EncoderRNN(n_words, hidden_size).double()
    decoder = AttnDecoderRNN(hidden_size, n_words).double()
    with torch.no_grad():
        for p in list(encoder.parameters()) + list(decoder.parameters()):
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.3, tuple(p.shape))))
    encoder_optimizer = torch.optim.Adam(encoder.parameters(), lr=0.01)
    decoder_optimizer = torch.optim.Adam(decoder.parameters(), lr=0.01)
    criterion = nn.NLLLoss()

    for epoch in range(1, epochs + 1):
        total_loss = 0
        for data in train_dataloader:
            input_tensor, target_tensor = data
            encoder_optimizer.zero_grad()
            decoder_optimizer.zero_grad()
            encoder_outputs, encoder_hidden = encoder(input_tensor)
            coins = rng.random(MAX_LENGTH) < teacher_forcing_ratio
            decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor, coins)
            loss = criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)),
                             target_tensor.view(-1))
            loss.backward()
            encoder_optimizer.step()
            decoder_optimizer.step()
            total_loss += loss.item()
        print(f"epoch {epoch} loss {total_loss / len(train_dataloader):.15e}")

    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        encoder_outputs, encoder_hidden = encoder(input_ids[:4])
        decoder_outputs, _, attentions = decoder(encoder_outputs, encoder_hidden)
        _, topi = decoder_outputs.topk(1)
        decoded_ids = topi.squeeze()
    assert tuple(attentions.shape) == (4, MAX_LENGTH, MAX_LENGTH)
    assert decoded_ids.dtype == torch.int64 and tuple(decoded_ids.shape) == (4, MAX_LENGTH)
    print(f"attention row sums {attentions.sum(-1).mean().item():.15e}")
    print(f"greedy token accuracy {(decoded_ids == target_ids[:4]).double().mean().item():.15e}")
    print(f"decoded {decoded_ids[0].tolist()}")


if __name__ == "__main__":
    from _run import script
    script(main)

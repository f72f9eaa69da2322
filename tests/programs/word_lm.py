"""A word-level language model in the style of the well-known example: a corpus turned into a
Dictionary of ids, batchify/get_batch on a (seq, batch) tensor, Embedding -> LSTM -> Linear with
the decoder's weight tied to the encoder's, the hidden state made by weight.new_zeros and
carried across batches by repackage_hidden (.detach()), NLLLoss on log_softmax, plain SGD by
p.data.add_(p.grad, alpha=-lr) after clip_grad_norm_, evaluation under no_grad, and the
learning rate divided by 4 by hand when the validation loss stops improving. The weights start
from one NumPy stream, so torch and retrograd print the same losses.
"""

import math

import numpy as np

TEXT = ("the cat sat on the mat . the dog sat on the log . a cat saw a dog . "
        "the dog saw the cat on the mat . a bird sat on the dog . the cat ran . "
        "a dog ran on the log . the bird saw a cat . the cat sat on a bird . a dog sat . ")


class Dictionary:
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


def tokenize(torch, dictionary, text):
    for word in text.split() + ["<eos>"]:
        dictionary.add_word(word)
    ids = [dictionary.word2idx[w] for w in text.split() + ["<eos>"]]
    return torch.tensor(ids).type(torch.int64)


def main(torch, epochs=4, bptt=5, lr=20.0, clip=0.25):
    nn, F = torch.nn, torch.nn.functional

    class RNNModel(nn.Module):
        def __init__(self, ntoken, ninp, nhid, nlayers, dropout=0.0, tie_weights=True):
            super().__init__()
            self.ntoken = ntoken
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
            self.decoder = nn.Linear(nhid, ntoken)
            if tie_weights:
                if nhid != ninp:
                    raise ValueError("When using the tied flag, nhid must be equal to emsize")
                self.decoder.weight = self.encoder.weight
            self.nhid, self.nlayers = nhid, nlayers

        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            output = self.drop(output)
            decoded = self.decoder(output)
            decoded = decoded.view(-1, self.ntoken)
            return F.log_softmax(decoded, dim=1), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))

    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        return data.view(bsz, -1).t().contiguous()

    def get_batch(source, i):
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i:i + seq_len]
        target = source[i + 1:i + 1 + seq_len].view(-1)
        return data, target

    def repackage_hidden(h):
        if isinstance(h, torch.Tensor):
            return h.detach()
        return tuple(repackage_hidden(v) for v in h)

    dictionary = Dictionary()
    words = TEXT.split()
    train = tokenize(torch, dictionary, " ".join(words[:-16]))
    valid = tokenize(torch, dictionary, " ".join(words[-16:]))
    train_data, val_data = batchify(train, 4), batchify(valid, 2)
    ntokens = len(dictionary)

    model = RNNModel(ntokens, 10, 10, 2).double()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied: the shared weight is listed once
            p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, tuple(p.shape))))
    assert model.decoder.weight is model.encoder.weight
    print(f"parameters {float(sum(p.numel() for p in model.parameters())):.15e}")
    criterion = nn.NLLLoss()

    def evaluate(data_source, bsz):
        model.eval()
        total_loss = 0.0
        hidden = model.init_hidden(bsz)
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, bptt):
                data, targets = get_batch(data_source, i)
                output, hidden = model(data, hidden)
                hidden = repackage_hidden(hidden)
                total_loss += len(data) * criterion(output, targets).item()
        return total_loss / (len(data_source) - 1)

    best_val_loss = None
    for epoch in range(1, epochs + 1):
        model.train()
        hidden = model.init_hidden(4)
        for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            data, targets = get_batch(train_data, i)
            model.zero_grad()
            hidden = repackage_hidden(hidden)
            output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            print(f"epoch {epoch} batch {batch} loss {loss.item():.15e}")
            print(f"epoch {epoch} batch {batch} grad norm {grad_norm.item():.15e}")
        val_loss = evaluate(val_data, 2)
        print(f"epoch {epoch} valid loss {val_loss:.15e}")
        print(f"epoch {epoch} valid ppl {math.exp(val_loss):.15e}")
        if not best_val_loss or val_loss < best_val_loss:
            best_val_loss = val_loss
        else:
            lr /= 4.0
        print(f"epoch {epoch} lr {lr:.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)

"""A small speech recogniser in the style of the DeepSpeech-like tutorials: waveforms cut into
overlapping frames by Tensor.unfold, a Hann window from torch.hann_window, a real DFT as matrix
products with cos/sin bases (torch.outer of arange), log power spectra by torch.log1p, per-utterance
normalisation with mean/std(keepdim=True) over the valid frames only (a mask from
arange(T)[None] < lengths[:, None]), SpecAugment-style time and frequency masking by masked_fill
with NumPy-drawn bands, a Conv1d front end (stride 2, output lengths by floor division) feeding a
bidirectional GRU over pack_padded_sequence, log_softmax(dim=2) in (T, N, C) layout for
nn.CTCLoss(blank=0, zero_infinity=True) with padded targets and F.ctc_loss(reduction='sum') with
concatenated targets (checked against each other), AdamW with OneCycleLR and clip_grad_norm_, and
greedy decoding by argmax and torch.unique_consecutive with the blanks dropped, scored by an edit
distance. Signals and masks from NumPy, so torch and retrograd print the same numbers.
"""

import numpy as np

SYMBOLS = 5  # labels 1..4, 0 is the CTC blank


def synth(rng, labels, rate=400, per_label=48):
    """A tone per label (its own frequency), with noise and a short pause between labels."""
    pieces = []
    for lab in labels:
        t = np.arange(per_label) / rate
        pieces.append(np.sin(2 * np.pi * (30 + 35 * lab) * t) * rng.uniform(0.6, 1.0))
        pieces.append(np.zeros(int(rng.integers(4, 12))))
    wave = np.concatenate(pieces)
    return wave + rng.normal(0.0, 0.05, wave.shape)


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, y in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (x != y))
    return d[-1]


def main(torch, steps=6, n_fft=32, hop=16, hidden=16, batch=6):
    nn, F = torch.nn, torch.nn.functional
    rng = np.random.default_rng(0)
    transcripts = [rng.integers(1, SYMBOLS, int(rng.integers(2, 5))).tolist() for _ in range(batch)]
    waves = [synth(rng, t) for t in transcripts]
    wave_lengths = torch.tensor([len(w) for w in waves])
    padded = np.zeros((batch, max(len(w) for w in waves)))
    for i, w in enumerate(waves):
        padded[i, :len(w)] = w
    audio = torch.from_numpy(padded)

    # features: framed, windowed, a real DFT by matrix products, log power
    frames = audio.unfold(-1, n_fft, hop)  # (N, T, n_fft)
    window = torch.hann_window(n_fft, dtype=torch.float64)
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)
    n = torch.arange(n_fft, dtype=torch.float64)
    angle = 2 * torch.pi * torch.outer(n, k) / n_fft
    re, im = (frames * window) @ torch.cos(angle), -((frames * window) @ torch.sin(angle))
    spec = torch.log1p(re.pow(2) + im.pow(2))  # (N, T, F)
    frame_lengths = torch.div(wave_lengths - n_fft, hop, rounding_mode="floor") + 1
    valid = torch.arange(spec.size(1))[None, :] < frame_lengths[:, None]
    m = valid.unsqueeze(-1).to(spec.dtype)
    count = m.sum(dim=1, keepdim=True)
    mean = (spec * m).sum(dim=1, keepdim=True) / count
    std = (((spec - mean) * m).pow(2).sum(dim=1, keepdim=True) / (count - 1)).sqrt()
    features = ((spec - mean) / (std + 1e-5)).masked_fill(~valid.unsqueeze(-1), 0.0)
    print(f"feature frames {spec.size(1)} {features.abs().sum().item():.15e}")

    class Recognizer(nn.Module):
        def __init__(self, n_feats):
            super().__init__()
            self.conv = nn.Conv1d(n_feats, hidden, kernel_size=3, stride=2, padding=1)
            self.rnn = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
            self.classifier = nn.Linear(2 * hidden, SYMBOLS)

        def output_lengths(self, lengths):
            return torch.div(lengths + 2 * 1 - 3, 2, rounding_mode="floor") + 1

        def forward(self, x, lengths):
            x = F.gelu(self.conv(x.transpose(1, 2))).transpose(1, 2)  # (N, T', H)
            out_lengths = self.output_lengths(lengths)
            packed = nn.utils.rnn.pack_padded_sequence(x, out_lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.rnn(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
            return self.classifier(out), out_lengths

    model = Recognizer(spec.size(2)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.3, tuple(p.shape))))
    targets = nn.utils.rnn.pad_sequence([torch.tensor(t) for t in transcripts], batch_first=True)
    target_lengths = torch.tensor([len(t) for t in transcripts])
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-2, total_steps=steps)
    for step in range(steps):
        x = features.clone()
        f0 = int(rng.integers(0, x.size(2) - 3))  # SpecAugment: one frequency band, one time band
        t0 = int(rng.integers(0, x.size(1) - 4))
        x[:, :, f0:f0 + 3] = 0.0
        frame = torch.arange(x.size(1))
        x = x.masked_fill(((frame >= t0) & (frame < t0 + 2)).view(1, -1, 1), 0.0)
        logits, out_lengths = model(x, frame_lengths)
        log_probs = F.log_softmax(logits, dim=2).transpose(0, 1)  # (T, N, C)
        loss = ctc(log_probs, targets, out_lengths, target_lengths)
        optimizer.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        print(f"step {step} ctc loss {loss.item():.15e}")
        print(f"step {step} grad norm {norm.item():.15e}")

    model.eval()
    with torch.no_grad():
        logits, out_lengths = model(features, frame_lengths)
        log_probs = F.log_softmax(logits, dim=2).transpose(0, 1)
        mean_loss = F.ctc_loss(log_probs, targets, out_lengths, target_lengths, reduction="none")
        flat = torch.cat([torch.tensor(t) for t in transcripts])
        summed = F.ctc_loss(log_probs, flat, out_lengths, target_lengths, reduction="sum")
        print(f"per-utterance losses {mean_loss.sum().item():.15e}")
        print(f"padded vs concatenated targets below 1e-10 {float(abs(summed - mean_loss.sum()) < 1e-10):.15e}")
        # an impossible alignment (target longer than the input) is inf, zeroed by zero_infinity
        short = F.ctc_loss(log_probs[:2], targets, torch.full((batch,), 2), target_lengths, reduction="none")
        print(f"impossible alignments {torch.isinf(short).sum().item():.15e}")
        zeroed = nn.CTCLoss(zero_infinity=True, reduction="none")(log_probs[:2], targets, torch.full((batch,), 2),
                                                                  target_lengths)
        print(f"zeroed by zero_infinity {(zeroed == 0).sum().item():.15e}")
        best = logits.argmax(dim=2)
        errors = 0
        for i in range(batch):
            path = best[i, :out_lengths[i]]
            collapsed = torch.unique_consecutive(path)
            decoded = collapsed[collapsed != 0].tolist()
            errors += edit_distance(decoded, transcripts[i])
        print(f"character error rate {errors / target_lengths.sum().item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)

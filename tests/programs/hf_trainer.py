"""A Hugging Face-style multi-task fine-tuning loop, written the way transformers' models and
Trainer are: a config object with to_dict, an embeddings module with a non-persistent
position_ids buffer (register_buffer(persistent=False), absent from the state_dict), a
bidirectional GRU encoder fed by pack_padded_sequence(lengths.cpu(), enforce_sorted=False) and
read back with pad_packed_sequence(total_length=...), an ELMo-style scalar mix over the layers in
an nn.ParameterList, task heads in an nn.ModuleDict, outputs as an OrderedDict, a data collator
that pads with pad_sequence and builds the attention mask and -100 labels, batches moved with
{k: v.to(device)}, AdamW over the no_decay = ["bias", "LayerNorm.weight"] groups,
get_linear_schedule_with_warmup as a LambdaLR, gradient accumulation through a disabled
torch.amp.GradScaler, clip_grad_norm_, model.zero_grad(), a checkpoint dict (with the scaler's
state and torch.get_rng_state()) through torch.save / torch.load(weights_only=True) mid-training
into fresh objects, evaluation under torch.no_grad(), resize_token_embeddings, and a
load_state_dict(strict=False) report. Weights from NumPy, so torch and retrograd print the same
losses.
"""

import io
from collections import OrderedDict

import numpy as np


def main(torch, epochs=3, batch_size=4, gradient_accumulation_steps=2):
    nn, F = torch.nn, torch.nn.functional
    rnn_utils = nn.utils.rnn
    data = torch.utils.data
    device = torch.device("cpu")

    class Config:
        def __init__(self, vocab_size=12, hidden_size=8, num_labels=2, num_tags=3, max_position_embeddings=12,
                     pad_token_id=0, num_hidden_layers=2, layer_norm_eps=1e-12):
            self.vocab_size = vocab_size
            self.hidden_size = hidden_size
            self.num_labels = num_labels
            self.num_tags = num_tags
            self.max_position_embeddings = max_position_embeddings
            self.pad_token_id = pad_token_id
            self.num_hidden_layers = num_hidden_layers
            self.layer_norm_eps = layer_norm_eps

        def to_dict(self):
            return dict(self.__dict__)

    class Embeddings(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size,
                                                padding_idx=config.pad_token_id)
            self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
            self.dropout = nn.Dropout(0.0)
            self.register_buffer("position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)),
                                 persistent=False)

        def forward(self, input_ids):
            seq_length = input_ids.size(1)
            position_ids = self.position_ids[:, :seq_length]
            embeddings = self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
            return self.dropout(self.LayerNorm(embeddings))

    class Encoder(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.layer = nn.ModuleList([nn.GRU(config.hidden_size, config.hidden_size // 2, batch_first=True,
                                               bidirectional=True) for _ in range(config.num_hidden_layers)])

        def forward(self, hidden_states, lengths):
            all_hidden_states = []
            for gru in self.layer:
                packed = rnn_utils.pack_padded_sequence(hidden_states, lengths.cpu(), batch_first=True,
                                                        enforce_sorted=False)
                output, _ = gru(packed)
                hidden_states, _ = rnn_utils.pad_packed_sequence(output, batch_first=True,
                                                                 total_length=hidden_states.size(1))
                all_hidden_states.append(hidden_states)
            return all_hidden_states

    class ScalarMix(nn.Module):
        def __init__(self, mixture_size):
            super().__init__()
            self.scalar_parameters = nn.ParameterList([nn.Parameter(torch.tensor([0.0])) for _ in range(mixture_size)])
            self.gamma = nn.Parameter(torch.tensor([1.0]))

        def forward(self, tensors):
            normed_weights = torch.softmax(torch.cat([p for p in self.scalar_parameters]), dim=0)
            pieces = [weight * tensor for weight, tensor in zip(torch.split(normed_weights, 1), tensors)]
            return self.gamma * sum(pieces)

    class ModelForMultiTask(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.embeddings = Embeddings(config)
            self.encoder = Encoder(config)
            self.scalar_mix = ScalarMix(config.num_hidden_layers)
            self.heads = nn.ModuleDict({
                "classification": nn.Linear(config.hidden_size, config.num_labels),
                "tagging": nn.Linear(config.hidden_size, config.num_tags),
            })

        def get_input_embeddings(self):
            return self.embeddings.word_embeddings

        def set_input_embeddings(self, value):
            self.embeddings.word_embeddings = value

        def num_parameters(self, only_trainable=False):
            return sum(p.numel() for p in self.parameters() if p.requires_grad or not only_trainable)

        def resize_token_embeddings(self, new_num_tokens):
            old = self.get_input_embeddings()
            new = nn.Embedding(new_num_tokens, old.embedding_dim, padding_idx=old.padding_idx)
            new.to(old.weight.device, dtype=old.weight.dtype)
            n = min(old.num_embeddings, new_num_tokens)
            with torch.no_grad():
                new.weight[:n, :] = old.weight[:n, :]
                new.weight[n:, :] = old.weight[1:n].mean(dim=0, keepdim=True)  # new rows: the mean embedding
            self.set_input_embeddings(new)
            self.config.vocab_size = new_num_tokens
            return new

        def forward(self, input_ids, attention_mask, lengths, labels=None, tag_labels=None):
            hidden = self.embeddings(input_ids)
            sequence_output = self.scalar_mix(self.encoder(hidden, lengths))
            mask = attention_mask.unsqueeze(-1).to(sequence_output.dtype)
            pooled = (sequence_output * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            logits = self.heads["classification"](pooled)
            tag_logits = self.heads["tagging"](sequence_output)
            loss = None
            if labels is not None:
                loss_fct = nn.CrossEntropyLoss()  # ignore_index=-100: the padded tags
                loss = F.cross_entropy(logits.view(-1, self.config.num_labels), labels.view(-1))
                loss = loss + loss_fct(tag_logits.view(-1, self.config.num_tags), tag_labels.view(-1))
            return OrderedDict(loss=loss, logits=logits, tag_logits=tag_logits)

    class DataCollatorWithPadding:
        def __init__(self, pad_token_id):
            self.pad_token_id = pad_token_id

        def __call__(self, features):
            input_ids = [torch.tensor(f["input_ids"], dtype=torch.long) for f in features]
            tags = [torch.tensor(f["tags"], dtype=torch.long) for f in features]
            padded = rnn_utils.pad_sequence(input_ids, batch_first=True, padding_value=self.pad_token_id)
            return {
                "input_ids": padded,
                "attention_mask": (padded != self.pad_token_id).long(),
                "lengths": torch.tensor([len(x) for x in input_ids]),
                "labels": torch.tensor([f["label"] for f in features]),
                "tag_labels": rnn_utils.pad_sequence(tags, batch_first=True, padding_value=-100),
            }

    def get_linear_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps, last_epoch=-1):
        def lr_lambda(current_step):
            if current_step < num_warmup_steps:
                return float(current_step) / float(max(1, num_warmup_steps))
            return max(0.0, float(num_training_steps - current_step)
                       / float(max(1, num_training_steps - num_warmup_steps)))
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, last_epoch)

    rng = np.random.default_rng(0)
    config = Config()

    def example(i):  # label: whether token 3 occurs; tags: a token's residue mod 3
        length = int(rng.integers(3, 9))
        ids = rng.integers(1, config.vocab_size, length)
        return {"input_ids": ids.tolist(), "label": int((ids == 3).any()), "tags": (ids % 3).tolist()}

    train_dataset = [example(i) for i in range(24)]
    eval_dataset = [example(i) for i in range(8)]
    collator = DataCollatorWithPadding(config.pad_token_id)
    train_dataloader = data.DataLoader(train_dataset, sampler=data.SequentialSampler(train_dataset),
                                       batch_size=batch_size, collate_fn=collator)
    eval_dataloader = data.DataLoader(eval_dataset, batch_size=batch_size, collate_fn=collator)

    init = np.random.default_rng(1)

    def build(config):
        model = ModelForMultiTask(config).to(device=device, dtype=torch.float64)
        return model

    model = build(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "scalar_parameters" in name or name.endswith("gamma"):
                continue
            p.copy_(torch.from_numpy(init.normal(0.0, 0.3, tuple(p.shape))))
    assert "embeddings.position_ids" not in model.state_dict()
    assert dict(model.named_buffers())["embeddings.position_ids"].shape == (1, config.max_position_embeddings)
    print(f"trainable parameters {float(model.num_parameters(only_trainable=True)):.15e}")

    def make_optimizer(model):
        no_decay = ["bias", "LayerNorm.weight"]
        optimizer_grouped_parameters = [
            {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)],
             "weight_decay": 0.01},
            {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
             "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(optimizer_grouped_parameters, lr=2e-2, eps=1e-8)

    t_total = len(train_dataloader) // gradient_accumulation_steps * epochs
    optimizer = make_optimizer(model)
    scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=2, num_training_steps=t_total)
    scaler = torch.amp.GradScaler("cpu", enabled=False)  # fp16=False

    global_step, save_steps = 0, 4
    tr_loss = torch.tensor(0.0, dtype=torch.float64)
    model.zero_grad()
    for epoch in range(epochs):
        for step, batch in enumerate(train_dataloader):
            model.train()
            batch = {k: v.to(device) for k, v in batch.items()}
            outputs = model(**batch)
            loss = outputs["loss"] / gradient_accumulation_steps
            scaler.scale(loss).backward()
            tr_loss += loss.detach()
            if (step + 1) % gradient_accumulation_steps == 0:
                scaler.unscale_(optimizer)
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                model.zero_grad()
                global_step += 1
                print(f"step {global_step} loss {tr_loss.item():.15e}")
                print(f"step {global_step} grad norm {grad_norm.item():.15e}")
                print(f"step {global_step} lr {scheduler.get_last_lr()[0]:.15e}")
                tr_loss.zero_()
                if global_step == save_steps:  # save, then go on from fresh objects loaded from the file
                    buffer = io.BytesIO()
                    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                                "global_step": global_step, "rng_state": torch.get_rng_state(),
                                "config": model.config.to_dict()}, buffer)
                    buffer.seek(0)
                    checkpoint = torch.load(buffer, weights_only=True)
                    model = build(Config(**checkpoint["config"]))
                    model.load_state_dict(checkpoint["model"])
                    optimizer = make_optimizer(model)  # made first, then loaded, as Trainer's resume
                    scheduler = get_linear_schedule_with_warmup(optimizer, 2, t_total)
                    optimizer.load_state_dict(checkpoint["optimizer"])
                    scheduler.load_state_dict(checkpoint["scheduler"])
                    scaler.load_state_dict(checkpoint["scaler"])
                    torch.set_rng_state(checkpoint["rng_state"])
                    assert checkpoint["global_step"] == global_step
                    assert scheduler.get_last_lr() == [g["lr"] for g in optimizer.param_groups]

    def evaluate(model):
        model.eval()
        eval_loss, nb_eval_steps, correct, tag_correct, tag_total = 0.0, 0, 0, 0, 0
        for batch in eval_dataloader:
            batch = {k: v.to(device) for k, v in batch.items()}
            with torch.no_grad():
                outputs = model(**batch)
            eval_loss += outputs["loss"].mean().item()
            nb_eval_steps += 1
            correct += (outputs["logits"].argmax(dim=-1) == batch["labels"]).sum().item()
            active = batch["tag_labels"] != -100
            tag_pred = outputs["tag_logits"].argmax(dim=-1)
            tag_correct += (tag_pred[active] == batch["tag_labels"][active]).sum().item()
            tag_total += active.sum().item()
        return eval_loss / nb_eval_steps, correct / len(eval_dataset), tag_correct / tag_total, outputs["logits"]

    eval_loss, accuracy, tag_accuracy, logits = evaluate(model)
    print(f"eval loss {eval_loss:.15e}")
    print(f"eval accuracy {accuracy:.15e}")
    print(f"eval tag accuracy {tag_accuracy:.15e}")
    mix = torch.softmax(torch.cat(list(model.scalar_mix.scalar_parameters)), dim=0)
    print(f"scalar mix first weight {mix[0].item():.15e}")

    model.resize_token_embeddings(config.vocab_size + 2)
    assert model.get_input_embeddings().weight.shape == (config.vocab_size + 2, config.hidden_size)
    _, _, _, resized_logits = evaluate(model)
    print(f"logits unchanged by resize below 1e-12 {float((resized_logits - logits).abs().max() < 1e-12):.15e}")

    state = {k: v for k, v in model.state_dict().items() if not k.startswith("heads.tagging")}
    result = build(Config(vocab_size=config.vocab_size + 2)).load_state_dict(state, strict=False)
    assert sorted(result.missing_keys) == ["heads.tagging.bias", "heads.tagging.weight"]
    assert result.unexpected_keys == []


if __name__ == "__main__":
    from _run import script
    script(main)

"""Knowledge distillation in the style of the common tutorials and repositories: a larger teacher
CNN trained first, then a smaller student trained on the soft targets: the Hinton loss
nn.KLDivLoss(reduction="batchmean", log_target=True) on log_softmax(logits / T) of both,
scaled by T**2, mixed with the hard-label CrossEntropyLoss; the same loss written by
F.kl_div(log_target=False) on the teacher's softmax, and by hand (checked equal); a FitNets
feature-hint term (a 1x1 Conv2d regressor to the teacher's channel count, MSELoss) and an
attention-transfer term (F.normalize of the channel-mean of squared features); the teacher frozen
in eval() with its logits taken under torch.no_grad(); parameter counts by numel(); SGD with
nesterov momentum under MultiStepLR; accuracies by argmax. Weights and data from NumPy, so torch
and retrograd print the same numbers.
"""

import numpy as np


def main(torch, teacher_steps=4, student_steps=6, classes=4, T=4.0, alpha=0.7, side=8):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(inplace=True))
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.classifier = nn.Linear(2 * width, classes)

        def forward(self, x):
            feats = self.features(x)
            return self.classifier(torch.flatten(self.pool(feats), 1)), feats

    def attention_map(fm):
        return F.normalize(fm.pow(2).mean(1).view(fm.size(0), -1))

    def init(model, rng):
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.from_numpy(rng.normal(0.0, 0.3, tuple(p.shape))))

    rng = np.random.default_rng(0)
    n = 48
    labels = np.arange(n) % classes
    images = rng.normal(0.0, 0.3, (n, 1, side, side))
    for i, c in enumerate(labels):  # class c: a bright stripe at row 2c
        images[i, 0, 2 * c:2 * c + 2, :] += 1.0
    x, y = torch.from_numpy(images), torch.from_numpy(labels)

    teacher, student = Net(8).double(), Net(3).double()
    init(teacher, rng)
    init(student, rng)
    n_teacher = sum(p.numel() for p in teacher.parameters())
    n_student = sum(p.numel() for p in student.parameters() if p.requires_grad)
    print(f"student over teacher parameters {n_student / n_teacher:.15e}")

    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(teacher.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    for step in range(teacher_steps):
        optimizer.zero_grad()
        logits, _ = teacher(x)
        loss = criterion(logits, y)
        loss.backward()
        optimizer.step()
        print(f"teacher step {step} loss {loss.item():.15e}")
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad = False

    regressor = nn.Conv2d(6, 16, kernel_size=1).double()
    init(regressor, rng)
    kd_criterion = nn.KLDivLoss(reduction="batchmean", log_target=True)
    hint_criterion = nn.MSELoss()
    params = list(student.parameters()) + list(regressor.parameters())
    optimizer = torch.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2, 4], gamma=0.5)
    for step in range(student_steps):
        student.train()
        with torch.no_grad():
            teacher_logits, teacher_feats = teacher(x)
        student_logits, student_feats = student(x)
        soft_student = F.log_softmax(student_logits / T, dim=-1)
        soft_teacher = F.log_softmax(teacher_logits / T, dim=-1)
        distill = kd_criterion(soft_student, soft_teacher) * (T * T)
        hard = criterion(student_logits, y)
        hint = hint_criterion(regressor(student_feats), teacher_feats)
        at = (attention_map(student_feats) - attention_map(teacher_feats)).pow(2).mean()
        loss = alpha * distill + (1 - alpha) * hard + 0.1 * hint + at
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if step == 0:  # the same soft loss by F.kl_div on probabilities, and by hand
            by_probs = F.kl_div(soft_student, soft_teacher.exp(), reduction="batchmean") * T * T
            p = soft_teacher.exp()
            by_hand = (p * (soft_teacher - soft_student)).sum() / x.size(0) * T * T
            worst = max(abs(by_probs - distill), abs(by_hand - distill))
            print(f"kl forms agree below 1e-12 {float(worst < 1e-12):.15e}")
            elementwise = F.kl_div(soft_student, soft_teacher, reduction="none", log_target=True)
            assert elementwise.shape == soft_student.shape
        print(f"student step {step} distill {distill.item():.15e}")
        print(f"student step {step} hard {hard.item():.15e}")
        print(f"student step {step} hint {hint.item():.15e}")
        print(f"student step {step} attention {at.item():.15e}")
        print(f"student step {step} lr {scheduler.get_last_lr()[0]:.15e}")

    student.eval()
    with torch.no_grad():
        t_acc = (teacher(x)[0].argmax(1) == y).float().mean()
        s_acc = (student(x)[0].argmax(1) == y).float().mean()
    print(f"teacher accuracy {t_acc.item():.15e}")
    print(f"student accuracy {s_acc.item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)

"""Neural style transfer as the PyTorch tutorial writes it, on a small frozen VGG-like network:
a Normalization module with mean/std buffers, ContentLoss and StyleLoss modules (gram matrices by
torch.mm of the flattened features, divided by the element count) inserted after chosen layers
of a new nn.Sequential built by walking cnn.children() with add_module, the model trimmed after
the last loss, the frozen network (requires_grad_(False), eval()), the input image a tensor with
requires_grad optimised by LBFGS through a closure that clamps it in place under torch.no_grad(),
and the same losses recomputed by feature extraction with register_forward_hook on the original
network (handles removed after), a full backward hook counting its calls, a total-variation
term, and F.interpolate to resize the style image. Weights from NumPy, so torch and retrograd
print the same losses.
"""

import numpy as np


def main(torch, num_steps=12, size=12, style_weight=1e4, content_weight=1.0):
    nn, F = torch.nn, torch.nn.functional
    rng = np.random.default_rng(0)

    cnn = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True),
    ).double()
    with torch.no_grad():
        for p in cnn.parameters():
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.3, tuple(p.shape))))
    cnn = cnn.eval().requires_grad_(False)
    assert not any(p.requires_grad for p in cnn.parameters())

    cnn_normalization_mean = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64)
    cnn_normalization_std = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64)

    yy, xx = np.meshgrid(np.linspace(0, 1, size), np.linspace(0, 1, size), indexing="ij")
    content_img = torch.from_numpy(np.stack([yy, xx, 0.5 * (yy + xx)])[None].copy())
    style_big = torch.from_numpy(((np.sin(np.arange(2 * size) * 1.3)[:, None]
                                   * np.cos(np.arange(2 * size) * 0.7)[None, :]) * 0.5 + 0.5)[None, None]
                                 .repeat(3, axis=1) * np.array([1.0, 0.6, 0.3])[None, :, None, None])
    style_img = F.interpolate(style_big, size=(size, size), mode="bilinear", align_corners=False)
    assert style_img.size() == content_img.size()

    class Normalization(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            self.register_buffer("mean", torch.as_tensor(mean).view(-1, 1, 1))
            self.register_buffer("std", torch.as_tensor(std).view(-1, 1, 1))

        def forward(self, img):
            return (img - self.mean) / self.std

    def gram_matrix(input):
        a, b, c, d = input.size()
        features = input.view(a * b, c * d)
        G = torch.mm(features, features.t())
        return G.div(a * b * c * d)

    class ContentLoss(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target = target.detach()

        def forward(self, input):
            self.loss = F.mse_loss(input, self.target)
            return input

    class StyleLoss(nn.Module):
        def __init__(self, target_feature):
            super().__init__()
            self.target = gram_matrix(target_feature).detach()

        def forward(self, input):
            self.loss = F.mse_loss(gram_matrix(input), self.target)
            return input

    content_layers, style_layers = ["conv_3"], ["conv_1", "conv_2", "conv_3", "conv_4"]

    def get_style_model_and_losses(cnn, style_img, content_img):
        normalization = Normalization(cnn_normalization_mean, cnn_normalization_std)
        content_losses, style_losses = [], []
        model = nn.Sequential(normalization)
        i = 0
        for layer in cnn.children():
            if isinstance(layer, nn.Conv2d):
                i += 1
                name = f"conv_{i}"
            elif isinstance(layer, nn.ReLU):
                name = f"relu_{i}"
                layer = nn.ReLU(inplace=False)  # the in-place one would change what the losses saw
            elif isinstance(layer, nn.MaxPool2d):
                name = f"pool_{i}"
            else:
                raise RuntimeError(f"Unrecognized layer: {layer.__class__.__name__}")
            model.add_module(name, layer)
            if name in content_layers:
                target = model(content_img).detach()
                content_loss = ContentLoss(target)
                model.add_module(f"content_loss_{i}", content_loss)
                content_losses.append(content_loss)
            if name in style_layers:
                target_feature = model(style_img).detach()
                style_loss = StyleLoss(target_feature)
                model.add_module(f"style_loss_{i}", style_loss)
                style_losses.append(style_loss)
        for i in range(len(model) - 1, -1, -1):
            if isinstance(model[i], ContentLoss) or isinstance(model[i], StyleLoss):
                break
        model = model[:(i + 1)]
        return model, style_losses, content_losses

    model, style_losses, content_losses = get_style_model_and_losses(cnn, style_img, content_img)
    assert isinstance(model[-1], StyleLoss) and len(style_losses) == 4
    print(f"model length {float(len(model)):.15e}")

    # the same losses by feature extraction: forward hooks on the original network's convolutions
    activations = {}

    def save_output(name):
        def hook(module, inputs, output):
            activations[name] = output.clone()  # (the in-place ReLU after it writes over output)
        return hook

    convs = [m for m in cnn.modules() if isinstance(m, nn.Conv2d)]
    handles = [conv.register_forward_hook(save_output(f"conv_{k + 1}")) for k, conv in enumerate(convs)]
    normalize = model[0]

    def features(img):
        activations.clear()
        cnn(normalize(img))
        return dict(activations)

    style_targets = {name: gram_matrix(f) for name, f in features(style_img).items()}
    content_target = features(content_img)["conv_3"]

    input_img = content_img.clone()
    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = torch.optim.LBFGS([input_img])

    backward_calls = []
    backward_handle = model.conv_2.register_full_backward_hook(
        lambda module, grad_input, grad_output: backward_calls.append(grad_output[0].shape))

    run = [0]
    while run[0] <= num_steps:
        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = 0
            content_score = 0
            for sl in style_losses:
                style_score += sl.loss
            for cl in content_losses:
                content_score += cl.loss
            style_score *= style_weight
            content_score *= content_weight
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            if run[0] % 4 == 0:
                print(f"run {run[0]} style loss {style_score.item():.15e}")
                print(f"run {run[0]} content loss {content_score.item():.15e}")
            return style_score + content_score
        optimizer.step(closure)
    with torch.no_grad():
        input_img.clamp_(0, 1)
    backward_handle.remove()
    assert len(backward_calls) == run[0] and backward_calls[0] == (1, 6, size, size)

    # the hooks see the result as the loss modules did
    with torch.no_grad():
        model(input_img)
        found = features(input_img)
        hooked_style = sum(F.mse_loss(gram_matrix(found[name]), style_targets[name]) for name in style_layers)
        module_style = sum(sl.loss for sl in style_losses)
        tv = (torch.sum(torch.abs(input_img[:, :, :, :-1] - input_img[:, :, :, 1:]))
              + torch.sum(torch.abs(input_img[:, :, :-1, :] - input_img[:, :, 1:, :])))
    for handle in handles:
        handle.remove()
    assert not cnn[0]._forward_hooks
    print(f"hooked vs module style loss below 1e-12 {float(abs(hooked_style - module_style).item() < 1e-12):.15e}")
    print(f"final style loss {module_style.item():.15e}")
    print(f"final content loss {F.mse_loss(found['conv_3'], content_target).item():.15e}")
    print(f"total variation {tv.item():.15e}")
    print(f"image range {input_img.min().item():.15e}")
    print(f"image max {input_img.max().item():.15e}")
    print(f"lbfgs func evals {float(optimizer.state[input_img]['func_evals']):.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)

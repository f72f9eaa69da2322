"""The programs of this folder run under retrograd and print what torch prints.

Each program is ``main(torch)`` in plain torch idiom; it runs here in-process under retrograd,
and its printed losses are compared with torch's: computed by running the same text under torch
where torch is installed, recorded by ``python tests/reference/record.py tests/programs/`` where
it is not (the digest of the program's source marks a recorded value stale when it changes).
"""

import ast
import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

import retrograd
from tests.helpers import requires_torch
from tests.programs import (actor_critic, bilstm_crf, char_rnn, checkpoint, common_errors, ctc_speech, custom_parts,
                            dataloader_workers, dcgan, deprecations, diffusion, distillation, dqn, finetune, flow,
                            gaussian_process, gnn, hf_trainer, mixed_precision, moe, nanogpt, per_sample_grads, ppo,
                            regression, resnet, seq2seq, siamese, simclr, sngan, style_transfer, tabular,
                            text_classifier, timeseries, transformer_translation, unet, vae, vit, wgan_gp, word_lm)
from tests.reference.store import reference

try:
    import torch
except ImportError:
    torch = None

RTOL = 1e-6


@pytest.fixture(autouse=True)
def restore_backend_switches():
    """A program may set process-wide switches as scripts do (nanoGPT's allow_tf32 = True): put them back
    for the tests after it, in both libraries."""
    libraries = [m for m in (retrograd, torch) if m is not None]
    saved = [(m, m.get_float32_matmul_precision(), m.backends.cudnn.allow_tf32) for m in libraries]
    yield
    for m, precision, cudnn_tf32 in saved:
        m.set_float32_matmul_precision(precision)
        m.backends.cudnn.allow_tf32 = cudnn_tf32


def printed(main, library, *args, **kwargs):
    """What ``main(library, ...)`` prints, as its lines."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(library, *args, **kwargs)
    return out.getvalue().splitlines()


def numbers(lines):
    """{label: value} of the lines 'label ... value' that end in a number."""
    found = {}
    for line in lines:
        label, _, value = line.rpartition(" ")
        if re.fullmatch(r"-?\d\.\d+e[+-]\d+", value):
            found[label] = float(value)
    assert found, lines
    return found


def torch_numbers(program, main, *args, **kwargs):
    """torch's printed numbers for ``main``: run under torch, or as recorded from torch."""
    source = Path(program.__file__).read_text()

    def compute():
        got = numbers(printed(main, torch, *args, **kwargs))
        return {"labels": list(got), "values": np.array(list(got.values()))}

    ref = reference(compute, inputs=(source, args, sorted(kwargs.items())))
    return dict(zip(ref["labels"], ref["values"]))


def assert_same_numbers(ours, theirs, rtol=RTOL):
    assert list(ours) == list(theirs)
    a, b = np.array(list(ours.values())), np.array(list(theirs.values()))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0)


def test_regression_prints_torchs_losses():
    ours = numbers(printed(regression.main, retrograd))
    assert len(ours) == 11 and ours["step 299 loss"] < ours["step 0 loss"] / 100
    assert_same_numbers(ours, torch_numbers(regression, regression.main))


def test_char_rnn_prints_torchs_losses_and_samples_the_texts_characters():
    lines = printed(char_rnn.main, retrograd)
    assert_same_numbers(numbers(lines), torch_numbers(char_rnn, char_rnn.main))
    sample = ast.literal_eval(lines[-1].removeprefix("sample "))  # the repr it printed
    assert len(sample) == 41 and set(sample) <= set(char_rnn.TEXT)
    assert sample != char_rnn.TEXT[:41]  # drawn, not copied


def test_dataloader_with_workers_gives_the_batches_of_zero_workers_and_torchs_losses():
    with_workers = numbers(printed(dataloader_workers.main, retrograd, num_workers=2))
    assert with_workers == numbers(printed(dataloader_workers.main, retrograd, num_workers=0))
    assert len(with_workers) == 6
    assert_same_numbers(with_workers, torch_numbers(dataloader_workers, dataloader_workers.main,
                                                    num_workers=0))


def test_dataloader_with_workers_keeps_a_shuffled_sampler_order():
    shuffled = numbers(printed(dataloader_workers.main, retrograd, num_workers=2, shuffle=True, seed=5))
    assert shuffled == numbers(printed(dataloader_workers.main, retrograd, num_workers=0, shuffle=True,
                                       seed=5))
    assert shuffled != numbers(printed(dataloader_workers.main, retrograd, num_workers=0))


def _straight_and_resumed(found):
    straight = {k.removeprefix("straight "): v for k, v in found.items() if k.startswith("straight")}
    resumed = {k.removeprefix("resumed "): v for k, v in found.items() if k.startswith("resumed")}
    return straight, resumed


def test_checkpoint_resume_continues_the_uninterrupted_run(tmp_path):
    ours = numbers(printed(checkpoint.main, retrograd, str(tmp_path / "ckpt.pt")))
    straight, resumed = _straight_and_resumed(ours)
    assert len(straight) == 12 and resumed == straight  # exactly: the state came back whole
    theirs = torch_numbers(checkpoint, lambda lib: checkpoint.main(lib, str(tmp_path / "torch.pt")))
    assert_same_numbers(ours, theirs)


@requires_torch
def test_retrograds_checkpoint_loads_in_torch(tmp_path):
    path = tmp_path / "ckpt.pt"
    printed(checkpoint.main, retrograd, str(path))
    theirs = torch.load(path, weights_only=True)
    ours = retrograd.load(path, weights_only=True)
    assert theirs["step"] == ours["step"] == 6
    assert list(theirs["model"]) == list(ours["model"])
    for name, value in ours["model"].items():
        assert theirs["model"][name].dtype == torch.float64
        np.testing.assert_array_equal(theirs["model"][name].numpy(), value.numpy())
    assert theirs["optimizer"]["param_groups"] == ours["optimizer"]["param_groups"]
    for i, state in ours["optimizer"]["state"].items():
        for key, value in state.items():
            np.testing.assert_array_equal(theirs["optimizer"]["state"][i][key].numpy(), value.numpy())
    # and torch trains on from it, as from its own checkpoint
    model, optimizer = checkpoint.make(torch, seed=1)
    model.load_state_dict(theirs["model"])
    optimizer.load_state_dict(theirs["optimizer"])


def test_dcgan_prints_torchs_losses_and_discriminator_outputs():
    ours = numbers(printed(dcgan.main, retrograd))
    assert len(ours) == 8 * 5 + 1
    assert_same_numbers(ours, torch_numbers(dcgan, dcgan.main))


def test_word_language_model_with_tied_weights_prints_torchs_losses_and_lr_decay():
    ours = numbers(printed(word_lm.main, retrograd))
    assert ours["epoch 2 lr"] == 20.0 and ours["epoch 3 lr"] == 5.0  # divided by 4 once
    assert_same_numbers(ours, torch_numbers(word_lm, word_lm.main))


def test_seq2seq_with_attention_prints_torchs_losses():
    ours = numbers(printed(seq2seq.main, retrograd))
    assert ours["epoch 6 loss"] < ours["epoch 1 loss"]
    assert_same_numbers(ours, torch_numbers(seq2seq, seq2seq.main))


def test_actor_critic_walks_torchs_episodes_and_prints_its_losses():
    ours = numbers(printed(actor_critic.main, retrograd))
    assert retrograd.get_default_dtype() == retrograd.float32  # set back
    assert_same_numbers(ours, torch_numbers(actor_critic, actor_critic.main))


def test_resnet_under_onecycle_and_cosine_prints_torchs_losses_and_rates():
    ours = numbers(printed(resnet.main, retrograd))
    assert ours["onecycle epoch 1 batch 0 lr"] < 1e-5  # the cycle's floor, max_lr / 25 / 1e4
    assert_same_numbers(ours, torch_numbers(resnet, resnet.main))


def test_vit_prints_torchs_losses_under_warmup_then_cosine():
    ours = numbers(printed(vit.main, retrograd))
    assert ours["unfold vs conv max difference below 1e-12"] == 1
    assert_same_numbers(ours, torch_numbers(vit, vit.main))


def test_unet_prints_torchs_losses_dice_and_plateau_rates():
    ours = numbers(printed(unet.main, retrograd))
    assert min(v for k, v in ours.items() if k.endswith(" lr")) < 1e-3  # the plateau cut it
    assert_same_numbers(ours, torch_numbers(unet, unet.main))


def test_siamese_network_prints_torchs_contrastive_triplet_and_cosine_losses():
    ours = numbers(printed(siamese.main, retrograd))
    assert_same_numbers(ours, torch_numbers(siamese, siamese.main))


def test_time_series_with_packed_sequences_and_a_state_dict_round_trip_prints_torchs_losses():
    ours = numbers(printed(timeseries.main, retrograd))
    assert ours["best val loss"] == min(v for k, v in ours.items() if k.endswith("val loss"))
    assert_same_numbers(ours, torch_numbers(timeseries, timeseries.main))


def test_simclr_prints_torchs_contrastive_losses_and_linear_probe():
    ours = numbers(printed(simclr.main, retrograd))
    for step in range(6):  # the fill_diagonal_ mask and the masked softmax give one loss
        assert abs(ours[f"step {step} nt-xent"] - ours[f"step {step} masked-softmax form"]) < 1e-12
    assert_same_numbers(ours, torch_numbers(simclr, simclr.main))


def test_wgan_gp_prints_torchs_losses_through_a_checkpointed_gradient_penalty():
    ours = numbers(printed(wgan_gp.main, retrograd))
    assert ours["ema updates"] == 4
    assert_same_numbers(ours, torch_numbers(wgan_gp, wgan_gp.main))


def test_nanogpt_prints_torchs_losses_and_samples_from_its_top_k():
    lines = printed(nanogpt.main, retrograd)
    ours = numbers(lines)
    assert ours["sdpa vs masked softmax below 1e-12"] == 1
    assert ours["num decayed parameter tensors"] == 10  # the weights: dim >= 2, the tied one once
    assert ours["iter 7 loss"] < ours["iter 0 loss"]
    sample = ast.literal_eval(lines[-1].removeprefix("sample "))  # drawn from the top 4
    assert len(sample) == 16 and sample.startswith("first ") and set(sample) <= set(nanogpt.TEXT)
    assert_same_numbers(ours, torch_numbers(nanogpt, nanogpt.main))


def test_vae_prints_torchs_losses_and_its_kl_equals_the_distributions_one():
    ours = numbers(printed(vae.main, retrograd))
    assert abs(ours["closed-form kl"] - ours["distributions kl"]) < 1e-12 * ours["closed-form kl"]
    assert abs(ours["bernoulli log likelihood"] + ours["bce with logits"]) < 1e-9
    assert ours["epoch 3 average loss"] < ours["epoch 1 average loss"]
    assert_same_numbers(ours, torch_numbers(vae, vae.main))


def test_gnn_message_passing_by_scatter_prints_torchs_losses():
    ours = numbers(printed(gnn.main, retrograd))
    assert ours["message passing vs dense gcn below 1e-12"] == 1
    assert ours["edges after coalesce"] < ours["edges before and after coalesce"]  # duplicates dropped
    assert ours["epoch 5 loss"] < ours["epoch 0 loss"]
    assert_same_numbers(ours, torch_numbers(gnn, gnn.main))


def test_hf_style_trainer_resumes_from_its_checkpoint_and_prints_torchs_losses():
    ours = numbers(printed(hf_trainer.main, retrograd))
    assert ours["step 2 lr"] == 2e-2 and ours["step 9 lr"] == 0.0  # linear warm-up, then decay to 0
    assert ours["logits unchanged by resize below 1e-12"] == 1
    assert ours["step 9 loss"] < ours["step 1 loss"]
    assert_same_numbers(ours, torch_numbers(hf_trainer, hf_trainer.main))


def test_tabular_model_stops_early_and_prints_torchs_losses():
    ours = numbers(printed(tabular.main, retrograd))
    stop = int(ours["early stop epoch"])
    assert stop < 11 and ours["best valid loss"] == min(ours[f"epoch {e} valid loss"] for e in range(stop + 1))
    assert abs(ours["restored valid loss"] - ours["best valid loss"]) < 1e-12
    assert_same_numbers(ours, torch_numbers(tabular, tabular.main))


def test_style_transfer_by_lbfgs_on_the_image_prints_torchs_losses():
    ours = numbers(printed(style_transfer.main, retrograd))
    assert ours["hooked vs module style loss below 1e-12"] == 1
    assert ours["final style loss"] < ours["run 4 style loss"] / 1000
    assert 0 <= ours["image range"] and ours["image max"] <= 1  # clamped
    assert_same_numbers(ours, torch_numbers(style_transfer, style_transfer.main))


def test_custom_function_optimizer_and_scheduler_subclasses_print_torchs_losses():
    ours = numbers(printed(custom_parts.main, retrograd))
    assert ours["reversal is -0.3 times the gradient below 1e-12"] == 1
    assert ours["weight norm identity below 1e-12"] == 1
    assert ours["step 9 loss"] < ours["step 0 loss"] and ours["step 9 lr"] == 1e-3  # the cosine's floor
    assert_same_numbers(ours, torch_numbers(custom_parts, custom_parts.main))


def test_dqn_with_replay_memory_and_soft_target_updates_prints_torchs_returns_and_losses():
    ours = numbers(printed(dqn.main, retrograd))
    assert max(v for k, v in ours.items() if k.endswith(" return")) > 0.9  # it reached the goal
    assert 0 < ours["target minus policy abs sum"]  # the target lags behind the policy
    assert_same_numbers(ours, torch_numbers(dqn, dqn.main))


def test_ddpm_diffusion_prints_torchs_losses_schedule_and_samples():
    ours = numbers(printed(diffusion.main, retrograd))
    assert ours["alphas_cumprod last"] < 0.01  # the schedule ends near pure noise
    assert ours["step 5 lr"] == 2e-3 and ours["step 0 lr"] < ours["step 1 lr"]  # the warm-up, then flat
    assert_same_numbers(ours, torch_numbers(diffusion, diffusion.main))


def test_mixture_of_experts_prints_torchs_losses_and_routing():
    ours = numbers(printed(moe.main, retrograd))
    assert ours["sparse vs dense below 1e-6"] == 1
    assert ours["expert parameters with gradients"] == 1  # every expert got tokens
    assert ours["step 5 ce"] < ours["step 0 ce"]
    assert_same_numbers(ours, torch_numbers(moe, moe.main))


def test_realnvp_flow_prints_torchs_likelihoods_and_its_log_det_is_the_jacobians():
    ours = numbers(printed(flow.main, retrograd))
    assert ours["inverse undoes forward below 1e-12"] == 1
    assert ours["slogdet minus log_det below 1e-10"] == 1 and ours["jacobian sign"] == 1
    assert ours["step 7 nll"] < ours["step 0 nll"]
    assert_same_numbers(ours, torch_numbers(flow, flow.main))


def test_knowledge_distillation_prints_torchs_losses():
    ours = numbers(printed(distillation.main, retrograd))
    assert ours["kl forms agree below 1e-12"] == 1
    assert ours["student step 5 lr"] == 0.0125  # MultiStepLR halved it twice
    assert_same_numbers(ours, torch_numbers(distillation, distillation.main))


def test_ppo_prints_torchs_losses_and_diagnostics():
    ours = numbers(printed(ppo.main, retrograd))
    assert sum(ours[f"iteration {i} episodes ended"] for i in (1, 2, 3)) > 0  # the walks reach the ends
    assert 0 <= ours["iteration 3 clipfrac"] <= 1
    assert_same_numbers(ours, torch_numbers(ppo, ppo.main))


def test_per_sample_gradients_by_torch_func_print_torchs_numbers():
    ours = numbers(printed(per_sample_grads.main, retrograd))
    for check in ("vmap grad vs loop", "ensemble vs loop", "jacrev vs autograd.functional",
                  "hessian vs autograd.functional", "u.Jv equals uJ.v"):
        assert ours[f"{check} below 1e-12"] == 1, check
    assert ours["grad_and_value loss"] == ours["step 3 loss"]
    assert_same_numbers(ours, torch_numbers(per_sample_grads, per_sample_grads.main))


def test_text_classifier_with_embedding_bag_and_a_bucketing_sampler_prints_torchs_losses():
    ours = numbers(printed(text_classifier.main, retrograd))
    assert ours["masked mean vs bag below 1e-12"] == 1 and ours["padding row gradient abs sum"] == 0
    assert ours["functional mean bag equals the module's"] == 1
    assert ours["epoch 3 valid loss"] < ours["epoch 1 valid loss"]
    assert_same_numbers(ours, torch_numbers(text_classifier, text_classifier.main))


def test_mixed_precision_under_autocast_and_grad_scaler_prints_torchs_losses_and_scales():
    ours = numbers(printed(mixed_precision.main, retrograd))
    assert ours["step 3 skipped"] == 1 and ours["step 3 scale"] == ours["step 2 scale"] / 2  # the overflow
    assert ours["step 4 loss"] == ours["step 3 loss"]  # the skipped step left the weights
    assert sum(ours[f"step {s} skipped"] for s in range(6)) == 1
    assert "autocast dtypes bfloat16 float32 float32 bfloat16 bfloat16 bfloat16" in ours
    assert_same_numbers(ours, torch_numbers(mixed_precision, mixed_precision.main))


def test_transformer_translation_prints_torchs_losses_and_greedy_decodes():
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask"):  # as torch's
        ours = numbers(printed(transformer_translation.main, retrograd))
    assert ours["prefix equals the causal pass below 1e-12"] == 1
    assert ours["epoch 3 train loss"] < ours["epoch 1 train loss"]
    assert_same_numbers(ours, torch_numbers(transformer_translation, transformer_translation.main))


def test_ctc_speech_recogniser_prints_torchs_losses_and_error_rate():
    ours = numbers(printed(ctc_speech.main, retrograd))
    assert ours["padded vs concatenated targets below 1e-10"] == 1
    assert ours["impossible alignments"] == ours["zeroed by zero_infinity"] > 0
    assert ours["step 5 ctc loss"] < ours["step 0 ctc loss"]
    assert_same_numbers(ours, torch_numbers(ctc_speech, ctc_speech.main))


def test_gaussian_process_prints_torchs_marginal_likelihoods_and_predictions():
    ours = numbers(printed(gaussian_process.main, retrograd))
    assert ours["cholesky vs MultivariateNormal below 1e-12"] == 1 and ours["slogdet vs cholesky below 1e-10"] == 1
    assert ours["mvn kl vs closed form below 1e-8"] == 1
    assert ours["lbfgs step 2 loss"] < ours["initial loss"]
    assert_same_numbers(ours, torch_numbers(gaussian_process, gaussian_process.main))


def test_finetuning_with_hooks_swa_fusion_and_pruning_prints_torchs_numbers():
    with pytest.warns(UserWarning, match="Full backward hook is firing"):  # no input requires grad, as torch warns
        ours = numbers(printed(finetune.main, retrograd))
    assert ours["missing keys fc.weight fc.bias"] == 2 and ours["unexpected keys projection.weight"] == 1
    assert ours["fused conv-bn equals conv then bn below 1e-12"] == 1
    assert ours["averaged models"] == 2 and ours["backward hook calls"] == 16
    assert 0.29 < ours["pruned sparsity"] < 0.31
    assert_same_numbers(ours, torch_numbers(finetune, finetune.main))


def test_bilstm_crf_tagger_prints_torchs_likelihoods_and_viterbi_paths():
    ours = numbers(printed(bilstm_crf.main, retrograd))
    assert ours["forward algorithm vs brute force below 1e-12"] == 1
    assert ours["embedding norms above max_norm before"] > 0 and ours["embedding norms above max_norm after lookup"] \
        < ours["embedding norms above max_norm before"]  # the looked-up rows renormalised in place
    assert ours["epoch 3 nll"] < ours["epoch 0 nll"]
    assert_same_numbers(ours, torch_numbers(bilstm_crf, bilstm_crf.main))


def test_spectrally_normalised_gan_with_parametrizations_prints_torchs_losses():
    ours = numbers(printed(sngan.main, retrograd))
    assert ours["symmetric after the copy below 1e-15"] == 1
    assert ours["generator parametrized original is upper triangular"] == 1  # right_inverse's triu
    assert abs(ours["fc1 spectral norm"] - 1) < 1e-3 and ours["cached weight is one tensor"] == 1
    assert_same_numbers(ours, torch_numbers(sngan, sngan.main))


def test_common_mistakes_raise_and_warn_with_torchs_types():
    ours = numbers(printed(common_errors.main, retrograd))
    assert len(ours) == 112
    assert "backward twice: RuntimeError silent" in ours and "embedding index out of range: IndexError silent" in ours
    assert "softmax without dim: ok UserWarning" in ours and "T of a 3-d tensor: ok UserWarning" in ours
    assert_same_numbers(ours, torch_numbers(common_errors, common_errors.main))  # the labels carry the types


def test_deprecated_idioms_and_impossible_settings_answer_with_torchs_types():
    ours = numbers(printed(deprecations.main, retrograd))
    assert len(ours) == 55
    assert "meshgrid without indexing: ok UserWarning" in ours and "chain_matmul: ok UserWarning" in ours
    assert "randperm of a negative count: RuntimeError silent" in ours
    assert_same_numbers(ours, torch_numbers(deprecations, deprecations.main))  # the labels carry the types

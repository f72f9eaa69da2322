"""Proximal Policy Optimization in the style of the single-file implementations (CleanRL-like), on
a small vectorised NumPy environment: an Agent of orthogonally initialised layers
(nn.init.orthogonal_ with gain np.sqrt(2), constant_ bias; then replaced from NumPy so both
libraries start equal) with get_value and get_action_and_value through Categorical(logits=...),
rollout storage preallocated with torch.zeros((num_steps, num_envs) + shape), actions drawn by
inverse-CDF on NumPy uniforms, GAE computed by a reversed loop and the discounted returns by
torch.flip and a cumulative form (checked against the loop), minibatches by a NumPy permutation,
logratio.exp(), approx_kl and clipfracs under no_grad, advantage normalisation, the clipped
surrogate with torch.max of the two losses and torch.clamp(ratio, 1 - eps, 1 + eps), the clipped
value loss, the entropy bonus, Adam(eps=1e-5) with a learning rate annealed by hand through
param_groups, and nn.utils.clip_grad_norm_. Torch and retrograd print the same numbers.
"""

import numpy as np


class LineWorld:
    """num_envs walks on 0..size-1 from the middle; +1 at the right end, -1 at the left, 0.01 cost."""

    def __init__(self, num_envs, size=7):
        self.num_envs, self.size = num_envs, size
        self.pos = np.full(num_envs, size // 2)

    def observe(self):
        obs = np.zeros((self.num_envs, self.size))
        obs[np.arange(self.num_envs), self.pos] = 1.0
        return obs

    def step(self, actions):
        self.pos = self.pos + np.where(actions == 1, 1, -1)
        reward = np.full(self.num_envs, -0.01)
        right, left = self.pos == self.size - 1, self.pos == 0
        reward[right], reward[left] = 1.0, -1.0
        done = right | left
        self.pos[done] = self.size // 2
        return self.observe(), reward, done.astype(np.float64)


def main(torch, iterations=3, num_envs=4, num_steps=16, update_epochs=2, num_minibatches=2, gamma=0.95,
         gae_lambda=0.9, clip_coef=0.2, ent_coef=0.01, vf_coef=0.5, learning_rate=3e-3):
    nn = torch.nn
    Categorical = torch.distributions.Categorical
    env = LineWorld(num_envs)
    obs_dim, n_actions = env.size, 2

    def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
        torch.nn.init.orthogonal_(layer.weight, std)
        torch.nn.init.constant_(layer.bias, bias_const)
        return layer

    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.critic = nn.Sequential(layer_init(nn.Linear(obs_dim, 16)), nn.Tanh(),
                                        layer_init(nn.Linear(16, 1), std=1.0))
            self.actor = nn.Sequential(layer_init(nn.Linear(obs_dim, 16)), nn.Tanh(),
                                       layer_init(nn.Linear(16, n_actions), std=0.01))

        def get_value(self, x):
            return self.critic(x)

        def get_action_and_value(self, x, action=None, uniform=None):
            logits = self.actor(x)
            probs = Categorical(logits=logits)
            if action is None:  # inverse CDF on the uniforms handed in
                cdf = probs.probs.cumsum(-1)
                action = (cdf < uniform.unsqueeze(-1)).sum(-1).clamp(max=n_actions - 1)
            return action, probs.log_prob(action), probs.entropy(), self.critic(x)

    rng = np.random.default_rng(0)
    agent = Agent().double()
    w = agent.actor[0].weight
    assert torch.allclose(w.T @ w, 2 * torch.eye(obs_dim, dtype=torch.float64), atol=1e-5)  # orthogonal, gain sqrt(2)
    with torch.no_grad():
        for p in agent.parameters():
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.5, tuple(p.shape))))
    optimizer = torch.optim.Adam(agent.parameters(), lr=learning_rate, eps=1e-5)

    obs = torch.zeros((num_steps, num_envs, obs_dim), dtype=torch.float64)
    actions = torch.zeros((num_steps, num_envs), dtype=torch.long)
    logprobs = torch.zeros((num_steps, num_envs), dtype=torch.float64)
    rewards = torch.zeros((num_steps, num_envs), dtype=torch.float64)
    dones = torch.zeros((num_steps, num_envs), dtype=torch.float64)
    values = torch.zeros((num_steps, num_envs), dtype=torch.float64)
    batch_size = num_envs * num_steps
    minibatch_size = batch_size // num_minibatches

    next_obs = torch.from_numpy(env.observe())
    next_done = torch.zeros(num_envs, dtype=torch.float64)
    for iteration in range(1, iterations + 1):
        frac = 1.0 - (iteration - 1.0) / iterations
        optimizer.param_groups[0]["lr"] = frac * learning_rate
        for step in range(num_steps):
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                uniform = torch.from_numpy(rng.random(num_envs))
                action, logprob, _, value = agent.get_action_and_value(next_obs, uniform=uniform)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            o, r, d = env.step(action.cpu().numpy())
            rewards[step] = torch.tensor(r).view(-1)
            next_obs, next_done = torch.Tensor(o).double(), torch.Tensor(d).double()

        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
            returns = advantages + values
            # Monte-Carlo returns two ways: a reversed loop, and torch.flip around a running sum
            mc = torch.zeros_like(rewards)
            running = torch.zeros(num_envs, dtype=torch.float64)
            for t in reversed(range(num_steps)):
                running = rewards[t] + gamma * running * (1.0 - (dones[t + 1] if t + 1 < num_steps else next_done))
                mc[t] = running
            flipped = torch.flip(rewards, dims=[0])
            discounts = gamma ** torch.arange(num_steps, dtype=torch.float64)
            no_done = (dones.sum() == 0) and (next_done.sum() == 0)
            if no_done:  # without episode ends, sum_k gamma^k r_{t+k} by a cumsum of the flipped rewards
                by_flip = torch.flip(torch.cumsum(flipped * discounts.flip(0).unsqueeze(1), 0), [0])
                assert torch.allclose(by_flip / discounts.flip(0).unsqueeze(1), mc)
        print(f"iteration {iteration} mean return-to-go {mc.mean().item():.15e}")
        print(f"iteration {iteration} episodes ended {dones.sum().item() + next_done.sum().item():.15e}")

        b_obs = obs.reshape((-1, obs_dim))
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)
        clipfracs = []
        for epoch in range(update_epochs):
            b_inds = rng.permutation(batch_size)
            for start in range(0, batch_size, minibatch_size):
                mb_inds = torch.from_numpy(b_inds[start:start + minibatch_size])
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions.long()[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                with torch.no_grad():
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > clip_coef).float().mean().item()]
                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()
                newvalue = newvalue.view(-1)
                v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                v_clipped = b_values[mb_inds] + torch.clamp(newvalue - b_values[mb_inds], -clip_coef, clip_coef)
                v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                v_loss = 0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
                optimizer.step()
        y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y
        print(f"iteration {iteration} policy loss {pg_loss.item():.15e}")
        print(f"iteration {iteration} value loss {v_loss.item():.15e}")
        print(f"iteration {iteration} entropy {entropy_loss.item():.15e}")
        print(f"iteration {iteration} old approx kl {old_approx_kl.item():.15e}")
        print(f"iteration {iteration} approx kl {approx_kl.item():.15e}")
        print(f"iteration {iteration} clipfrac {np.mean(clipfracs):.15e}")
        print(f"iteration {iteration} explained variance {explained_var:.15e}")
        print(f"iteration {iteration} lr {optimizer.param_groups[0]['lr']:.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)

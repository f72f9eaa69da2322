"""An actor-critic agent in the style of the well-known reinforcement-learning example, on a
tiny environment written here (a walk along a line to a goal): a two-headed Policy module,
Categorical(probs) with log_prob and entropy, the discounted returns built backwards and
normalised with mean() and std() plus float32's eps, smooth_l1_loss for the critic,
torch.stack(...).sum() of the per-step losses, Adam, and a running reward. Actions are drawn
from NumPy's uniform numbers through the policy's cumulative probabilities, so torch and
retrograd walk the same episodes and print the same losses.
"""

import numpy as np


class LineWalk:
    """Start in the middle of 7 cells; action 0 steps left, 1 right; reward 1 at the right
    end, -1 at the left end, -0.05 per step otherwise; at most 20 steps."""

    def __init__(self, rng, size=7):
        self.rng, self.size = rng, size

    def reset(self):
        self.pos, self.t = self.size // 2, 0
        return self.observe()

    def observe(self):
        obs = np.zeros(self.size + 1)
        obs[self.pos] = 1.0
        obs[-1] = self.t / 20
        return obs

    def step(self, action):
        self.pos += 1 if action == 1 else -1
        self.t += 1
        if self.pos == self.size - 1:
            return self.observe(), 1.0, True
        if self.pos == 0:
            return self.observe(), -1.0, True
        return self.observe(), -0.05, self.t >= 20


def main(torch, episodes=12, gamma=0.9):
    nn, F = torch.nn, torch.nn.functional
    Categorical = torch.distributions.Categorical
    eps = np.finfo(np.float32).eps.item()
    torch.set_default_dtype(torch.float64)
    try:
        run(torch, nn, F, Categorical, eps, episodes, gamma)
    finally:
        torch.set_default_dtype(torch.float32)


def run(torch, nn, F, Categorical, eps, episodes, gamma):
    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(8, 32)
            self.action_head = nn.Linear(32, 2)
            self.value_head = nn.Linear(32, 1)
            self.saved_actions = []
            self.rewards = []

        def forward(self, x):
            x = F.relu(self.affine1(x))
            action_prob = F.softmax(self.action_head(x), dim=-1)
            state_values = self.value_head(x)
            return action_prob, state_values

    rng = np.random.default_rng(0)
    model = Policy()
    assert next(model.parameters()).dtype == torch.float64  # the default dtype set above
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.3, tuple(p.shape))))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    env = LineWalk(rng)

    def select_action(state):
        state = torch.from_numpy(state).float().unsqueeze(0).double()
        probs, state_value = model(state)
        m = Categorical(probs)
        u = torch.tensor([rng.random()])
        action = (probs.detach().cumsum(-1) < u.unsqueeze(-1)).sum(-1).clamp(max=1)
        model.saved_actions.append((m.log_prob(action), state_value, m.entropy()))
        return action.item()

    def finish_episode():
        R = 0
        saved_actions = model.saved_actions
        policy_losses, value_losses, returns = [], [], []
        for r in model.rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for (log_prob, value, entropy), R in zip(saved_actions, returns):
            advantage = R - value.item()
            policy_losses.append(-log_prob * advantage - 0.01 * entropy)
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([[R]])))
        optimizer.zero_grad()
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
        loss.backward()
        optimizer.step()
        del model.rewards[:]
        del model.saved_actions[:]
        return loss

    running_reward = 0.0
    for i_episode in range(episodes):
        state, ep_reward = env.reset(), 0.0
        for t in range(1, 10000):
            action = select_action(state)
            state, reward, done = env.step(action)
            model.rewards.append(reward)
            ep_reward += reward
            if done:
                break
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        loss = finish_episode()
        print(f"episode {i_episode} steps {t} loss {loss.item():.15e}")
        print(f"episode {i_episode} running reward {running_reward:.15e}")

    with torch.no_grad():
        probs, value = model(torch.from_numpy(env.reset()).unsqueeze(0))
        m = Categorical(probs)
        sample = m.sample((5,))
    assert sample.dtype == torch.int64 and tuple(sample.shape) == (5, 1)
    print(f"start state value {value.item():.15e}")
    print(f"start state p(right) {m.probs[0, 1].item():.15e}")
    print(f"start state entropy {m.entropy().item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)

"""Deep Q-learning as the PyTorch DQN tutorial writes it, on a small deterministic NumPy
environment: a Transition namedtuple and a deque replay memory sampled with Python's random
(seeded), epsilon-greedy actions from policy_net(state).max(1).indices.view(1, 1) under
torch.no_grad(), a batch assembled by torch.cat of per-step tensors and by torch.tensor of a list
of NumPy arrays, a non-final mask (torch.tensor(tuple(map(...)), dtype=torch.bool)) used to
assign next-state values, Q(s, a) by gather, a double-DQN target through argmax(1, keepdim=True),
SmoothL1Loss, AdamW(amsgrad=True), clip_grad_value_, and the target network soft-updated by
blending the two state_dicts and load_state_dict. Weights from NumPy, so torch and retrograd
print the same losses.
"""

import math
import random
from collections import deque, namedtuple

import numpy as np

Transition = namedtuple("Transition", ("state", "action", "next_state", "reward"))


class Corridor:
    """Walk left or right along [-1, 1]; reward for reaching the right end, a small cost per step."""

    def __init__(self, rng):
        self.rng = rng

    def reset(self):
        self.x, self.v = float(self.rng.uniform(-0.3, 0.3)), 0.0
        return np.array([self.x, self.v, 1.0])

    def step(self, action):
        self.v = 0.8 * self.v + (0.1 if action == 1 else -0.1)
        self.x += self.v
        terminated = self.x >= 1.0 or self.x <= -1.0
        reward = 1.0 if self.x >= 1.0 else (-1.0 if self.x <= -1.0 else -0.01)
        return np.array([self.x, self.v, 1.0]), reward, terminated


def main(torch, num_episodes=6, max_steps=12):
    nn, F = torch.nn, torch.nn.functional
    random.seed(0)
    rng = np.random.default_rng(0)
    env = Corridor(rng)
    BATCH_SIZE, GAMMA, EPS_START, EPS_END, EPS_DECAY, TAU, LR = 8, 0.9, 0.9, 0.05, 40, 0.05, 1e-2

    class ReplayMemory:
        def __init__(self, capacity):
            self.memory = deque([], maxlen=capacity)

        def push(self, *args):
            self.memory.append(Transition(*args))

        def sample(self, batch_size):
            return random.sample(self.memory, batch_size)

        def __len__(self):
            return len(self.memory)

    class DQN(nn.Module):
        def __init__(self, n_observations, n_actions):
            super().__init__()
            self.layer1 = nn.Linear(n_observations, 16)
            self.layer2 = nn.Linear(16, 16)
            self.layer3 = nn.Linear(16, n_actions)

        def forward(self, x):
            x = F.relu(self.layer1(x))
            x = F.relu(self.layer2(x))
            return self.layer3(x)

    policy_net = DQN(3, 2).double()
    with torch.no_grad():
        for p in policy_net.parameters():
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.4, tuple(p.shape))))
    target_net = DQN(3, 2).double()
    target_net.load_state_dict(policy_net.state_dict())
    optimizer = torch.optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
    memory = ReplayMemory(200)
    criterion = nn.SmoothL1Loss()
    steps_done = 0

    def select_action(state):
        nonlocal steps_done
        sample = random.random()
        eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1.0 * steps_done / EPS_DECAY)
        steps_done += 1
        if sample > eps_threshold:
            with torch.no_grad():
                return policy_net(state).max(1).indices.view(1, 1)
        return torch.tensor([[random.randrange(2)]], dtype=torch.long)

    losses = []

    def optimize_model():
        if len(memory) < BATCH_SIZE:
            return
        transitions = memory.sample(BATCH_SIZE)
        batch = Transition(*zip(*transitions))
        non_final_mask = torch.tensor(tuple(map(lambda s: s is not None, batch.next_state)), dtype=torch.bool)
        non_final_next_states = torch.cat([s for s in batch.next_state if s is not None])
        state_batch = torch.cat(batch.state)
        action_batch = torch.cat(batch.action)
        reward_batch = torch.cat(batch.reward)
        assert torch.equal(state_batch, torch.tensor([s.squeeze(0).numpy() for s in batch.state]))

        state_action_values = policy_net(state_batch).gather(1, action_batch)
        next_state_values = torch.zeros(BATCH_SIZE, dtype=torch.float64)
        with torch.no_grad():
            best = policy_net(non_final_next_states).argmax(1, keepdim=True)  # double DQN
            next_state_values[non_final_mask] = target_net(non_final_next_states).gather(1, best).squeeze(1)
        expected_state_action_values = (next_state_values * GAMMA) + reward_batch
        loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        losses.append(loss.item())

    for i_episode in range(num_episodes):
        state = env.reset()
        state = torch.tensor(state, dtype=torch.float64).unsqueeze(0)
        total = 0.0
        for t in range(max_steps):
            action = select_action(state)
            observation, reward, terminated = env.step(action.item())
            total += reward
            reward = torch.tensor([reward], dtype=torch.float64)
            next_state = None if terminated else torch.tensor(observation, dtype=torch.float64).unsqueeze(0)
            memory.push(state, action, next_state, reward)
            state = next_state
            optimize_model()
            target_net_state_dict = target_net.state_dict()
            policy_net_state_dict = policy_net.state_dict()
            for key in policy_net_state_dict:
                target_net_state_dict[key] = policy_net_state_dict[key] * TAU + target_net_state_dict[key] * (1 - TAU)
            target_net.load_state_dict(target_net_state_dict)
            if terminated:
                break
        print(f"episode {i_episode} return {total:.15e}")
        print(f"episode {i_episode} length {float(t + 1):.15e}")
        if losses:
            print(f"episode {i_episode} mean loss {sum(losses) / len(losses):.15e}")
            losses.clear()
    with torch.no_grad():
        q = policy_net(torch.tensor([[0.0, 0.0, 1.0], [0.5, 0.1, 1.0]], dtype=torch.float64))
    print(f"q values sum {q.sum().item():.15e}")
    print(f"target minus policy abs sum {sum((a - b).abs().sum() for a, b in zip(target_net.parameters(), policy_net.parameters())).item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)

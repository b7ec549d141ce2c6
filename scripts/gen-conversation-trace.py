#!/usr/bin/env python3
"""Generate traces/conversation_mooncake.jsonl: a small multi-turn chat trace in the
Mooncake JSONL format (timestamp ms, input_length, output_length, hash_ids of 512-token
blocks), deterministically (seed 16, Python's Mersenne Twister).

It is synthetic, not production data: no public Mooncake-format trace of conversations
with a licence to ship was at hand (traces/SOURCES.md lists what is). The structure is
what a chat service sees:

- sessions start as a Poisson process (0.5 per second for 30 minutes);
- each session picks one of 8 system prompts (lengths 1,000-3,000 tokens, Zipf s = 1.0
  popularity) and has 1-8 turns (uniform);
- a turn's prompt is the system prompt, the whole conversation so far (every earlier
  message and answer) and a new user message (lognormal, mean 300 tokens, sigma 0.8);
  answers are lognormal, mean 250 tokens, sigma 0.6; the next turn comes an exponential
  think time (mean 30 s) after the previous one arrived (open loop);
- hash_ids name 512-token blocks of the prompt as Mooncake's do: two prompts share an id
  exactly when the block and everything before it are the same tokens. A block lying
  wholly in a system prompt has that prompt's id; a block of the conversation keeps its
  id in later turns once it is full; a partial last block gets an id of its own.

Usage: scripts/gen-conversation-trace.py > traces/conversation_mooncake.jsonl
"""
import math
import random
import sys

BLOCK = 512
rng = random.Random(16)


def lognormal(mean, sigma):
    mu = math.log(mean) - sigma * sigma / 2
    return max(1, int(round(rng.lognormvariate(mu, sigma))))


N_SYS = 8
sys_len = [rng.randint(1000, 3000) for _ in range(N_SYS)]
zipf_w = [1.0 / (k + 1) for k in range(N_SYS)]

ids = {}


def block_id(key):
    if key not in ids:
        ids[key] = len(ids)
    return ids[key]


def prompt_ids(session, sys_i, prompt_len):
    s = sys_len[sys_i]
    out = []
    for b in range((prompt_len + BLOCK - 1) // BLOCK):
        lo, hi = b * BLOCK, min((b + 1) * BLOCK, prompt_len)
        if hi <= s and hi - lo == BLOCK:
            key = ("sys", sys_i, b)
        elif hi - lo == BLOCK:
            key = ("conv", session, b)  # full block: fixed from now on
        else:
            key = ("tail", session, b, hi - lo)  # partial last block
        out.append(block_id(key))
    return out


events = []  # (t_ms, seq, session, sys, history, turns_left)
t = 0.0
session = 0
seq = 0
while True:
    t += rng.expovariate(0.5)
    if t >= 1800.0:
        break
    sys_i = rng.choices(range(N_SYS), weights=zipf_w)[0]
    turns = rng.randint(1, 8)
    events.append((t, seq, session, sys_i, 0, turns))
    seq += 1
    session += 1

rows = []
events.sort()
while events:
    t, _, sid, sys_i, history, left = events.pop(0)
    msg = lognormal(300, 0.8)
    out = lognormal(250, 0.6)
    prompt = sys_len[sys_i] + history + msg
    rows.append((int(round(t * 1000)), prompt, out, prompt_ids(sid, sys_i, prompt)))
    if left > 1:
        nt = t + rng.expovariate(1 / 30.0)
        if nt < 1800.0:
            events.append((nt, seq, sid, sys_i, history + msg + out, left - 1))
            seq += 1
            events.sort()

rows.sort(key=lambda r: r[0])
w = sys.stdout.write
for ts, prompt, out, h in rows:
    w('{"timestamp": %d, "input_length": %d, "output_length": %d, "hash_ids": [%s]}\n'
      % (ts, prompt, out, ", ".join(str(x) for x in h)))

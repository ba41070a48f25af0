#!/usr/bin/env python3
"""bench_sweep_optuna.py - the peer of bench_sweep_algo.c: Optuna's TPESampler
(defaults, as a user gets it) and RandomSampler on Branin and Hartmann-6,
same search spaces, trial count and seeds, same JSON lines:
  {"bench": "<name>", "value": <number or null>, "unit": "<unit>"}
plus the time of one TPE suggestion at 200 trials (2-D, 6-D) and 1,000
finished trials (6-D). WB_BENCH_SWEEP_SEEDS and WB_BENCH_SWEEP_TRIALS change 10 and 200.
Needs python3-optuna (Debian's is 3.1).
"""
import json
import math
import os
import statistics
import time

import optuna

BRANIN_MIN = 0.397887
HARTMANN6_MIN = -3.32237


def branin(x):
    a, b, c, r, s, t = 1.0, 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)
    u = x[1] - b * x[0] ** 2 + c * x[0] - r
    return a * u * u + s * (1 - t) * math.cos(x[0]) + s


ALPHA = [1.0, 1.2, 3.0, 3.2]
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
     [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
     [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
     [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
     [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def hartmann6(x):
    return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(6)))
                for i in range(4))


FNS = [
    ("branin", branin, [(-5.0, 10.0), (0.0, 15.0)], BRANIN_MIN, 0.01),
    ("hartmann6", hartmann6, [(0.0, 1.0)] * 6, HARTMANN6_MIN, 0.1),
]


def emit(name, value, unit):
    if value is not None and not math.isfinite(value):
        value = None
    print(json.dumps({"bench": name, "value": None if value is None else round(value, 6), "unit": unit}),
          flush=True)


def objective(f, space):
    def obj(trial):
        return f([trial.suggest_float("x%d" % (i + 1), lo, hi) for i, (lo, hi) in enumerate(space)])
    return obj


def sampler_of(variant, seed):
    if variant == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def run(f, space, fmin, tol, variant, seed, trials):
    study = optuna.create_study(sampler=sampler_of(variant, seed))
    study.optimize(objective(f, space), n_trials=trials)
    best, reached = math.inf, None
    for i, t in enumerate(study.trials):
        best = min(best, t.value)
        if reached is None and best - fmin <= tol:
            reached = i + 1
    return best, reached


def suggest_ms(f, space, n):
    """One TPE suggestion with n finished random trials already in the study,
    in CPU time of the process (as bench_sweep_algo.c: the machine is shared)."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(objective(f, space), n_trials=n)
    study.sampler = optuna.samplers.TPESampler(seed=1)
    times = []
    for _ in range(11):
        trial = study.ask()
        t0 = time.process_time()
        for i, (lo, hi) in enumerate(space):
            trial.suggest_float("x%d" % (i + 1), lo, hi)
        times.append((time.process_time() - t0) * 1e3)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return statistics.median(times)


def main():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seeds = int(os.environ.get("WB_BENCH_SWEEP_SEEDS", "10"))
    trials = int(os.environ.get("WB_BENCH_SWEEP_TRIALS", "200"))
    for name, f, space, fmin, tol in FNS:
        for variant in ("tpe", "random"):
            t0 = time.perf_counter()
            results = [run(f, space, fmin, tol, variant, seed, trials) for seed in range(seeds)]
            bests = [b for b, _ in results]
            reach = sorted(r if r is not None else math.inf for _, r in results)
            within = sum(1 for _, r in results if r is not None)
            prefix = "sweep_optuna_%s_%s" % (name, variant)
            emit(prefix + "_median_best", statistics.median(bests), "value")
            emit(prefix + "_seeds_within_%g" % tol, within, "seeds")
            emit(prefix + "_median_trials_to_within", statistics.median(reach), "trials")
            emit(prefix + "_seconds", time.perf_counter() - t0, "s")
    emit("sweep_optuna_tpe_suggest_200_trials_2d", suggest_ms(branin, FNS[0][2], 200), "ms")
    emit("sweep_optuna_tpe_suggest_200_trials_6d", suggest_ms(hartmann6, FNS[1][2], 200), "ms")
    emit("sweep_optuna_tpe_suggest_1000_trials_6d", suggest_ms(hartmann6, FNS[1][2], 1000), "ms")


if __name__ == "__main__":
    main()

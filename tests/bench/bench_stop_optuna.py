#!/usr/bin/env python3
"""bench_stop_optuna.py — Optuna's pruners on bench_stop's curves, the peer run.

Optuna 3.1 (Debian's python3-optuna) runs its SuccessiveHalvingPruner
(min_resource 1, reduction_factor 3) and HyperbandPruner (min_resource 1,
max_resource 81, reduction_factor 3) on exactly the curves bench_stop
simulates (`bench_stop --curves SEED`: the same N trials of T steps, wb's
random sampler's parameters and the same noise), scheduled the way
bench_stop schedules them: W workers, one step per worker per tick in worker
order, a freed worker asks for the next trial at once. Each step is
trial.report(value, step) then trial.should_prune(); a trial that reaches T
completes with its value at T (no prune check at T, as wb has no rung there).

Both of bench_stop's budgets: 100 trials, and a step budget (trials are
started until 20·T steps are spent). Output, one JSON object a line
({"bench": ..., "value": ..., "unit": ...}):
  stop_optuna_<pruner>_[budget_]best_final_median / _best_final_mean /
  _steps_mean / _trials_mean,
with the same meaning as bench_stop's lines, over the same seeds
(WB_BENCH_STOP_SEEDS, default 10).

Usage: bench_stop_optuna.py --bench-stop build/tests/bench/bench_stop
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

import optuna
from optuna.trial import TrialState

N_TRIALS = 100
WORKERS = 4
T = 81
BUDGET = 20 * T
N_CURVES = 600
SEEDS = int(os.environ.get("WB_BENCH_STOP_SEEDS", "10"))


def curves(bench_stop, seed):
    out = subprocess.run([bench_stop, "--curves", str(seed)], check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == N_CURVES and all(len(r["loss"]) == T for r in rows)
    return [r["loss"] for r in rows]


def simulate(pruner, loss, seed, max_trials, budget):
    """Best value at T, steps spent and trials started, run on WORKERS as bench_stop runs them."""
    study = optuna.create_study(
        study_name="bench-stop-%d" % seed,  # HyperbandPruner hashes it into each trial's bracket
        direction="minimize",
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=pruner,
    )
    slots = [None] * WORKERS
    started = 0
    best = float("inf")
    steps = 0
    busy = True
    while busy:
        busy = False
        for w in range(WORKERS):
            if slots[w] is None:
                if started == max_trials or (budget and steps >= budget):
                    continue
                trial = study.ask()
                assert trial.number == started  # the same trial gets the same curve
                slots[w] = [trial, 0]
                started += 1
            busy = True
            trial, t = slots[w]
            t += 1
            slots[w][1] = t
            v = loss[trial.number][t - 1]
            trial.report(v, t)
            steps += 1
            if t == T:
                study.tell(trial, v)
                best = min(best, v)
                slots[w] = None
            elif trial.should_prune():
                study.tell(trial, state=TrialState.PRUNED)
                slots[w] = None
    return best, steps, started


def emit(name, value, unit):
    print(json.dumps({"bench": name, "value": round(value, 6), "unit": unit}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-stop", required=True)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruners = {
        "sha": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3,
                                                               min_early_stopping_rate=0),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=T, reduction_factor=3),
    }
    for suffix, max_trials, budget in (("", N_TRIALS, 0), ("budget_", N_CURVES, BUDGET)):
        results = {name: ([], [], []) for name in pruners}
        for seed in range(SEEDS):
            loss = curves(args.bench_stop, seed)
            for name, make in pruners.items():
                best, steps, trials = simulate(make(), loss, seed, max_trials, budget)
                for k, x in enumerate((best, steps, trials)):
                    results[name][k].append(x)
                print("%sseed %d optuna %-9s best %.4f steps %d trials %d" % (suffix, seed, name, best, steps, trials),
                      file=sys.stderr)
        for name, (best, steps, trials) in results.items():
            emit("stop_optuna_%s_%sbest_final_median" % (name, suffix), statistics.median(best), "loss")
            emit("stop_optuna_%s_%sbest_final_mean" % (name, suffix), statistics.mean(best), "loss")
            emit("stop_optuna_%s_%ssteps_mean" % (name, suffix), statistics.mean(steps), "steps")
            emit("stop_optuna_%s_%strials_mean" % (name, suffix), statistics.mean(trials), "trials")

if __name__ == "__main__":
    main()

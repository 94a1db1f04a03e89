"""Time the commands of a bench round by round, not one command's runs
after another's (as hyperfine does): on a shared machine a burst of load
then falls on every command of a round alike. Each round runs them in a
shuffled order (the same shuffles in every run of the bench), each after
its untimed preparation, after one round of warm-up. Shuffled, not
rotated: in a rotation each command follows the same one, and a command
that leaves the disk busy (pip writing its files) can slow the one after
it, in every round alike.

  interleaved.py COMMANDS.json RUNS TITLE HAND:OURS:LABEL...

COMMANDS.json holds [name, preparation, argv] items; argv may be a list
of argvs, run one after another as one timing. Each HAND:OURS:LABEL pair
is reported against a target of 1.1x of means; a pair written
~HAND:OURS:LABEL is reported with no target (a figure to know, not one
the bench is held to).
"""
import json
import random
import statistics
import subprocess
import sys
import time

TARGET = 1.1

commands_file, runs, title, *pairs = sys.argv[1:]
runs = int(runs)
commands = json.load(open(commands_file))
times = {name: [] for name, _, _ in commands}
order = random.Random(18)
for round in range(runs + 1):
    for name, prepare, argv in order.sample(commands, len(commands)):
        steps = argv if isinstance(argv[0], list) else [argv]
        subprocess.run(["sh", "-c", prepare], check=True)
        start = time.perf_counter()
        for step in steps:
            subprocess.run(step, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if round:
            times[name].append((time.perf_counter() - start) * 1e3)
mean = {c: statistics.mean(t) for c, t in times.items()}
median = {c: statistics.median(t) for c, t in times.items()}


def row(label, c):
    t = times[c]
    sd = statistics.stdev(t) if len(t) > 1 else 0
    print(f"  {label:<34} {mean[c]:8.1f} {sd:7.1f} {median[c]:8.1f} {min(t):7.1f} ms")


print(f"{title}, {runs} interleaved rounds")
print(f"  {'':<34} {'mean':>8} {'± sd':>7} {'median':>8} {'min':>7}")
ok = True
for pair in pairs:
    held = not pair.startswith("~")
    hand, ours, label = pair.removeprefix("~").split(":", 2)
    ratio = mean[ours] / mean[hand]
    ok &= ratio <= TARGET or not held
    row(label, hand)
    row(ours, ours)
    target = f"target {TARGET}x, of means" if held else "no target"
    print(f"  {'':<34} {ratio:5.3f}x of means, {median[ours] / median[hand]:5.3f}x of medians ({target})")
print("all targets met" if ok else "SOME TARGETS MISSED")

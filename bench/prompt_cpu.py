#!/usr/bin/env python3
"""CPU time (user + sys) and wall time per run of `prompt show`, `prompt diff` and
`prompt commit` for two mlopsctl builds side by side, in a workspace seeded by
bench/run-prompts (SEED_DIR). Runs alternate between the builds (ABBA order), so
load from other processes reaches both alike; CPU time is the child's own, from
wait4's rusage, which load inflates far less than wall time. See BENCHMARKS.md.

usage: bench/prompt_cpu.py WORKSPACE BEFORE_MLOPSCTL AFTER_MLOPSCTL [--runs N] [--next PATH]
  --next: mlops-prompt-next (default: bench/ of AFTER's build dir); the commit rows
  include it, and its own row is there to subtract.
"""
import argparse
import os
import statistics
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("workspace")
ap.add_argument("before")
ap.add_argument("after")
ap.add_argument("--runs", type=int, default=60)
ap.add_argument("--next")
a = ap.parse_args()
ws = os.path.abspath(a.workspace)
bins = {"before": os.path.abspath(a.before), "after": os.path.abspath(a.after)}
nxt = a.next or os.path.join(os.path.dirname(os.path.dirname(bins["after"])), "bench", "mlops-prompt-next")
home = os.path.join(ws, ".bench", "cpu-home")
os.makedirs(home, exist_ok=True)
with open(os.path.join(home, ".gitconfig"), "w") as f:
    f.write("[user]\n\tname = bench\n\temail = bench@example.invalid\n")
env = {"PATH": "/usr/bin:/bin", "HOME": home, "LC_ALL": "C", "NO_COLOR": "1"}
bench = os.path.join(ws, ".bench")
cmds = {
    "prompt show p05000": lambda b: [b, "prompt", "show", "p05000"],
    "prompt diff p05000 3 7": lambda b: [b, "prompt", "diff", "p05000", "3", "7"],
    "prompt commit p09999 (+helper)": lambda b: [nxt, f"{bench}/commit.count", f"{bench}/p09999.yaml", b, "prompt",
                                                 "commit", "p09999", "-f", f"{bench}/p09999.yaml"],
    "mlops-prompt-next alone": lambda b: [nxt, f"{home}/control.count", f"{home}/control.yaml"],
    "--version": lambda b: [b, "--version"],
}
os.chdir(ws)
devnull = os.open("/dev/null", os.O_RDWR)
io = [(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)]
res = {}
for name, make in cmds.items():
    for i in range(a.runs):
        for label in ("before", "after") if i % 2 == 0 else ("after", "before"):
            argv = make(bins[label])
            t0 = time.monotonic()
            pid = os.posix_spawn(argv[0], argv, env, file_actions=io)
            _, status, ru = os.wait4(pid, 0)
            wall = (time.monotonic() - t0) * 1000
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"{' '.join(argv)} failed ({status})")
            res.setdefault(name, {}).setdefault(label, []).append(((ru.ru_utime + ru.ru_stime) * 1000, wall))
print(f"{a.runs} runs per build and command, alternating; load {open('/proc/loadavg').read().split()[0]} at the end")
print(f"{'command':32} {'CPU before':>10} {'CPU after':>10} {'wall before':>11} {'wall after':>11}")
for name, by in res.items():
    med = {l: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for l, v in by.items()}
    print(f"{name:32} {med['before'][0]:10.2f} {med['after'][0]:10.2f} {med['before'][1]:11.2f} {med['after'][1]:11.2f}")

#!/usr/bin/env python3
"""Kills the active parameter server (kill -9) at a random moment of a run, TRIALS times, and reports each
trial: whether the run ended with the param_hash of `dbp train --workers 2` with the same flags, and the
longest stall (the longest time no server printed a progress line). Each trial is one cluster.sh run with
two server nodes and two workers; this script kills only the server process cluster.sh reports it started.

usage: deploy/local/failover-trials.py [--trials N] [--steps N] [--seed N]
"""
import argparse, json, os, random, re, signal, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
dll = os.path.join(root, "src/DistributedBackprop.Cli/bin/Release/net10.0/dbp.dll")


def trial(n, steps, rng, reference, limit=600):
    every = 50
    training = ["train", "regression", "--steps", str(steps), "--hidden", "8,8", "--log-every", str(every)]
    logs = tempfile.mkdtemp(prefix=f"dbp-failover-{n}-")
    err_path = os.path.join(logs, "cluster.err")
    with open(err_path, "w") as err_file:
        script = subprocess.Popen([os.path.join(here, "cluster.sh"), "--servers", "2", "--logs", logs, "--timeout", str(limit), "--", *training],
                                  stdout=subprocess.PIPE, stderr=err_file, text=True)
    outs = [os.path.join(logs, "parameter-server.stdout"), os.path.join(logs, "parameter-server-2.stdout")]
    # The moment: a random step of the run's first 90%, and a random time after its line (lines are 50 steps apart).
    target, extra = rng.randrange(every, int(steps * 0.9)), rng.uniform(0, 0.3)
    seen, last_change, longest, killed_at, reached_at, active_at, first_after = [0, 0], None, 0.0, None, None, None, None
    start = time.monotonic()
    while script.poll() is None and time.monotonic() - start < limit:
        now = time.monotonic()
        for i, path in enumerate(outs):
            try:
                with open(path) as f: count = sum(1 for line in f if re.match(r"^\d+,\t", line))
            except FileNotFoundError:
                count = 0
            if count != seen[i]:
                seen[i] = count
                if last_change is not None: longest = max(longest, now - last_change)
                last_change = now
        if reached_at is None and seen[0] * every >= target: reached_at = now
        if killed_at is not None and active_at is None and "active parameter server" in open(os.path.join(logs, "parameter-server-2.log")).read():
            active_at = now
        if active_at is not None and first_after is None and seen[1] > 0: first_after = now
        if killed_at is None and reached_at is not None and now - reached_at >= extra:
            pid = re.search(r"started parameter-server \(pid (\d+)\)", open(err_path).read())
            os.kill(int(pid.group(1)), signal.SIGKILL)  # the process cluster.sh started, by the pid it printed
            killed_at = now
        time.sleep(0.05)
    out, _ = script.communicate(timeout=120)
    # The script's code counts the server killed here (137): the run's outcome is the standby's code.
    code = re.search(r"parameter-server-2 ended with exit code (\d+)", open(err_path).read())
    hash_line = [l for l in out.splitlines() if l.startswith("param_hash ")]
    got = hash_line[-1].split()[1] if hash_line else None
    resumed = re.search(r"active parameter server, from step (\d+)", open(os.path.join(logs, "parameter-server-2.log")).read())
    return {
        "trial": n, "standby_exit": int(code.group(1)) if code else None, "same_hash": got == reference["param_hash"],
        "killed_near_step": target if killed_at else None, "standby_resumed_from": int(resumed.group(1)) if resumed else None,
        "longest_stall_s": round(longest, 1),
        "kill_to_active_s": round(active_at - killed_at, 1) if active_at else None,
        "active_to_first_line_s": round(first_after - active_at, 1) if first_after else None, "logs": logs,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if not os.path.isfile(dll): sys.exit(f"failover-trials: {dll} not found: dotnet build src/DistributedBackprop.Cli -c Release")
    training = ["train", "regression", "--steps", str(a.steps), "--hidden", "8,8", "--json", "--workers", "2"]
    ref = json.loads(subprocess.run(["dotnet", dll, *training], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    print(json.dumps({"reference_param_hash": ref["param_hash"], "in_process_seconds": ref["seconds"]}), flush=True)
    rng = random.Random(a.seed)
    results = []
    for n in range(1, a.trials + 1):
        results.append(trial(n, a.steps, rng, ref))
        print(json.dumps(results[-1]), flush=True)
    ok = sum(r["same_hash"] and r["standby_exit"] == 0 for r in results)
    print(json.dumps({"trials": a.trials, "undisturbed_hash": ok, "longest_stall_s": max(r["longest_stall_s"] for r in results)}))


if __name__ == "__main__":
    main()

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
    training = ["train", "regression", "--steps", str(steps), "--hidden", "8,8", "--log-every", "200"]
    logs = tempfile.mkdtemp(prefix=f"dbp-failover-{n}-")
    script = subprocess.Popen([os.path.join(here, "cluster.sh"), "--servers", "2", "--logs", logs, "--timeout", str(limit), "--", *training],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outs = [os.path.join(logs, "parameter-server.stdout"), os.path.join(logs, "parameter-server-2.stdout")]
    seen, last_change, longest, pid, killed_at, first_at = [0, 0], None, 0.0, None, None, None
    delay = None
    start = time.monotonic()
    err_lines = []
    os.set_blocking(script.stderr.fileno(), False)
    while script.poll() is None and time.monotonic() - start < limit:
        chunk = script.stderr.read()
        if chunk:
            err_lines.append(chunk)
            m = re.search(r"started parameter-server \(pid (\d+)\)", "".join(err_lines))
            if m: pid = int(m.group(1))
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
                if first_at is None:
                    first_at = now
                    delay = rng.uniform(0, 0.8) * reference["seconds"] * 3  # a cluster step costs ~3x one in process here
        if killed_at is None and first_at is not None and pid is not None and now - first_at >= delay:
            os.kill(pid, signal.SIGKILL)
            killed_at = now
        time.sleep(0.05)
    out, rest = script.communicate(timeout=120)
    err = "".join(err_lines) + rest
    hash_line = [l for l in out.splitlines() if l.startswith("param_hash ")]
    got = hash_line[-1].split()[1] if hash_line else None
    resumed = re.search(r"active parameter server, from step (\d+)", open(os.path.join(logs, "parameter-server-2.log")).read())
    return {
        "trial": n, "exit": script.returncode, "same_hash": got == reference["param_hash"],
        "killed_after_s": round(killed_at - first_at, 1) if killed_at else None,
        "steps_before_kill_printed": seen[0] * 200, "standby_resumed_from": int(resumed.group(1)) if resumed else None,
        "longest_stall_s": round(longest, 1), "logs": logs,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--steps", type=int, default=20000)
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
    ok = sum(r["same_hash"] and r["exit"] == 0 for r in results)
    print(json.dumps({"trials": a.trials, "undisturbed_hash": ok, "longest_stall_s": max(r["longest_stall_s"] for r in results)}))


if __name__ == "__main__":
    main()

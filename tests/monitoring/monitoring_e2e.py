#!/usr/bin/env python3
"""Monitoring against the real thing.

  rules   promtool check config / check rules / test rules on monitoring/ (no warnings)
  scrape  a 2-rank training run under mpirun with --metrics-port; `promtool check metrics`
          on a live scrape of each rank; a Prometheus server (loopback, 1 s scrapes) finds
          the ranks through monitoring/write_targets' discovery file; then every query of
          every Grafana panel (and the template variables) must return data
  targets monitoring/write_targets for a Slurm job (the real scontrol expands the node list)
          and for MPI hostfiles, and its errors on bad input
  push    two short 2-rank runs push to a Pushgateway: one group per rank, replaced (not
          duplicated) by the second run's values
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_util import check, fail, run  # noqa: E402

ARGS = None
PROCESSES = []


def start(cmd, log_path, env=None):
    print("$ " + " ".join(cmd) + f"  (log: {log_path})", flush=True)
    log = open(log_path, "w")
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    PROCESSES.append(process)
    return process


def stop_all():
    for process in PROCESSES:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.time() + 10
    for process in PROCESSES:
        try:
            process.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def free_ports(count):
    """`count` consecutive TCP ports that nothing listens on (ranks use port + local rank)."""
    for _ in range(200):
        base = random.randint(20000, 60000)
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return base
        except OSError:
            pass
        finally:
            for s in sockets:
                s.close()
    fail("no free ports")


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def wait_for(what, probe, timeout, processes=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for p in processes:
            if p.poll() is not None:
                fail(f"waiting for {what}: {p.args[0]} exited with {p.returncode}")
        try:
            value = probe()
            if value:
                return value
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    fail(f"timed out after {timeout} s waiting for {what}")


def mpirun(ranks):
    return [ARGS.mpirun, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", str(ranks)]


def training(run_dir, steps, extra, data="synthetic"):
    return mpirun(2) + [ARGS.cyclegan_dist, "--data", data, "--synthetic-images", "64",
                        "--batch-size", "2", "--steps", str(steps), "--threads", "1",
                        "--sample-every", "0", "--log-every", "50", "--run-dir", run_dir] + extra


def test_rules():
    monitoring = os.path.join(ARGS.repo, "monitoring")
    for cmd in ([ARGS.promtool, "check", "config", os.path.join(monitoring, "prometheus.yml")],
                [ARGS.promtool, "check", "rules", os.path.join(monitoring, "alerts.yml")],
                [ARGS.promtool, "test", "rules", os.path.join(ARGS.repo, "tests/monitoring/alerts_test.yml")]):
        result = run(cmd, expect=None)
        print(result.stdout + result.stderr)
        check(result.returncode == 0, f"{cmd[1]} {cmd[2]} failed")
        check("WARNING" not in (result.stdout + result.stderr).upper(), f"{cmd[1]} {cmd[2]} warned")
    print("PASS: config, rules and rule unit tests")


def write_targets(work, args, env=None):
    output = os.path.join(work, "targets", "job.json")
    result = run([sys.executable, os.path.join(ARGS.repo, "monitoring/write_targets")] + args + ["--output", output],
                 env=env, expect=None)
    print(result.stdout + result.stderr)
    return result, (json.load(open(output)) if result.returncode == 0 else None)


def test_targets(work):
    # scontrol reads a slurm.conf even to expand a host list; a minimal one, no daemons.
    conf = os.path.join(work, "slurm.conf")
    open(conf, "w").write("ClusterName=test\nSlurmctldHost=localhost\n"
                          "NodeName=localhost CPUs=1 State=UNKNOWN\nPartitionName=p Nodes=localhost Default=YES\n")
    env = dict(os.environ, SLURM_CONF=conf, SLURM_JOB_ID="4711", SLURM_JOB_NODELIST="gpu[07-08],cpu1",
               SLURM_TASKS_PER_NODE="2(x2),1")
    result, groups = write_targets(work, ["--slurm", "--port", "9400"], env)
    check(result.returncode == 0, "write_targets --slurm failed")
    check(groups == [{"targets": ["gpu07:9400", "gpu07:9401"], "labels": {"job_id": "4711"}},
                     {"targets": ["gpu08:9400", "gpu08:9401"], "labels": {"job_id": "4711"}},
                     {"targets": ["cpu1:9400"], "labels": {"job_id": "4711"}}], f"Slurm targets: {groups}")
    hostfile = os.path.join(work, "hosts")
    open(hostfile, "w").write("# two nodes\nnode-a slots=4 max_slots=8\nnode-b\n")
    result, groups = write_targets(work, ["--hostfile", hostfile, "--port", "9500", "--ranks-per-node", "2"])
    check(result.returncode == 0 and groups == [{"targets": ["node-a:9500", "node-a:9501"], "labels": {}},
                                                {"targets": ["node-b:9500", "node-b:9501"], "labels": {}}],
          f"hostfile targets: {groups}")
    result, groups = write_targets(work, ["--hostfile", hostfile, "--port", "9500", "--job-id", "run7"])
    check(groups is not None and len(groups[0]["targets"]) == 4 and len(groups[1]["targets"]) == 1
          and groups[0]["labels"] == {"job_id": "run7"}, f"slots as ranks per node: {groups}")
    # Bad input: one clear message naming the problem, exit 1, the previous file intact.
    before = open(os.path.join(work, "targets", "job.json")).read()
    open(hostfile, "w").write("node-a slots=four\n")
    bad = [(["--hostfile", hostfile, "--port", "9500"], "slots=four"),
           (["--hostfile", os.path.join(work, "missing"), "--port", "9500"], "No such file"),
           (["--hostfile", hostfile, "--port", "70000"], "not a TCP port"),
           (["--slurm", "--port", "9400"], "SLURM_JOB_NODELIST")]
    for args, expected in bad:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        result, _ = write_targets(work, args, environment)
        check(result.returncode == 1 and expected in result.stderr, f"{args}: rc {result.returncode}, {result.stderr}")
    env["SLURM_TASKS_PER_NODE"] = "2(x2)"
    result, _ = write_targets(work, ["--slurm", "--port", "9400"], env)
    check(result.returncode == 1 and "2 nodes, the node list 3" in result.stderr, result.stderr)
    check(open(os.path.join(work, "targets", "job.json")).read() == before, "a failed run changed the file")
    print("PASS: Slurm and hostfile targets; bad input rejected")


def panel_queries(dashboard):
    """(panel title, expression) of every target of every panel, Grafana variables resolved
    the way the dashboard's "All" resolves them."""
    out = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            expr = expr.replace("$job_id", ".*").replace("$rank", ".+")
            expr = expr.replace("$__rate_interval", "15s").replace("$__interval", "5s")
            check("$" not in expr, f"panel '{panel['title']}': unresolved variable in {expr}")
            out.append((panel["title"], expr))
    return out


def test_scrape(work):
    port = free_ports(2)
    prometheus_port = free_ports(1)
    # The demo data set, so rank 0 can evaluate on its test split for the quality panels.
    result = run([ARGS.cyclegan_data, "demo", "--output", os.path.join(work, "demo"), "--sizes", "32"], expect=None)
    check(result.returncode == 0, f"cyclegan_data demo: {result.stderr}")
    trainer = start(training(os.path.join(work, "run"), 100000,
                             ["--metrics-port", str(port), "--checkpoint-every", "25", "--eval-every", "40",
                              "--fid-images", "4"],
                             data=os.path.join(work, "demo", "32x32")),
                    os.path.join(work, "train.log"))

    # promtool on a live scrape of each rank, once it has trained a few steps.
    for rank in (0, 1):
        url = f"http://127.0.0.1:{port + rank}/metrics"
        text = wait_for(f"rank {rank} metrics", lambda: (lambda t: t if re.search(
            r"^cyclegan_steps_total\{[^}]*\} ([3-9]|\d\d+)", t, re.M) else None)(http_get(url)), 180, [trainer])
        lint = subprocess.run([ARGS.promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        print(f"promtool check metrics on rank {rank}: rc {lint.returncode} {lint.stdout}{lint.stderr}")
        check(lint.returncode == 0 and not (lint.stdout + lint.stderr).strip(),
              f"promtool check metrics on rank {rank}: {lint.stdout}{lint.stderr}")
        check(f'rank="{rank}"' in text, f"rank {rank}'s metrics lack rank=\"{rank}\"")

    # Prometheus with the repository's config and rules; the ranks come from the discovery
    # file that write_targets makes from an MPI hostfile.
    config_dir = os.path.join(work, "prometheus")
    os.makedirs(config_dir)
    shutil.copy(os.path.join(ARGS.repo, "monitoring/alerts.yml"), config_dir)
    config = open(os.path.join(ARGS.repo, "monitoring/prometheus.yml")).read()
    config = re.sub(r"scrape_interval: \S+", "scrape_interval: 1s", config)
    config = re.sub(r"evaluation_interval: \S+", "evaluation_interval: 1s", config)
    config = re.sub(r"refresh_interval: \S+", "refresh_interval: 1s", config)
    open(os.path.join(config_dir, "prometheus.yml"), "w").write(config)
    hostfile = os.path.join(work, "hostfile")
    open(hostfile, "w").write("127.0.0.1 slots=2\n")
    result = run([sys.executable, os.path.join(ARGS.repo, "monitoring/write_targets"), "--hostfile", hostfile,
                  "--port", str(port), "--output", os.path.join(config_dir, "targets/run.json")], expect=None)
    print(result.stdout + result.stderr)
    check(result.returncode == 0, "write_targets failed")
    prometheus = start([ARGS.prometheus, "--config.file", os.path.join(config_dir, "prometheus.yml"),
                        "--web.listen-address", f"127.0.0.1:{prometheus_port}",
                        "--storage.tsdb.path", os.path.join(work, "tsdb")],
                       os.path.join(work, "prometheus.log"))
    api = f"http://127.0.0.1:{prometheus_port}/api/v1"

    def query(expr):
        body = json.loads(http_get(f"{api}/query?" + urllib.parse.urlencode({"query": expr})))
        check(body["status"] == "success", f"query {expr}: {body}")
        return body["data"]["result"]

    wait_for("Prometheus to scrape both ranks",
             lambda: len(query('up{job="cyclegan"} == 1')) == 2, 120, [trainer, prometheus])
    wait_for("30 s of samples with a checkpoint and an evaluation in them",
             lambda: float(query('max(count_over_time(cyclegan_steps_total{job="cyclegan"}[1m]))')[0]["value"][1]) >= 30
             and float(query('max(cyclegan_phase_seconds_total{phase="checkpoint"})')[0]["value"][1]) > 0
             and query('cyclegan_eval_step'), 240, [trainer, prometheus])

    dashboard = json.load(open(os.path.join(ARGS.repo, "monitoring/grafana/dashboards/cyclegan_dist.json")))
    empty = []
    for title, expr in panel_queries(dashboard):
        result = query(expr)
        print(f"  {len(result):2d} series  [{title}] {expr}")
        if not result:
            empty.append(f"[{title}] {expr}")
    inception = os.environ.get("CYCLEGAN_INCEPTION") or os.path.expanduser(
        "~/.cache/cyclegan_dist/fid/inception-2015-12-05.pt")
    if not os.path.exists(inception):
        print(f"no Inception weights at {inception}: FID/KID are unavailable, their panels may be empty")
        empty = [e for e in empty if "cyclegan_eval_fid" not in e and "cyclegan_eval_kid" not in e]
    check(not empty, "dashboard queries without data:\n  " + "\n  ".join(empty))
    # Values that say the run really is reported, not only that the series exist. Over a minute,
    # not 15 s: an evaluation or checkpoint on a loaded machine can pause the steps that long.
    check(float(query('sum(increase(cyclegan_images_total[1m]))')[0]["value"][1]) > 0, "no images in the last minute")
    check(float(query('min(increase(cyclegan_allreduce_bytes_total[1m]))')[0]["value"][1]) > 0,
          "a rank reports no all-reduce traffic")
    check({r["metric"]["rank"] for r in query("cyclegan_run_info")} == {"0", "1"}, "run_info of both ranks")
    info = query("cyclegan_run_info")[0]["metric"]
    check(info["world_size"] == "2" and info["backend"] == "mpi" and info["preset"] == "cifar-colorize",
          f"run_info labels: {info}")
    # Template variables: label_values(cyclegan_run_info{...}, rank).
    ranks = json.loads(http_get(f"{api}/label/rank/values?" + urllib.parse.urlencode({"match[]": "cyclegan_run_info"})))
    check(ranks["data"] == ["0", "1"], f"rank variable values: {ranks['data']}")
    rules = json.loads(http_get(f"{api}/rules"))["data"]["groups"]
    names = sorted(r["name"] for g in rules for r in g["rules"])
    check(len(names) == 5, f"alert rules loaded: {names}")
    firing = [a["labels"]["alertname"] for a in json.loads(http_get(f"{api}/alerts"))["data"]["alerts"]
              if a["labels"].get("instance", "").endswith((f":{port}", f":{port + 1}"))]
    check(not firing, f"alerts on a healthy run: {firing}")
    print("PASS: live scrapes lint clean; every dashboard query returns data")


def pushgateway_groups(url):
    groups = json.loads(http_get(f"{url}/api/v1/metrics"))["data"]
    out = {}
    for group in groups:
        labels = group["labels"]
        if labels.get("job") != "cyclegan_dist":
            continue
        out[labels["rank"]] = group
    return out


def value(group, name):
    family = group.get(name)
    check(family is not None, f"group rank={group['labels']['rank']} has no {name}")
    check(len(family["metrics"]) == 1, f"{name}: {len(family['metrics'])} series, expected 1")
    return float(family["metrics"][0]["value"])


def test_push(work):
    port = free_ports(1)
    # Debian's build persists to /var/lib/prometheus by default: a file of our own instead.
    gateway = start([ARGS.pushgateway, "--web.listen-address", f"127.0.0.1:{port}",
                     "--persistence.file", os.path.join(work, "pushgateway.data")],
                    os.path.join(work, "pushgateway.log"))
    url = f"http://127.0.0.1:{port}"
    wait_for("the Pushgateway", lambda: http_get(f"{url}/-/ready"), 60, [gateway])
    run_dir = os.path.join(work, "run")
    push = ["--pushgateway", url, "--push-interval", "0.5"]
    for steps in (6, 10):
        # The second run resumes at step 6 and trains to 10: a new process, so its counters
        # start again at 0; the step gauge continues.
        result = run(training(run_dir, steps, push + ["--resume", "auto"]), expect=None, timeout=300)
        print(result.stdout[-2000:] + result.stderr[-2000:])
        check(result.returncode == 0, f"training to step {steps} failed")
        groups = pushgateway_groups(url)
        check(sorted(groups) == ["0", "1"], f"groups after the run to step {steps}: {sorted(groups)}")
        for rank, group in groups.items():
            check(value(group, "cyclegan_step") == steps, f"rank {rank}: cyclegan_step != {steps}")
            check(value(group, "cyclegan_steps_total") == (6 if steps == 6 else 4),
                  f"rank {rank}: cyclegan_steps_total after the run to step {steps}")
            check(value(group, "process_resident_memory_bytes") > 0, f"rank {rank}: no process metrics")
            check(group["labels"].get("rank") == rank, f"group labels {group['labels']}")
        print(f"pushgateway after the run to step {steps}: groups {sorted(groups)}, values replaced")
    print("PASS: one group per rank, replaced by each push")


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["rules", "targets", "scrape", "push"])
    for flag in ("--repo", "--cyclegan-dist", "--cyclegan-data", "--mpirun", "--promtool", "--prometheus",
                 "--pushgateway"):
        parser.add_argument(flag, required=True)
    ARGS = parser.parse_args()
    os.environ.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    os.environ.pop("SLURM_JOB_ID", None)
    work = tempfile.mkdtemp(prefix=f"cyclegan_monitoring_{ARGS.mode}_")
    try:
        if ARGS.mode == "rules":
            test_rules()
        elif ARGS.mode == "targets":
            test_targets(work)
        elif ARGS.mode == "scrape":
            test_scrape(work)
        else:
            test_push(work)
    except SystemExit:
        for name in sorted(os.listdir(work)):
            if name.endswith(".log"):
                print(f"--- {name} (last lines)")
                print("".join(open(os.path.join(work, name)).readlines()[-30:]))
        raise
    finally:
        stop_all()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
